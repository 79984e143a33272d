//! `read_edf` and `EdfRecording`: the EDF reader, for Python.

use std::path::PathBuf;

use brainbrr_core::edf::{Annotation, Edf, EdfWriter, SignalHeader, StartTime, WriteSignal};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::error::{PyBrainbrrError, PyResult};

/// An open EDF/EDF+/BDF file; samples are decoded on request from a memory map.
#[pyclass(frozen, module = "brainbrr._native")]
pub struct EdfRecording(Edf);

/// Maps a numpy dtype-like (default float64) to the two supported output types.
fn wants_f32(dtype: Option<&Bound<'_, PyAny>>) -> pyo3::PyResult<bool> {
    let Some(dtype) = dtype else { return Ok(false) };
    let py = dtype.py();
    let name: String = py
        .import("numpy")?
        .getattr("dtype")?
        .call1((dtype,))?
        .getattr("name")?
        .extract()?;
    match name.as_str() {
        "float64" => Ok(false),
        "float32" => Ok(true),
        other => Err(PyValueError::new_err(format!(
            "dtype must be float64 or float32, not {other}"
        ))),
    }
}

impl EdfRecording {
    fn column<T>(&self, f: impl Fn(&SignalHeader) -> T) -> Vec<T> {
        self.0.signals().map(f).collect()
    }

    fn read<'py>(
        &self,
        py: Python<'py>,
        indices: &[usize],
        dtype: Option<&Bound<'py, PyAny>>,
    ) -> pyo3::PyResult<Vec<Bound<'py, PyAny>>> {
        let edf = &self.0;
        Ok(if wants_f32(dtype)? {
            let out = py
                .detach(|| edf.read_many::<f32>(indices))
                .map_err(PyBrainbrrError::from)?;
            out.into_iter()
                .map(|v| v.into_pyarray(py).into_any())
                .collect()
        } else {
            let out = py
                .detach(|| edf.read_many::<f64>(indices))
                .map_err(PyBrainbrrError::from)?;
            out.into_iter()
                .map(|v| v.into_pyarray(py).into_any())
                .collect()
        })
    }
}

#[pymethods]
impl EdfRecording {
    #[getter]
    fn path(&self) -> PathBuf {
        self.0.path().to_owned()
    }
    #[getter]
    fn file_type(&self) -> String {
        self.0.header().kind.to_string()
    }
    #[getter]
    fn patient(&self) -> String {
        self.0.header().patient.clone()
    }
    #[getter]
    fn recording(&self) -> String {
        self.0.header().recording.clone()
    }
    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> pyo3::PyResult<Option<Bound<'py, PyAny>>> {
        let Some(t) = self.0.header().start else {
            return Ok(None);
        };
        let datetime = py.import("datetime")?.getattr("datetime")?;
        datetime
            .call1((t.year, t.month, t.day, t.hour, t.minute, t.second))
            .map(Some)
    }
    #[getter]
    fn record_duration(&self) -> f64 {
        self.0.header().record_duration
    }
    #[getter]
    fn n_records(&self) -> usize {
        self.0.n_records()
    }
    #[getter]
    fn duration(&self) -> f64 {
        self.0.n_records() as f64 * self.0.header().record_duration
    }
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.column(|s| s.label.clone())
    }
    #[getter]
    fn sample_rates(&self) -> Vec<f64> {
        let d = self.0.header().record_duration;
        self.column(|s| s.samples_per_record as f64 / d)
    }
    #[getter]
    fn samples_per_record(&self) -> Vec<usize> {
        self.column(|s| s.samples_per_record)
    }
    #[getter]
    fn n_samples(&self) -> Vec<usize> {
        let n = self.0.n_records();
        self.column(|s| s.samples_per_record * n)
    }
    #[getter]
    fn physical_dimensions(&self) -> Vec<String> {
        self.column(|s| s.physical_dimension.clone())
    }
    #[getter]
    fn physical_min(&self) -> Vec<f64> {
        self.column(|s| s.physical_min)
    }
    #[getter]
    fn physical_max(&self) -> Vec<f64> {
        self.column(|s| s.physical_max)
    }
    #[getter]
    fn digital_min(&self) -> Vec<f64> {
        self.column(|s| s.digital_min)
    }
    #[getter]
    fn digital_max(&self) -> Vec<f64> {
        self.column(|s| s.digital_max)
    }
    #[getter]
    fn prefilters(&self) -> Vec<String> {
        self.column(|s| s.prefilter.clone())
    }
    #[getter]
    fn transducers(&self) -> Vec<String> {
        self.column(|s| s.transducer.clone())
    }
    #[getter]
    fn degenerate(&self) -> Vec<Option<String>> {
        self.column(|s| s.degenerate.clone())
    }
    #[getter]
    fn annotations(&self) -> Vec<(f64, Option<f64>, String)> {
        self.0
            .annotations()
            .iter()
            .map(|a| (a.onset, a.duration, a.text.clone()))
            .collect()
    }
    #[getter]
    fn record_onsets<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.0.record_onsets().to_vec().into_pyarray(py)
    }
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings().to_vec()
    }

    fn __len__(&self) -> usize {
        self.0.n_signals()
    }

    fn __repr__(&self) -> String {
        format!(
            "<EdfRecording {} {}: {} signals, {} records of {} s>",
            self.0.header().kind,
            self.0.path().display(),
            self.0.n_signals(),
            self.0.n_records(),
            self.0.header().record_duration
        )
    }

    #[pyo3(signature = (i, dtype = None))]
    fn signal<'py>(
        &self,
        py: Python<'py>,
        i: usize,
        dtype: Option<Bound<'py, PyAny>>,
    ) -> pyo3::PyResult<Bound<'py, PyAny>> {
        let mut out = self.read(py, &[i], dtype.as_ref())?;
        out.pop()
            .ok_or_else(|| PyValueError::new_err("no signal read"))
    }

    #[pyo3(signature = (indices = None, dtype = None))]
    fn signals<'py>(
        &self,
        py: Python<'py>,
        indices: Option<Vec<usize>>,
        dtype: Option<Bound<'py, PyAny>>,
    ) -> pyo3::PyResult<Bound<'py, PyList>> {
        let indices = indices.unwrap_or_else(|| (0..self.0.n_signals()).collect());
        PyList::new(py, self.read(py, &indices, dtype.as_ref())?)
    }

    fn digital<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let edf = &self.0;
        Ok(py.detach(|| edf.read_digital(i))?.into_pyarray(py))
    }
}

/// Writes an EDF (EDF+C when annotations are given) of microvolt signals.
#[pyfunction]
#[pyo3(signature = (path, signals, sample_rates, labels, *, record_duration = 1.0, patient = String::new(), recording = String::new(), start = None, annotations = Vec::new()))]
#[allow(clippy::too_many_arguments)]
fn write_edf(
    py: Python<'_>,
    path: PathBuf,
    signals: Vec<PyReadonlyArray1<'_, f64>>,
    sample_rates: Vec<f64>,
    labels: Vec<String>,
    record_duration: f64,
    patient: String,
    recording: String,
    start: Option<Bound<'_, PyAny>>,
    annotations: Vec<(f64, Option<f64>, String)>,
) -> pyo3::PyResult<()> {
    if signals.len() != sample_rates.len() || signals.len() != labels.len() {
        return Err(PyValueError::new_err(
            "signals, sample_rates and labels must have the same length",
        ));
    }
    let start = match start {
        None => StartTime::default(),
        Some(t) => StartTime {
            year: t.getattr("year")?.extract()?,
            month: t.getattr("month")?.extract()?,
            day: t.getattr("day")?.extract()?,
            hour: t.getattr("hour")?.extract()?,
            minute: t.getattr("minute")?.extract()?,
            second: t.getattr("second")?.extract()?,
        },
    };
    let signals = signals
        .iter()
        .zip(sample_rates)
        .zip(labels)
        .map(|((x, fs), label)| Ok(WriteSignal::new(label, fs, x.as_slice()?.to_vec())))
        .collect::<pyo3::PyResult<Vec<_>>>()?;
    let annotations = annotations
        .into_iter()
        .map(|(onset, duration, text)| Annotation {
            onset,
            duration,
            text,
        })
        .collect();
    let writer = EdfWriter {
        patient,
        recording,
        start,
        record_duration,
        signals,
        annotations,
    };
    py.detach(|| writer.write(&path))
        .map_err(PyBrainbrrError::from)?;
    Ok(())
}

/// Opens an EDF, EDF+ or BDF file.
#[pyfunction]
fn read_edf(py: Python<'_>, path: PathBuf) -> PyResult<EdfRecording> {
    Ok(EdfRecording(py.detach(|| Edf::open(&path))?))
}

pub fn register(m: &Bound<'_, PyModule>) -> pyo3::PyResult<()> {
    m.add_class::<EdfRecording>()?;
    m.add_function(wrap_pyfunction!(read_edf, m)?)?;
    m.add_function(wrap_pyfunction!(write_edf, m)?)?;
    Ok(())
}
