//! Bindings of `brainbrr_core::store`: inspection for the Python reader and
//! the CLI. Conversion and error mapping only.

use std::path::PathBuf;

use brainbrr_core::labels::WindowSpec;
use brainbrr_core::store::{IndexTables, Store, StoreError};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyDictMethods};

use crate::error::to_py;

/// The root `brainbrr` attributes of the store at `path`, as JSON.
#[pyfunction]
fn store_info(path: PathBuf) -> PyResult<String> {
    let store = Store::open(path).map_err(to_py)?;
    Ok(store.root_meta().to_json())
}

/// `Store::verify` on `jobs` threads: what it checked, and every problem found.
#[pyfunction]
#[pyo3(signature = (path, jobs = 0))]
fn verify_store<'py>(py: Python<'py>, path: PathBuf, jobs: usize) -> PyResult<Bound<'py, PyDict>> {
    let store = Store::open(path).map_err(to_py)?;
    let r = py.detach(|| store.verify(jobs));
    let out = PyDict::new(py);
    out.set_item("recordings", r.recordings)?;
    out.set_item("windows", r.windows)?;
    out.set_item("checksummed", r.checksummed)?;
    out.set_item("checksummed_bytes", r.checksummed_bytes)?;
    out.set_item("unchecksummed", r.unchecksummed)?;
    out.set_item("problems", r.problems)?;
    Ok(out)
}

/// A store opened for reading: the root metadata, the index and each
/// recording's chunk files, checked before they are handed out.
#[pyclass(frozen, module = "brainbrr._native")]
struct StoreReader(Store);

#[pymethods]
impl StoreReader {
    /// A local store, or one at an `s3://` URL read through a local copy in
    /// `cache_dir` (bounded by `cache_bytes`).
    #[new]
    #[pyo3(signature = (path, cache_dir = None, cache_bytes = None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        cache_dir: Option<PathBuf>,
        cache_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let store = py.detach(|| match (path.to_str(), cache_dir) {
            (Some(url), Some(cache)) if brainbrr_core::remote::is_url(url) => {
                Store::open_remote(url, &cache, cache_bytes)
            }
            _ => Store::open(&path),
        });
        store.map(Self).map_err(to_py)
    }

    /// Records that recordings `rids` are being read (a remote store's copy
    /// evicts the least recently used first).
    fn record_use(&self, py: Python<'_>, rids: Vec<String>) {
        py.detach(|| self.0.record_use(rids.iter().map(String::as_str)));
    }

    /// The store's folder (for a remote store, its local copy).
    #[getter]
    fn path(&self) -> PathBuf {
        self.0.path().to_owned()
    }

    /// The root `brainbrr` attributes, as JSON.
    #[getter]
    fn meta(&self) -> String {
        self.0.root_meta().to_json()
    }

    /// The index tables, checked (see `read_index`).
    fn index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = py.detach(|| self.0.read_index()).map_err(to_py)?;
        index_dict(py, t, self.0.root_meta().channels.len())
    }

    /// Recording `rid`'s chunk files `(signal, label, mappable)`, checked
    /// against the index's `n_samples`, the root and `store_id`; with
    /// `checksums`, also against the CRC-32C at the end of each chunk
    /// (`StoreError` naming the file when one differs).
    #[pyo3(signature = (rid, n_samples, store_id = None, checksums = false))]
    fn recording(
        &self,
        py: Python<'_>,
        rid: &str,
        n_samples: u64,
        store_id: Option<&str>,
        checksums: bool,
    ) -> PyResult<(PathBuf, PathBuf, bool)> {
        let c = py.detach(|| {
            let c = self.0.recording_chunks(rid, n_samples, store_id)?;
            if checksums {
                c.check_checksums()?;
            }
            Ok::<_, StoreError>(c)
        });
        let c = c.map_err(to_py)?;
        let raw = c.signal.raw && c.label.raw;
        Ok((c.signal.path, c.label.path, raw))
    }

    /// The window index of `recordings` (row numbers of the index) for
    /// windows of `window_s` every `stride_s` seconds, rebuilt from their
    /// stored labels and types with the ingest's rule: `(recording, start,
    /// label, seizure_fraction, type, window_samples, stride_samples)`.
    fn windows<'py>(
        &self,
        py: Python<'py>,
        recordings: Vec<(i64, String)>,
        window_s: f64,
        stride_s: f64,
    ) -> PyResult<WindowArrays<'py>> {
        let spec = WindowSpec { window_s, stride_s };
        let (t, s) = spec.samples(self.0.root_meta().fs).map_err(to_py)?;
        let (mut rec, mut start, mut label, mut frac, mut code) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        py.detach(|| {
            for (r, rid) in &recordings {
                let index = self.0.recording_index(rid, &spec)?;
                for (w, &c) in index.windows.iter().zip(&index.types) {
                    rec.push(*r);
                    start.push(w.start as i64);
                    label.push(w.label);
                    frac.push(w.seizure_fraction);
                    code.push(c);
                }
            }
            Ok::<_, brainbrr_core::Error>(())
        })
        .map_err(to_py)?;
        Ok((
            PyArray1::from_vec(py, rec),
            PyArray1::from_vec(py, start),
            PyArray1::from_vec(py, label),
            PyArray1::from_vec(py, frac),
            PyArray1::from_vec(py, code),
            t,
            s,
        ))
    }

    /// Recording `rid`'s seizure events (`seizure_events` in the core) among
    /// samples `start..stop`: `(starts, stops, type codes)` in samples from
    /// the recording's start, or `None` for an unlabeled recording.
    #[pyo3(signature = (rid, min_duration_s = 0.0, merge_gap_s = 0.0, start = 0, stop = None))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        rid: &str,
        min_duration_s: f64,
        merge_gap_s: f64,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Option<EventArrays<'py>>> {
        let events = py
            .detach(|| {
                let samples = start..stop.unwrap_or(usize::MAX);
                self.0
                    .seizure_events(rid, samples, min_duration_s, merge_gap_s)
            })
            .map_err(to_py)?;
        // ok: sample positions index a numpy array, so they are below isize::MAX.
        Ok(events.map(|events| {
            (
                PyArray1::from_iter(py, events.iter().map(|e| e.start as i64)),
                PyArray1::from_iter(py, events.iter().map(|e| e.stop as i64)),
                PyArray1::from_iter(py, events.iter().map(|e| e.seizure_type)),
            )
        }))
    }
}

type EventArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u8>>,
);

type WindowArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<u8>>,
    usize,
    usize,
);

/// The file of the single chunk of `recordings/<rid>/<array>`.
/// The corpus-relative path, as bytes, of recording id `rid`.
#[pyfunction]
fn rid_path(rid: &str) -> PyResult<std::borrow::Cow<'static, [u8]>> {
    brainbrr_core::store::rid::decode(rid)
        .map(std::borrow::Cow::Owned)
        .map_err(to_py)
}

#[pyfunction]
fn chunk_path(path: PathBuf, rid: &str, array: &str) -> PyResult<PathBuf> {
    Store::open(path)
        .and_then(|s| s.chunk_path(rid, array))
        .map_err(to_py)
}

/// Copies the store at the `s3://` URL `url` into the folder `out`: `(objects, bytes downloaded)`.
#[pyfunction]
fn pull(py: Python<'_>, url: &str, out: PathBuf) -> PyResult<(usize, u64)> {
    let pulled = py.detach(|| {
        let url = brainbrr_core::remote::Url::parse(url)?;
        brainbrr_core::store::pull(&url, &out)
    });
    pulled.map(|p| (p.objects, p.bytes)).map_err(to_py)
}

/// The index tables of the store at `path` (see `StoreReader.index`).
#[pyfunction]
fn read_index<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    StoreReader::new(py, path, None, None)?.index(py)
}

/// The index tables: string columns as lists, numeric columns as numpy arrays.
fn index_dict(py: Python<'_>, t: IndexTables, n_channels: usize) -> PyResult<Bound<'_, PyDict>> {
    let (r, w, f) = (t.recordings, t.windows, t.failures);
    let n_recordings = r.rid.len();
    let (present, width) = r.channel_present_matrix(n_channels);
    let recordings = PyDict::new(py);
    for (name, col) in [
        ("rid", r.rid),
        ("path", r.path),
        ("split", r.split),
        ("patient", r.patient),
        ("session", r.session),
        ("run", r.run),
        ("corpus", r.corpus),
        ("start_time", r.start_time),
    ] {
        recordings.set_item(name, col)?;
    }
    for (name, col) in [
        ("n_samples", r.n_samples),
        ("n_windows", r.n_windows),
        ("window_offset", r.window_offset),
    ] {
        recordings.set_item(name, PyArray1::from_vec(py, col))?;
    }
    recordings.set_item("fs_in", PyArray1::from_vec(py, r.fs_in))?;
    recordings.set_item(
        "channel_annotated",
        PyArray1::from_vec(py, r.channel_annotated),
    )?;
    let c = t.channel_seizures;
    let channel_seizures = PyDict::new(py);
    channel_seizures.set_item("recording", PyArray1::from_vec(py, c.recording))?;
    channel_seizures.set_item("channel", c.channel)?;
    channel_seizures.set_item("start", PyArray1::from_vec(py, c.start))?;
    channel_seizures.set_item("stop", PyArray1::from_vec(py, c.stop))?;
    channel_seizures.set_item("type", PyArray1::from_vec(py, c.seizure_type))?;
    recordings.set_item(
        "channel_present",
        PyArray1::from_vec(py, present).reshape([n_recordings, width])?,
    )?;
    let windows = PyDict::new(py);
    windows.set_item("recording", PyArray1::from_vec(py, w.recording))?;
    windows.set_item("start", PyArray1::from_vec(py, w.start))?;
    windows.set_item("label", PyArray1::from_vec(py, w.label))?;
    windows.set_item(
        "seizure_fraction",
        PyArray1::from_vec(py, w.seizure_fraction),
    )?;
    windows.set_item("type", PyArray1::from_vec(py, w.seizure_type))?;
    let failures = PyDict::new(py);
    failures.set_item("path", f.path)?;
    let kind: Vec<&str> = f.kind.iter().map(|k| k.as_str()).collect();
    failures.set_item("kind", kind)?;
    failures.set_item("reason", f.reason)?;
    let out = PyDict::new(py);
    out.set_item("window_samples", t.window_samples)?;
    out.set_item("stride_samples", t.stride_samples)?;
    out.set_item("recordings", recordings)?;
    out.set_item("windows", windows)?;
    out.set_item("failures", failures)?;
    out.set_item("channel_seizures", channel_seizures)?;
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(store_info, m)?)?;
    m.add_function(wrap_pyfunction!(verify_store, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_path, m)?)?;
    m.add_function(wrap_pyfunction!(rid_path, m)?)?;
    m.add_function(wrap_pyfunction!(read_index, m)?)?;
    m.add_function(wrap_pyfunction!(pull, m)?)?;
    m.add_class::<StoreReader>()?;
    Ok(())
}
