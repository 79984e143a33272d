//! Bindings of `brainbrr_core::{preprocess, config, dsp}`: argument
//! conversion, GIL release and error mapping only. Configs arrive as
//! `PreprocessConfig` JSON (`None`: defaults). The `_`-prefixed functions
//! expose the DSP primitives for the parity tests against scipy.

use brainbrr_core::config::PreprocessConfig;
use brainbrr_core::dsp::butter::{self, Band};
use brainbrr_core::dsp::filter::{self, Ba, Iir, Sos};
use brainbrr_core::dsp::{DspError, poly, resample};
use brainbrr_core::preprocess::preprocess as core_preprocess;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::error::{PyBrainbrrError, to_py};

type Array1Py<'py> = Bound<'py, PyArray1<f64>>;

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

fn band(cutoff: &[f64], btype: &str) -> PyResult<Band> {
    match (btype, cutoff) {
        ("lowpass", &[f]) => Ok(Band::Lowpass(f)),
        ("highpass", &[f]) => Ok(Band::Highpass(f)),
        ("bandpass", &[lo, hi]) => Ok(Band::Bandpass(lo, hi)),
        _ => Err(to_py(DspError::Config(format!(
            "btype {btype:?} with cutoff {cutoff:?}: expected lowpass/highpass with one cutoff or bandpass with two"
        )))),
    }
}

/// `scipy.signal.butter(order, cutoff, btype, fs=fs)`: `(b, a)`.
#[pyfunction]
fn _butter_ba<'py>(
    py: Python<'py>,
    order: usize,
    cutoff: Vec<f64>,
    btype: &str,
    fs: f64,
) -> PyResult<(Array1Py<'py>, Array1Py<'py>)> {
    let ba = butter::butter(order, band(&cutoff, btype)?, fs)
        .map_err(to_py)?
        .to_ba();
    Ok((
        PyArray1::from_slice(py, ba.b()),
        PyArray1::from_slice(py, ba.a()),
    ))
}

/// `scipy.signal.butter(order, cutoff, btype, fs=fs, output="sos")`.
#[pyfunction]
fn _butter_sos<'py>(
    py: Python<'py>,
    order: usize,
    cutoff: Vec<f64>,
    btype: &str,
    fs: f64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let sos = butter::butter(order, band(&cutoff, btype)?, fs)
        .and_then(|z| z.to_sos())
        .map_err(to_py)?;
    sos_to_py(py, &sos)
}

/// `scipy.signal.iirnotch(f0, q, fs)`: `(b, a)`.
#[pyfunction]
fn _iirnotch<'py>(
    py: Python<'py>,
    f0: f64,
    q: f64,
    fs: f64,
) -> PyResult<(Array1Py<'py>, Array1Py<'py>)> {
    let ba = butter::iirnotch(f0, q, fs).map_err(to_py)?;
    Ok((
        PyArray1::from_slice(py, ba.b()),
        PyArray1::from_slice(py, ba.a()),
    ))
}

fn sos_to_py<'py>(py: Python<'py>, sos: &Sos) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let flat: Vec<f64> = sos.sections().iter().flatten().copied().collect();
    PyArray1::from_vec(py, flat).reshape([sos.sections().len(), 6])
}

fn ba(b: &PyReadonlyArray1<'_, f64>, a: &PyReadonlyArray1<'_, f64>) -> PyResult<Ba> {
    Ba::new(&b.to_vec()?, &a.to_vec()?).map_err(to_py)
}

fn sections(s: &PyReadonlyArray2<'_, f64>) -> PyResult<Sos> {
    let s = s.as_array();
    if s.ncols() != 6 {
        return Err(to_py(DspError::Config(format!(
            "sos must have shape (n_sections, 6), got {:?}",
            s.shape()
        ))));
    }
    let rows: Vec<[f64; 6]> = s
        .rows()
        .into_iter()
        .map(|r| std::array::from_fn(|i| r[i]))
        .collect();
    Sos::new(&rows).map_err(to_py)
}

/// Runs `f` on a copy of `x` with the GIL released.
fn apply<'py>(
    py: Python<'py>,
    x: &PyReadonlyArray1<'py, f64>,
    f: impl FnOnce(&mut Vec<f64>) + Send,
) -> PyResult<Array1Py<'py>> {
    let mut y = x.to_vec()?;
    py.detach(|| f(&mut y));
    Ok(y.into_pyarray(py))
}

/// `scipy.signal.lfilter(b, a, x)`.
#[pyfunction]
fn _lfilter<'py>(
    py: Python<'py>,
    b: PyReadonlyArray1<'py, f64>,
    a: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray1<'py, f64>,
) -> PyResult<Array1Py<'py>> {
    let f = ba(&b, &a)?;
    apply(py, &x, |y| filter::lfilter(&f, y))
}

/// `scipy.signal.sosfilt(sos, x)`.
#[pyfunction]
fn _sosfilt<'py>(
    py: Python<'py>,
    sos: PyReadonlyArray2<'py, f64>,
    x: PyReadonlyArray1<'py, f64>,
) -> PyResult<Array1Py<'py>> {
    let f = sections(&sos)?;
    apply(py, &x, |y| filter::lfilter(&f, y))
}

/// `scipy.signal.filtfilt(b, a, x, padlen=padlen)`.
#[pyfunction]
#[pyo3(signature = (b, a, x, padlen=None))]
fn _filtfilt<'py>(
    py: Python<'py>,
    b: PyReadonlyArray1<'py, f64>,
    a: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray1<'py, f64>,
    padlen: Option<usize>,
) -> PyResult<Array1Py<'py>> {
    let f = ba(&b, &a)?;
    apply(py, &x, |y| filter::filtfilt(&f, y, padlen, &mut Vec::new()))
}

/// `scipy.signal.sosfiltfilt(sos, x, padlen=padlen)`.
#[pyfunction]
#[pyo3(signature = (sos, x, padlen=None))]
fn _sosfiltfilt<'py>(
    py: Python<'py>,
    sos: PyReadonlyArray2<'py, f64>,
    x: PyReadonlyArray1<'py, f64>,
    padlen: Option<usize>,
) -> PyResult<Array1Py<'py>> {
    let f = sections(&sos)?;
    apply(py, &x, |y| filter::filtfilt(&f, y, padlen, &mut Vec::new()))
}

/// `scipy.signal.lfilter_zi(b, a)`.
#[pyfunction]
fn _lfilter_zi<'py>(
    py: Python<'py>,
    b: PyReadonlyArray1<'py, f64>,
    a: PyReadonlyArray1<'py, f64>,
) -> PyResult<Array1Py<'py>> {
    Ok(ba(&b, &a)?.steady_state().into_pyarray(py))
}

/// `scipy.signal.sosfilt_zi(sos)`, shape `[n_sections, 2]`.
#[pyfunction]
fn _sosfilt_zi<'py>(
    py: Python<'py>,
    sos: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let f = sections(&sos)?;
    PyArray1::from_vec(py, f.steady_state()).reshape([f.sections().len(), 2])
}

/// `scipy.signal.resample(x, num)`.
#[pyfunction]
fn _resample<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    num: usize,
) -> PyResult<Array1Py<'py>> {
    let x = x.to_vec()?;
    Ok(py.detach(|| resample::resample(&x, num)).into_pyarray(py))
}

/// `scipy.signal.resample_poly(x, up, down)`.
#[pyfunction]
fn _resample_poly<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f64>,
    up: usize,
    down: usize,
) -> PyResult<Array1Py<'py>> {
    let x = x.to_vec()?;
    Ok(py
        .detach(|| poly::resample_poly(&x, up, down))
        .map_err(to_py)?
        .into_pyarray(py))
}

/// `(up, down)` that polyphase resampling uses from `fs_in` to `fs_out`.
#[pyfunction]
fn _rational_ratio(fs_in: f64, fs_out: f64) -> PyResult<(usize, usize)> {
    poly::rational_ratio(fs_in, fs_out).map_err(to_py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(preprocess, m)?)?;
    m.add_function(wrap_pyfunction!(default_config_json, m)?)?;
    m.add_class::<PyPreprocessConfig>()?;
    m.add_function(wrap_pyfunction!(_butter_ba, m)?)?;
    m.add_function(wrap_pyfunction!(_butter_sos, m)?)?;
    m.add_function(wrap_pyfunction!(_iirnotch, m)?)?;
    m.add_function(wrap_pyfunction!(_lfilter, m)?)?;
    m.add_function(wrap_pyfunction!(_sosfilt, m)?)?;
    m.add_function(wrap_pyfunction!(_filtfilt, m)?)?;
    m.add_function(wrap_pyfunction!(_sosfiltfilt, m)?)?;
    m.add_function(wrap_pyfunction!(_lfilter_zi, m)?)?;
    m.add_function(wrap_pyfunction!(_sosfilt_zi, m)?)?;
    m.add_function(wrap_pyfunction!(_resample, m)?)?;
    m.add_function(wrap_pyfunction!(_resample_poly, m)?)?;
    m.add_function(wrap_pyfunction!(_rational_ratio, m)?)?;
    Ok(())
}
