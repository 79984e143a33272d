//! `ingest`: the corpus into a store, with progress and Ctrl-C handled on the
//! Python main thread while Rust workers run with the GIL released; and the
//! two halves of a distributed ingest, `IngestDriver` and `ingest_batch`. All
//! three take the run's options whole, as one `IngestOptions`. The summary,
//! the progress events and a remote recording's objects cross as Python
//! objects in the core's serde form (dicts and lists), typed once by
//! `brainbrr.ingest_types`; a Dask task's result is one such dict.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use brainbrr_core::config::PreprocessConfig;
use brainbrr_core::corpus::Corpus;
use brainbrr_core::ingest::{
    Driver, Event, IngestOptions, IngestOptionsForm, Summary, ingest as core_ingest,
    ingest_batch as core_batch,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pythonize::{depythonize, pythonize};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::PyBrainbrrError;

/// How to run an ingest: the core's `IngestOptions`, built once (by
/// `brainbrr.ingest()` or the CLI) and passed whole to the local run, the
/// driver and the delegates. The keywords are the form's
/// (`IngestOptionsForm`): the core converts them.
#[pyclass(frozen, eq, module = "brainbrr._native", name = "IngestOptions")]
#[derive(PartialEq)]
pub struct PyIngestOptions(IngestOptions);

#[pymethods]
impl PyIngestOptions {
    #[new]
    #[pyo3(signature = (*, n_jobs = 0, overwrite = false, wait = false, strict = false, zstd_level = None, files = None, layout = None, stage = None, corpus = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n_jobs: usize,
        overwrite: bool,
        wait: bool,
        strict: bool,
        zstd_level: Option<i32>,
        files: Option<PathBuf>,
        layout: Option<String>,
        stage: Option<PathBuf>,
        corpus: Option<&str>,
    ) -> PyResult<Self> {
        let corpus = corpus
            .map(Corpus::from_name)
            .transpose()
            .map_err(PyValueError::new_err)?;
        Ok(Self(
            IngestOptionsForm {
                n_jobs,
                overwrite,
                wait,
                strict,
                zstd_level,
                files,
                layout,
                stage,
                corpus,
            }
            .into(),
        ))
    }

    /// Pickled as the keywords that build it again.
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyAny>)> {
        Ok((PyTuple::empty(py), self.keywords(py)?))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let keywords = self.keywords(py)?;
        let dict = keywords.cast::<PyDict>()?;
        let args = dict
            .iter()
            .map(|(k, v)| Ok(format!("{k}={}", v.repr()?)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(format!("IngestOptions({})", args.join(", ")))
    }
}

impl PyIngestOptions {
    /// The keywords as a dict: the serde form.
    fn keywords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
}

/// The options given, or the defaults.
fn options(options: Option<PyRef<'_, PyIngestOptions>>) -> IngestOptions {
    options.map(|o| o.0.clone()).unwrap_or_default()
}

/// Runs the ingest of `sources` (one, or several local folders) on a worker
/// thread; returns the summary (a dict).
///
/// `progress`, if given, is called on this (the main) thread with each event
/// (a dict). A KeyboardInterrupt (Ctrl-C) cancels the workers, waits
/// for them to stop (what was committed stays), and is then re-raised.
#[pyfunction]
#[pyo3(signature = (sources, out, config_json = None, options = None, *, progress = None))]
fn ingest(
    py: Python<'_>,
    sources: Vec<PathBuf>,
    out: PathBuf,
    config_json: Option<&str>,
    options: Option<PyRef<'_, PyIngestOptions>>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let cfg = config(config_json)?;
    let opts = self::options(options);
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::channel::<Event>();
    let worker = {
        let cancel = Arc::clone(&cancel);
        let tx = Mutex::new(tx);
        std::thread::spawn(move || -> brainbrr_core::Result<Summary> {
            let on_event = |e: &Event| {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(e.clone());
                }
            };
            core_ingest(&sources, &out, &cfg, &opts, &cancel, &on_event)
        })
    };
    // Until the workers are done: report progress, watch for Ctrl-C. Any Python
    // error (a signal, a failing callback) cancels the workers, and is raised
    // once they have stopped, so nothing is left running behind the caller.
    let mut interrupt: Option<PyErr> = None;
    loop {
        // A `&mut` receiver may cross into the GIL-free closure (a shared one may not).
        let receiver = &mut rx;
        let event = py.detach(move || receiver.recv_timeout(Duration::from_millis(100)));
        let step = match event {
            Ok(event) => match (&progress, &interrupt) {
                (Some(cb), None) => to_py(py, &event).and_then(|e| cb.call1((e,)).map(drop)),
                _ => Ok(()),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Err(e) = step.and_then(|()| py.check_signals()) {
            cancel.store(true, Ordering::Relaxed);
            interrupt.get_or_insert(e);
        }
    }
    let result = py
        .detach(|| worker.join())
        .map_err(|_| PyRuntimeError::new_err("the ingest thread panicked"))?;
    if let Some(e) = interrupt {
        return Err(e);
    }
    Ok(to_py(py, &result.map_err(PyBrainbrrError::from)?)?.unbind())
}

fn config(config_json: Option<&str>) -> PyResult<PreprocessConfig> {
    Ok(match config_json {
        Some(j) => PreprocessConfig::from_json(j).map_err(PyBrainbrrError::from)?,
        None => PreprocessConfig::default(),
    })
}

/// `value`'s serde form as Python objects.
fn to_py<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The value whose serde form `obj` is; `what` names it in the error.
fn from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    depythonize(obj).map_err(|e| PyRuntimeError::new_err(format!("{what}: {e}")))
}

/// A recording of the driver's queue: path, path relative to the source,
/// bytes, and the objects of a remote one.
type QueueEntry<'py> = (PathBuf, String, u64, Option<Bound<'py, PyAny>>);

/// The driver of a distributed ingest: holds the store's writer lock from
/// construction (validate, find sources, open the store, plan) until `finish`.
#[pyclass(frozen, module = "brainbrr._native")]
struct IngestDriver {
    inner: Mutex<Option<Driver>>,
    /// The options it was built with, its corpus resolved: its tasks' options.
    options: IngestOptions,
}

impl IngestDriver {
    fn with<T>(&self, f: impl FnOnce(&mut Driver) -> T) -> PyResult<T> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the ingest driver is poisoned"))?;
        inner
            .as_mut()
            .map(f)
            .ok_or_else(|| PyRuntimeError::new_err("the ingest driver is finished"))
    }
}

#[pymethods]
impl IngestDriver {
    #[new]
    #[pyo3(signature = (sources, out, config_json = None, options = None))]
    fn new(
        py: Python<'_>,
        sources: Vec<PathBuf>,
        out: PathBuf,
        config_json: Option<&str>,
        options: Option<PyRef<'_, PyIngestOptions>>,
    ) -> PyResult<Self> {
        let cfg = config(config_json)?;
        let opts = self::options(options);
        let driver = py
            .detach(|| Driver::prepare(&sources, &out, &cfg, &opts))
            .map_err(PyBrainbrrError::from)?;
        let options = IngestOptions {
            corpus: Some(driver.corpus()),
            ..opts
        };
        Ok(Self {
            inner: Mutex::new(Some(driver)),
            options,
        })
    }

    /// The options its tasks run with: the driver's, with the corpus it
    /// found, so that every task reads the sources alike.
    #[getter]
    fn options(&self) -> PyIngestOptions {
        PyIngestOptions(self.options.clone())
    }

    /// The run id the delegates present.
    #[getter]
    fn run_id(&self) -> PyResult<String> {
        self.with(|d| d.run_id().to_owned())
    }

    /// The `started` progress event.
    fn started<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.with(|d| to_py(py, &d.started()))?
    }

    /// The recordings to ingest, largest first: (path, path relative to the
    /// source, bytes, and for a remote source its objects).
    fn queue<'py>(&self, py: Python<'py>) -> PyResult<Vec<QueueEntry<'py>>> {
        self.with(|d| {
            d.queue()
                .iter()
                .map(|(s, b)| {
                    let remote = s.remote.as_deref().map(|r| to_py(py, r)).transpose()?;
                    Ok((s.path.clone(), s.rel.clone(), *b, remote))
                })
                .collect()
        })?
    }

    /// Adds a batch's partial summary; returns whether the run should stop
    /// (`strict`, and a recording failed).
    fn absorb(&self, summary: &Bound<'_, PyAny>) -> PyResult<bool> {
        let part: Summary = from_py(summary, "a batch's summary")?;
        self.with(|d| d.absorb(part).map(|()| d.should_stop()))?
            .map_err(|e| PyBrainbrrError::from(e).into())
    }

    /// Marks the run interrupted (its tasks stop), keeping the lock until `finish`.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.with(|d| py.detach(|| d.stop()))?
            .map_err(|e| PyBrainbrrError::from(e).into())
    }

    /// Rebuilds the index on the options' `n_jobs` threads (or, `cancelled`,
    /// leaves it incomplete) and releases the lock; returns the summary.
    /// `progress` gets the `indexing` event.
    #[pyo3(signature = (*, cancelled = false, progress = None))]
    fn finish(
        &self,
        py: Python<'_>,
        cancelled: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let driver = self
            .inner
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the ingest driver is poisoned"))?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the ingest driver is finished"))?;
        let failed_callback: Mutex<Option<PyErr>> = Mutex::new(None);
        let on_event = |e: &Event| {
            let Some(cb) = &progress else {
                return;
            };
            if let Err(err) = Python::attach(|py| cb.call1(py, (to_py(py, e)?,)))
                && let Ok(mut slot) = failed_callback.lock()
            {
                slot.get_or_insert(err);
            }
        };
        let summary = py
            .detach(|| driver.finish(cancelled, &on_event))
            .map_err(PyBrainbrrError::from)?;
        if let Some(err) = failed_callback.into_inner().ok().flatten() {
            return Err(err);
        }
        Ok(to_py(py, &summary)?.unbind())
    }
}

/// One batch of a distributed ingest, run as a delegate of the driver of run
/// `run` with the run's `options`: (path, bytes, remote objects) as the
/// driver's queue gives them; returns `{"summary": ..., "events": [...]}`.
#[pyfunction]
#[pyo3(signature = (source, out, config_json, run, batch, options = None))]
fn ingest_batch(
    py: Python<'_>,
    source: PathBuf,
    out: PathBuf,
    config_json: &str,
    run: &str,
    batch: Vec<(PathBuf, u64, Option<Bound<'_, PyAny>>)>,
    options: Option<PyRef<'_, PyIngestOptions>>,
) -> PyResult<Py<PyAny>> {
    let cfg = config(Some(config_json))?;
    let opts = self::options(options);
    let batch = batch
        .into_iter()
        .map(|(path, bytes, remote)| {
            let remote = remote
                .map(|r| from_py(&r, &path.display().to_string()))
                .transpose()?;
            Ok((path, bytes, remote))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let cancel = AtomicBool::new(false);
    let result = py
        .detach(|| core_batch(&source, &out, &cfg, run, &batch, &opts, &cancel))
        .map_err(PyBrainbrrError::from)?;
    Ok(to_py(py, &result)?.unbind())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ingest, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_batch, m)?)?;
    m.add_class::<PyIngestOptions>()?;
    m.add_class::<IngestDriver>()
}
