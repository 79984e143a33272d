//! Bindings of `brainbrr_core::gather`: a gatherer over a store's chunk files
//! whose `gather` fills a caller's `[B, C, T]` numpy buffer with the GIL released.

use std::path::PathBuf;

use brainbrr_core::gather::{Gatherer, Io, Sample};
use numpy::{PyReadonlyArray1, PyReadwriteArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::to_py;

/// Windows of a store's recordings gathered into batches by Rust threads.
///
/// The chunk files are memory-mapped on first use; the thread pool is built
/// in the process that gathers (again after a fork).
#[pyclass(frozen, module = "brainbrr._native")]
pub struct WindowGatherer(Gatherer);

fn fill<T: Sample + numpy::Element>(
    py: Python<'_>,
    g: &Gatherer,
    recordings: &[i64],
    starts: &[i64],
    mut out: PyReadwriteArray3<'_, T>,
) -> PyResult<()> {
    let window = out.shape()[2];
    let out = out
        .as_slice_mut()
        .map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
    py.detach(|| g.gather(recordings, starts, window, out))
        .map_err(to_py)
}

#[pymethods]
impl WindowGatherer {
    #[new]
    #[pyo3(signature = (paths, n_samples, n_channels, dtype, threads=0, io="read"))]
    fn new(
        paths: Vec<PathBuf>,
        n_samples: Vec<usize>,
        n_channels: usize,
        dtype: &str,
        threads: usize,
        io: &str,
    ) -> PyResult<Self> {
        let io = match io {
            "read" => Io::Read,
            "map" => Io::Map,
            other => {
                return Err(PyValueError::new_err(format!(
                    "io must be 'read' or 'map', not {other:?}"
                )));
            }
        };
        let size = match dtype {
            "float32" => 4,
            "float16" => 2,
            other => {
                return Err(PyValueError::new_err(format!(
                    "dtype must be float32 or float16, not {other}"
                )));
            }
        };
        Gatherer::new(paths, n_samples, n_channels, size, threads)
            .map(|g| Self(g.with_io(io)))
            .map_err(to_py)
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// Fill `out` `[B, C, T]` (C-contiguous float32, or uint16 holding float16
    /// bits) with windows `(recordings[b], starts[b])`.
    fn gather(
        &self,
        py: Python<'_>,
        recordings: PyReadonlyArray1<'_, i64>,
        starts: PyReadonlyArray1<'_, i64>,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (recordings, starts) = (recordings.as_slice()?, starts.as_slice()?);
        if let Ok(out) = out.extract::<PyReadwriteArray3<'_, f32>>() {
            fill(py, &self.0, recordings, starts, out)
        } else if let Ok(out) = out.extract::<PyReadwriteArray3<'_, u16>>() {
            fill(py, &self.0, recordings, starts, out)
        } else {
            Err(PyValueError::new_err(
                "out must be a writable 3-D float32 or uint16 (float16 bits) numpy array",
            ))
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<WindowGatherer>()?;
    Ok(())
}
