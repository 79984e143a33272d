//! `ingest`: the corpus into a store, with progress and Ctrl-C handled on the
//! Python main thread while Rust workers run with the GIL released.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use brainbrr_core::config::PreprocessConfig;
use brainbrr_core::ingest::{Event, IngestOptions, PathLayout, Summary, ingest as core_ingest};
use brainbrr_core::store::SignalCodec;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::PyBrainbrrError;

/// Runs the ingest on a worker thread; returns the summary as JSON.
///
/// `progress`, if given, is called on this (the main) thread with each event
/// as a JSON string. A KeyboardInterrupt (Ctrl-C) cancels the workers, waits
/// for them to stop (what was committed stays), and is then re-raised.
#[pyfunction]
#[pyo3(signature = (source, out, config_json = None, *, jobs = 0, overwrite = false, wait = false, strict = false, zstd_level = None, files = None, layout = None, progress = None))]
#[allow(clippy::too_many_arguments)]
fn ingest(
    py: Python<'_>,
    source: PathBuf,
    out: PathBuf,
    config_json: Option<&str>,
    jobs: usize,
    overwrite: bool,
    wait: bool,
    strict: bool,
    zstd_level: Option<i32>,
    files: Option<PathBuf>,
    layout: Option<String>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let cfg = match config_json {
        Some(j) => PreprocessConfig::from_json(j).map_err(PyBrainbrrError::from)?,
        None => PreprocessConfig::default(),
    };
    let codec = zstd_level.map_or(SignalCodec::Raw, |level| SignalCodec::Zstd { level });
    let opts = IngestOptions {
        jobs,
        overwrite,
        wait,
        strict,
        codec,
        files,
        layout: layout.map_or(PathLayout::Tusz, PathLayout::Pattern),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::channel::<String>();
    let worker = {
        let cancel = Arc::clone(&cancel);
        let tx = Mutex::new(tx);
        std::thread::spawn(move || -> brainbrr_core::Result<Summary> {
            let on_event = |e: &Event| {
                if let (Ok(tx), Ok(json)) = (tx.lock(), serde_json::to_string(e)) {
                    let _ = tx.send(json);
                }
            };
            core_ingest(&source, &out, &cfg, &opts, &cancel, &on_event)
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
            Ok(json) => match (&progress, &interrupt) {
                (Some(cb), None) => cb.call1((json,)).map(drop),
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
    let summary = result.map_err(PyBrainbrrError::from)?;
    serde_json::to_string(&summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ingest, m)?)
}
