//! Bindings of `brainbrr_core::{preprocess, config, dsp}`: argument
//! conversion, GIL release and error mapping only. Configs arrive as
//! `PreprocessConfig` JSON (`None`: defaults). The DSP primitives are tested
//! against scipy in the core (`rust/core/tests/dsp_scipy.rs`), not through
//! the extension.

use brainbrr_core::config::PreprocessConfig;
use brainbrr_core::dsp::DspError;
use brainbrr_core::preprocess::preprocess as core_preprocess;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::error::{PyBrainbrrError, to_py};

fn config(json: Option<&str>) -> PyResult<PreprocessConfig> {
    json.map_or_else(
        || Ok(PreprocessConfig::default()),
        PreprocessConfig::from_json,
    )
    .map_err(to_py)
}

/// Preprocesses `x` `[C, n]` (float64, physical units, montage order) sampled
/// at `fs`; returns the float32 `[C, n_out]` array and its sampling rate.
#[pyfunction]
#[pyo3(signature = (x, fs, config_json=None))]
fn preprocess<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    fs: f64,
    config_json: Option<&str>,
) -> PyResult<(Bound<'py, PyArray2<f32>>, f64)> {
    let cfg = config(config_json)?;
    let view = x.as_array();
    let n_channels = view.nrows();
    let x = view.as_standard_layout();
    let data = x.as_slice().unwrap_or_default();
    let (out, fs_out) = py
        .detach(|| core_preprocess(data, n_channels, fs, &cfg))
        .map_err(PyBrainbrrError::from)?;
    let n_out = out.len().checked_div(n_channels).unwrap_or(0);
    let out = Array2::from_shape_vec((n_channels, n_out), out)
        .map_err(|e| to_py(DspError::Config(e.to_string())))?;
    Ok((out.into_pyarray(py), fs_out))
}

/// The default config as canonical JSON.
#[pyfunction]
fn default_config_json() -> String {
    PreprocessConfig::default().to_canonical_json()
}

/// A validated preprocessing config: the Rust struct itself, so Python and
/// the ingest never disagree on a default or a check. Equal configs are equal
/// and hash alike whatever the spelling of the JSON they came from.
#[pyclass(
    frozen,
    eq,
    subclass,
    module = "brainbrr._native",
    name = "PreprocessConfig"
)]
#[derive(PartialEq)]
pub struct PyPreprocessConfig(PreprocessConfig);

#[pymethods]
impl PyPreprocessConfig {
    /// Parses and validates `json` (left-out parameters take their defaults).
    #[new]
    fn new(json: &str) -> PyResult<Self> {
        config(Some(json)).map(Self)
    }

    /// Canonical JSON: keys sorted, no whitespace.
    #[getter]
    fn json(&self) -> String {
        self.0.to_canonical_json()
    }

    /// SHA-256 (hex) of the canonical JSON: what a store records.
    #[getter]
    fn hash(&self) -> String {
        self.0.hash()
    }

    /// Output sampling rate, Hz.
    #[getter]
    fn target_fs(&self) -> f64 {
        self.0.target_fs
    }

    /// Window length, seconds.
    #[getter]
    fn window_s(&self) -> f64 {
        self.0.window_s
    }

    /// Window stride, seconds.
    #[getter]
    fn stride_s(&self) -> f64 {
        self.0.stride_s
    }

    /// The stored channel names, in order (`FP1-F7`... for a bipolar montage).
    #[getter]
    fn channels(&self) -> PyResult<Vec<String>> {
        self.0.montage.output_channels().map_err(to_py)
    }

    /// The parameters where `other` differs: `(path, self's value, other's value)`.
    fn diff(&self, other: &Self) -> Vec<(String, String, String)> {
        self.0.diff(&other.0)
    }

    fn __hash__(&self) -> u64 {
        let h = self.0.hash();
        u64::from_str_radix(h.get(..16).unwrap_or_default(), 16).unwrap_or_default()
    }

    /// Pickled as its JSON, rebuilt by its own class (a Python subclass too).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, pyo3::types::PyType>, (String,)) {
        (slf.get_type(), (slf.get().json(),))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().qualname()?;
        Ok(format!("{name}({:?})", slf.get().json()))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(preprocess, m)?)?;
    m.add_function(wrap_pyfunction!(default_config_json, m)?)?;
    m.add_class::<PyPreprocessConfig>()?;
    Ok(())
}
