//! Bindings of `brainbrr_core::store`: inspection for the Python reader and
//! the CLI, plus a writer used by the tests. Conversion and error mapping only.

use std::path::PathBuf;

use brainbrr_core::labels::{Window, WindowSpec, window_types, windows};
use brainbrr_core::store::{IndexTables, RecordingMeta, RootMeta, SignalData, Store, StoreError};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
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
            for chunk in [&c.signal, &c.label].into_iter().filter(|_| checksums) {
                Store::check_checksum(chunk).map_err(|reason| StoreError::Mismatch {
                    path: chunk.path.clone(),
                    reason,
                })?;
            }
            Ok::<_, StoreError>(c)
        });
        let c = c.map_err(to_py)?;
        let raw = c.signal.raw && c.label.raw;
        Ok((c.signal.path, c.label.path, raw))
    }

    /// Recording `rid`'s per-sample seizure type codes (names in the root's
    /// `type_names`), decoded whatever the codec; a store written before
    /// types were kept gives its labels (a seizure is `seiz`).
    fn types<'py>(&self, py: Python<'py>, rid: &str) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let codes = py.detach(|| self.0.read_types(rid)).map_err(to_py)?;
        Ok(PyArray1::from_vec(py, codes))
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
        let fs = self.0.root_meta().fs;
        let (t, s) = spec.samples(fs).map_err(to_py)?;
        let rows = py
            .detach(|| -> Result<Vec<(i64, Window, u8)>, brainbrr_core::Error> {
                let mut rows = Vec::new();
                for (r, rid) in &recordings {
                    let ws = windows(&self.0.read_labels(rid)?, fs, &spec)?;
                    let codes = window_types(&self.0.read_types(rid)?, &ws, t);
                    rows.extend(ws.into_iter().zip(codes).map(|(w, c)| (*r, w, c)));
                }
                Ok(rows)
            })
            .map_err(to_py)?;
        let (mut rec, mut start, mut label, mut frac, mut code) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (r, w, c) in rows {
            rec.push(r);
            start.push(w.start as i64);
            label.push(w.label);
            frac.push(w.seizure_fraction);
            code.push(c);
        }
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
}

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
#[pyfunction]
fn chunk_path(path: PathBuf, rid: &str, array: &str) -> PyResult<PathBuf> {
    Store::open(path)
        .and_then(|s| s.chunk_path(rid, array))
        .map_err(to_py)
}

/// The index tables: string columns as lists, numeric columns as numpy arrays.
/// Copies the store at the `s3://` URL `url` into the folder `out`: `(objects, bytes downloaded)`.
#[pyfunction]
fn pull(py: Python<'_>, url: &str, out: PathBuf) -> PyResult<(usize, u64)> {
    let pulled = py.detach(|| {
        let url = brainbrr_core::remote::Url::parse(url)?;
        brainbrr_core::store::pull(&url, &out)
    });
    pulled.map(|p| (p.objects, p.bytes)).map_err(to_py)
}

#[pyfunction]
fn read_index<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    StoreReader::new(py, path, None, None)?.index(py)
}

fn index_dict(py: Python<'_>, t: IndexTables, n_channels: usize) -> PyResult<Bound<'_, PyDict>> {
    let (r, w, f) = (t.recordings, t.windows, t.failures);
    let n_recordings = r.rid.len();
    let recordings = PyDict::new(py);
    for (name, col) in [
        ("rid", r.rid),
        ("path", r.path),
        ("split", r.split),
        ("patient", r.patient),
        ("session", r.session),
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
    let present = if r.channel_present.is_empty() {
        vec![true; n_recordings * n_channels]
    } else {
        r.channel_present.concat()
    };
    let width = r.channel_present.first().map_or(n_channels, Vec::len);
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
    failures.set_item("reason", f.reason)?;
    let out = PyDict::new(py);
    out.set_item("window_samples", t.window_samples)?;
    out.set_item("stride_samples", t.stride_samples)?;
    out.set_item("recordings", recordings)?;
    out.set_item("windows", windows)?;
    out.set_item("failures", failures)?;
    Ok(out)
}

fn item<'py, T: FromPyObjectOwned<'py>>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    dict.get_item(key)?
        .ok_or_else(|| PyValueError::new_err(format!("index is missing {key:?}")))?
        .extract()
        .map_err(Into::into)
}

fn table<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyDict>> {
    item(dict, key)
}

/// `IndexTables` from a dict shaped like `read_index`'s result.
fn index_tables(index: &Bound<'_, PyDict>) -> PyResult<IndexTables> {
    let (r, w, f) = (
        table(index, "recordings")?,
        table(index, "windows")?,
        table(index, "failures")?,
    );
    let mut t = IndexTables {
        window_samples: item(index, "window_samples")?,
        stride_samples: item(index, "stride_samples")?,
        ..IndexTables::default()
    };
    t.recordings.rid = item(&r, "rid")?;
    t.recordings.path = item(&r, "path")?;
    t.recordings.split = item(&r, "split")?;
    t.recordings.patient = item(&r, "patient")?;
    t.recordings.session = item(&r, "session")?;
    t.recordings.n_samples = item(&r, "n_samples")?;
    t.recordings.n_windows = item(&r, "n_windows")?;
    t.recordings.window_offset = item(&r, "window_offset")?;
    if let Some(present) = r.get_item("channel_present")? {
        t.recordings.channel_present = present.extract()?;
    }
    t.windows.recording = item(&w, "recording")?;
    t.windows.start = item(&w, "start")?;
    t.windows.label = item(&w, "label")?;
    t.windows.seizure_fraction = item(&w, "seizure_fraction")?;
    // Test stores written from labels alone: a window's type is its label.
    t.windows.seizure_type = match w.get_item("type")? {
        Some(types) => types.extract()?,
        None => t.windows.label.clone(),
    };
    t.failures.path = item(&f, "path")?;
    t.failures.reason = item(&f, "reason")?;
    Ok(t)
}

/// Test helper: a store at `path` with `recordings` (`rid`, float32 or
/// float16-bits uint16 `[C, n]`, uint8 `[n]`), then `index` (shaped like
/// `read_index`'s result) marked complete when given.
#[pyfunction]
#[pyo3(signature = (path, recordings, config_json="{}", index=None, fs=256.0))]
fn _write_test_store(
    path: PathBuf,
    recordings: Vec<(String, Bound<'_, PyAny>, PyReadonlyArray1<'_, u8>)>,
    config_json: &str,
    index: Option<Bound<'_, PyDict>>,
    fs: f64,
) -> PyResult<()> {
    let config = config_json
        .parse()
        .map_err(|e| PyValueError::new_err(format!("config_json: {e}")))?;
    let n_channels = match recordings.first() {
        Some((_, x, _)) => x
            .extract::<PyReadonlyArray2<'_, f32>>()
            .map(|a| a.shape()[0])
            .or_else(|_| {
                x.extract::<PyReadonlyArray2<'_, u16>>()
                    .map(|a| a.shape()[0])
            })?,
        None => 0,
    };
    let channels = (0..n_channels).map(|i| format!("ch{i}")).collect();
    let root = RootMeta::new(config, "test", channels, fs);
    let mut store = Store::create(&path, root).map_err(to_py)?;
    for (rid, signal, labels) in &recordings {
        let labels = labels.as_slice()?;
        let write = |shape: &[usize], data: SignalData<'_>| {
            let meta = RecordingMeta {
                source: format!("{rid}.edf"),
                size: 0,
                mtime_ns: 0,
                etag: None,
                config_hash: "test".to_owned(),
                fs_in: fs,
                n_in: shape[1] as u64,
                fs,
                n_samples: shape[1] as u64,
                n_channels: shape[0] as u64,
                split: None,
                patient: None,
                session: None,
                montage: None,
                annotation: None,
                type_annotation: None,
                labeled: true,
                warnings: Vec::new(),
                interpolated: Vec::new(),
                absent: Vec::new(),
                store_id: None,
            };
            store
                .write_recording(rid, &meta, data, labels)
                .map_err(to_py)
        };
        if let Ok(x) = signal.extract::<PyReadonlyArray2<'_, f32>>() {
            write(x.shape(), SignalData::F32(x.as_slice()?))?;
        } else {
            let x: PyReadonlyArray2<'_, u16> = signal.extract()?;
            write(x.shape(), SignalData::F16(x.as_slice()?))?;
        }
    }
    if let Some(index) = index {
        store.write_index(&index_tables(&index)?).map_err(to_py)?;
        store
            .set_index_complete(true, Default::default())
            .map_err(to_py)?;
    }
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(store_info, m)?)?;
    m.add_function(wrap_pyfunction!(verify_store, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_path, m)?)?;
    m.add_function(wrap_pyfunction!(read_index, m)?)?;
    m.add_function(wrap_pyfunction!(pull, m)?)?;
    m.add_class::<StoreReader>()?;
    m.add_function(wrap_pyfunction!(_write_test_store, m)?)?;
    Ok(())
}
