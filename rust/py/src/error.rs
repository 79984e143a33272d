//! The one place where core errors become Python exceptions.
//!
//! The exception classes are defined in `brainbrr/errors.py` so that they can
//! inherit from both `BrainbrrError` and the matching builtin (`EdfError` is a
//! `ValueError`); here they are imported lazily.

use std::io;

use brainbrr_core::Error;
use brainbrr_core::dsp::DspError;
use brainbrr_core::edf::EdfError;
use brainbrr_core::gather::GatherError;
use brainbrr_core::ingest::IngestError;
use brainbrr_core::labels::LabelError;
use brainbrr_core::montage::MontageError;
use brainbrr_core::store::StoreError;
use pyo3::PyErr;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIndexError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};

/// The Python classes, imported from `brainbrr.errors` on first use.
mod py {
    pyo3::import_exception!(brainbrr.errors, EdfError);
    pyo3::import_exception!(brainbrr.errors, DspError);
    pyo3::import_exception!(brainbrr.errors, MontageError);
    pyo3::import_exception!(brainbrr.errors, StoreError);
    pyo3::import_exception!(brainbrr.errors, AnnotationError);
    pyo3::import_exception!(brainbrr.errors, IngestError);
}

/// Newtype so that `?` converts core errors in every `#[pyfunction]`.
pub struct PyBrainbrrError(Error);

impl From<Error> for PyBrainbrrError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// Each error family converts straight to the Python error, so `?` works on it too.
macro_rules! from_family {
    ($($family:ty),*) => {$(
        impl From<$family> for PyBrainbrrError {
            fn from(e: $family) -> Self {
                Self(e.into())
            }
        }
    )*};
}
from_family!(
    EdfError,
    DspError,
    MontageError,
    LabelError,
    StoreError,
    IngestError
);

fn io_to_py(kind: io::ErrorKind, msg: String) -> PyErr {
    match kind {
        io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
        io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
        _ => PyOSError::new_err(msg),
    }
}

impl From<PyBrainbrrError> for PyErr {
    fn from(PyBrainbrrError(e): PyBrainbrrError) -> Self {
        let msg = e.to_string();
        match &e {
            Error::Edf(edf) => match edf.io_kind() {
                Some(kind) => io_to_py(kind, msg),
                None => py::EdfError::new_err(msg),
            },
            Error::Dsp(_) => py::DspError::new_err(msg),
            Error::Montage(_) => py::MontageError::new_err(msg),
            Error::Labels(labels) => match labels.io_kind() {
                Some(kind) => io_to_py(kind, msg),
                None => py::AnnotationError::new_err(msg),
            },
            Error::Store(store) => match store.io_kind() {
                Some(kind) => io_to_py(kind, msg),
                None => py::StoreError::new_err(msg),
            },
            Error::Ingest(ingest) => match ingest.io_kind() {
                Some(kind) => io_to_py(kind, msg),
                None => py::IngestError::new_err(msg),
            },
            // A window outside the store is an IndexError, a wrong buffer a ValueError.
            Error::Gather(g) => match g {
                GatherError::BadRecording { .. } | GatherError::OutOfBounds { .. } => {
                    PyIndexError::new_err(msg)
                }
                GatherError::Io { source, .. } => io_to_py(source.kind(), msg),
                GatherError::Pool { .. } => PyRuntimeError::new_err(msg),
                _ => PyValueError::new_err(msg),
            },
            _ => PyOSError::new_err(msg),
        }
    }
}

/// Any core error as a Python exception, for `map_err` in functions returning `pyo3::PyResult`.
pub fn to_py(e: impl Into<Error>) -> PyErr {
    PyBrainbrrError(e.into()).into()
}

/// `PyResult` for functions that return core errors.
pub type PyResult<T> = Result<T, PyBrainbrrError>;
