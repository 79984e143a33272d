//! The one place where core errors become Python exceptions.
//!
//! The exception classes are defined in `brainbrr/errors.py` so that they can
//! inherit from both `BrainbrrError` and the matching builtin (`EdfError` is a
//! `ValueError`); here they are imported lazily.

use std::io;

use brainbrr_core::Error;
use brainbrr_core::config::ConfigError;
use brainbrr_core::dsp::DspError;
use brainbrr_core::edf::EdfError;
use brainbrr_core::gather::GatherError;
use brainbrr_core::ingest::IngestError;
use brainbrr_core::labels::LabelError;
use brainbrr_core::montage::MontageError;
use brainbrr_core::remote::RemoteError;
use brainbrr_core::store::StoreError;
use pyo3::PyErr;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyPermissionError};

/// The Python classes, imported from `brainbrr.errors` on first use.
mod py {
    pyo3::import_exception!(brainbrr.errors, EdfError);
    pyo3::import_exception!(brainbrr.errors, DspError);
    pyo3::import_exception!(brainbrr.errors, MontageError);
    pyo3::import_exception!(brainbrr.errors, StoreError);
    pyo3::import_exception!(brainbrr.errors, ConfigError);
    pyo3::import_exception!(brainbrr.errors, LabelError);
    pyo3::import_exception!(brainbrr.errors, IngestError);
    pyo3::import_exception!(brainbrr.errors, StrictStop);
    pyo3::import_exception!(brainbrr.errors, GatherError);
    pyo3::import_exception!(brainbrr.errors, WindowIndexError);
    pyo3::import_exception!(brainbrr.errors, BrainbrrError);
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
    ConfigError,
    DspError,
    MontageError,
    LabelError,
    StoreError,
    IngestError
);

impl From<PyBrainbrrError> for PyErr {
    fn from(PyBrainbrrError(e): PyBrainbrrError) -> Self {
        let msg = e.to_string();
        // Object storage: a missing object or bucket and a refusal read as their
        // local counterparts; anything else is an OSError (the network).
        if let Error::Remote(r) | Error::Store(StoreError::Remote(r)) = &e {
            return match r {
                RemoteError::NotFound { .. } => PyFileNotFoundError::new_err(msg),
                RemoteError::Denied { .. } => PyPermissionError::new_err(msg),
                RemoteError::Url { .. } => py::BrainbrrError::new_err(msg),
                _ => PyOSError::new_err(msg),
            };
        }
        if let Some(kind) = e.io_kind() {
            return match kind {
                io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
                io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
                _ => PyOSError::new_err(msg),
            };
        }
        match &e {
            Error::Edf(_) => py::EdfError::new_err(msg),
            // A config is also checked where it is used: a `DspError` then.
            Error::Config(_) | Error::Dsp(DspError::InvalidConfig(_)) => {
                py::ConfigError::new_err(msg)
            }
            Error::Dsp(_) => py::DspError::new_err(msg),
            Error::Montage(_) => py::MontageError::new_err(msg),
            Error::Labels(_) => py::LabelError::new_err(msg),
            Error::Store(_) => py::StoreError::new_err(msg),
            Error::Ingest(IngestError::Strict { .. }) => py::StrictStop::new_err(msg),
            Error::Ingest(_) => py::IngestError::new_err(msg),
            // A window outside the store is an IndexError too.
            Error::Gather(GatherError::BadRecording { .. } | GatherError::OutOfBounds { .. }) => {
                py::WindowIndexError::new_err(msg)
            }
            Error::Gather(_) => py::GatherError::new_err(msg),
            _ => py::BrainbrrError::new_err(msg),
        }
    }
}

/// Any core error as a Python exception, for `map_err` in functions returning `pyo3::PyResult`.
pub fn to_py(e: impl Into<Error>) -> PyErr {
    PyBrainbrrError(e.into()).into()
}

/// `PyResult` for functions that return core errors.
pub type PyResult<T> = Result<T, PyBrainbrrError>;
