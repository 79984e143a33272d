//! Bindings of `brainbrr_core::labels`: argument conversion, GIL release and
//! error mapping only. Configs arrive as `LabelConfig` JSON (`None`: defaults).

use std::collections::BTreeMap;
use std::path::PathBuf;

use brainbrr_core::labels::{self, Classes, LabelConfig, LabelError, Vocabulary, WindowSpec};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::to_py;

fn config(json: Option<&str>) -> PyResult<LabelConfig> {
    json.map_or_else(|| Ok(LabelConfig::default()), LabelConfig::from_json)
        .map_err(to_py)
}

/// The annotation file beside an EDF (`.csv_bi`, else `.csv`), or `None`.
#[pyfunction]
#[pyo3(signature = (edf_path, config_json=None))]
fn find_annotation(edf_path: PathBuf, config_json: Option<&str>) -> PyResult<Option<PathBuf>> {
    Ok(labels::find_annotation(&edf_path, &config(config_json)?))
}

/// A TUSZ annotation file as a dict: `seizures` (merged `(start, stop)`
/// seconds), `duration`, `version`, `bname`, `rows`, `seizure_rows`,
/// `label_counts`, `seizure_seconds`.
#[pyfunction]
#[pyo3(signature = (path, config_json=None))]
fn parse_annotation<'py>(
    py: Python<'py>,
    path: PathBuf,
    config_json: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = config(config_json)?;
    let a = py
        .detach(|| labels::parse_annotation(&path, &cfg))
        .map_err(to_py)?;
    let d = PyDict::new(py);
    let seizures: Vec<(f64, f64)> = a.seizures.iter().map(|i| (i.start, i.stop)).collect();
    d.set_item("seizures", seizures)?;
    d.set_item("duration", a.duration)?;
    d.set_item("version", &a.version)?;
    d.set_item("bname", &a.bname)?;
    d.set_item("rows", a.rows)?;
    d.set_item("seizure_rows", a.seizure_rows)?;
    d.set_item("label_counts", &a.label_counts)?;
    d.set_item("seizure_seconds", a.seizure_seconds())?;
    Ok(d)
}

/// Per-sample labels (uint8: 0 background, 1 seizure) of `n_samples` at `fs`
/// from the annotation file `path`; all 255 (unlabeled) when `path` is `None`.
#[pyfunction]
#[pyo3(signature = (path, n_samples, fs, config_json=None))]
fn sample_labels<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    n_samples: usize,
    fs: f64,
    config_json: Option<&str>,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let cfg = config(config_json)?;
    let out = py
        .detach(|| labels::recording_labels(path.as_deref(), n_samples, fs, &cfg))
        .map_err(to_py)?;
    Ok(out.into_pyarray(py))
}

type WindowArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<f32>>,
);

/// The window index of per-sample `labels` at `fs`: `(starts, labels, seizure_fractions)`.
#[pyfunction]
fn windows<'py>(
    py: Python<'py>,
    labels: PyReadonlyArray1<'py, u8>,
    fs: f64,
    window_s: f64,
    stride_s: f64,
) -> PyResult<WindowArrays<'py>> {
    // Strided arrays (e.g. `a[::2]`) are copied; contiguous ones are borrowed.
    let owned: Vec<u8>;
    let slice = match labels.as_slice() {
        Ok(s) => s,
        Err(_) => {
            owned = labels.as_array().iter().copied().collect();
            &owned
        }
    };
    let spec = WindowSpec { window_s, stride_s };
    let (starts, classes, fractions) = py
        .detach(|| {
            let w = labels::windows(slice, fs, &spec)?;
            // ok: starts index a numpy array, so they are below isize::MAX.
            let starts: Vec<i64> = w.iter().map(|w| w.start as i64).collect();
            let classes: Vec<u8> = w.iter().map(|w| w.label).collect();
            let fractions: Vec<f32> = w.iter().map(|w| w.seizure_fraction).collect();
            Ok::<_, LabelError>((starts, classes, fractions))
        })
        .map_err(to_py)?;
    Ok((
        starts.into_pyarray(py),
        classes.into_pyarray(py),
        fractions.into_pyarray(py),
    ))
}

/// The classes of a type vocabulary (`"tusz"`, `"szcore"`, or a dict of type
/// names to class ids): the class of each stored type code (a uint8 array of
/// 256, 255 where none) and the class names.
#[pyfunction]
fn type_classes<'py>(
    py: Python<'py>,
    types: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyArray1<u8>>, Vec<String>)> {
    let vocabulary = if let Ok(name) = types.extract::<String>() {
        match name.as_str() {
            "tusz" => Vocabulary::Tusz,
            "szcore" => Vocabulary::Szcore,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "types must be \"tusz\", \"szcore\" or a dict of type names to class ids, not {name:?}"
                )));
            }
        }
    } else {
        Vocabulary::Mapping(types.extract::<BTreeMap<String, u8>>()?)
    };
    let classes = Classes::of(&vocabulary).map_err(PyValueError::new_err)?;
    Ok((classes.of_code.into_pyarray(py), classes.names))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(type_classes, m)?)?;
    m.add_function(wrap_pyfunction!(find_annotation, m)?)?;
    m.add_function(wrap_pyfunction!(parse_annotation, m)?)?;
    m.add_function(wrap_pyfunction!(sample_labels, m)?)?;
    m.add_function(wrap_pyfunction!(windows, m)?)?;
    Ok(())
}
