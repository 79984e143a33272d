//! Bindings of `brainbrr_core::montage`: argument conversion, GIL release and
//! error mapping only. Configs arrive as `MontageConfig` JSON (`None`: defaults).

use brainbrr_core::montage::{self, ChannelSource, MontageConfig, MontageError};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::to_py;

fn config(json: Option<&str>) -> PyResult<MontageConfig> {
    json.map_or_else(|| Ok(MontageConfig::default()), MontageConfig::from_json)
        .map_err(to_py)
}

/// The output channels of the default montage, in order.
#[pyfunction]
fn default_montage_channels() -> Vec<String> {
    MontageConfig::default().channels
}

/// The montage name an EDF label stands for.
#[pyfunction]
#[pyo3(signature = (label, config_json=None))]
fn normalize_label(label: &str, config_json: Option<&str>) -> PyResult<String> {
    Ok(montage::normalize_label(label, &config(config_json)?))
}

/// For each montage channel, the index of its label, or `None` if interpolated.
#[pyfunction]
#[pyo3(signature = (labels, config_json=None))]
fn pick_channels(
    py: Python<'_>,
    labels: Vec<String>,
    config_json: Option<&str>,
) -> PyResult<Vec<Option<usize>>> {
    let cfg = config(config_json)?;
    let pick = py.detach(|| montage::pick(&labels, &cfg)).map_err(to_py)?;
    Ok(pick
        .sources()
        .iter()
        .map(|s| match s {
            ChannelSource::Label(i) => Some(*i),
            ChannelSource::Interpolate | ChannelSource::Missing => None,
        })
        .collect())
}

/// Spherical-spline matrix `[n_bad, n_good]` from good to bad electrodes.
#[pyfunction]
fn interpolation_matrix<'py>(
    py: Python<'py>,
    good: Vec<String>,
    bad: Vec<String>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let m = py
        .detach(|| montage::interpolation_matrix(&good, &bad))
        .map_err(to_py)?;
    PyArray1::from_slice(py, &m).reshape([bad.len(), good.len()])
}

/// The montage `[C, n]` of a recording given all its labels and signals.
#[pyfunction]
#[pyo3(signature = (labels, signals, config_json=None))]
fn apply_montage<'py>(
    py: Python<'py>,
    labels: Vec<String>,
    signals: Vec<PyReadonlyArray1<'py, f64>>,
    config_json: Option<&str>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    if signals.len() != labels.len() {
        return Err(PyValueError::new_err(format!(
            "{} labels but {} signals",
            labels.len(),
            signals.len()
        )));
    }
    let cfg = config(config_json)?;
    let slices = signals
        .iter()
        .map(|s| {
            s.as_slice()
                .map_err(|e| PyValueError::new_err(e.to_string()))
        })
        .collect::<PyResult<Vec<&[f64]>>>()?;
    let (data, n_channels) = py
        .detach(|| {
            let m = montage::derive(&labels, &cfg)?;
            Ok::<_, MontageError>((m.apply(|i| slices[i])?, m.channels().len()))
        })
        .map_err(to_py)?;
    let n_samples = data.len().checked_div(n_channels).unwrap_or(0);
    PyArray1::from_vec(py, data).reshape([n_channels, n_samples])
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(default_montage_channels, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_label, m)?)?;
    m.add_function(wrap_pyfunction!(pick_channels, m)?)?;
    m.add_function(wrap_pyfunction!(interpolation_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(apply_montage, m)?)?;
    Ok(())
}
