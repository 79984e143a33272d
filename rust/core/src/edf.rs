//! EDF, EDF+ and BDF reading (work in progress).

/// An EDF file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("placeholder")]
pub struct EdfError;

impl EdfError {
    /// The I/O error kind, when the failure was an I/O error.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        None
    }
}
