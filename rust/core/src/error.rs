//! The top-level error: one variant per family, each family a `thiserror` enum
//! whose variants carry the data a user needs to act on.

use crate::{dsp::DspError, edf::EdfError, montage::MontageError};

/// Any error brainbrr-core returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An EDF/BDF file could not be read.
    #[error(transparent)]
    Edf(#[from] EdfError),
    /// A preprocessing config cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A signal-processing step got arguments it cannot work with.
    #[error(transparent)]
    Dsp(#[from] DspError),
    /// The channels of a recording do not fit the montage.
    #[error(transparent)]
    Montage(#[from] MontageError),
    /// The store could not be created, opened, read or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The ingest could not run.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// An annotation file could not be read, or labels/windows could not be built.
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelError),
    /// Object storage refused or failed a request.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// Windows could not be gathered into a batch.
    #[error(transparent)]
    Gather(#[from] crate::gather::GatherError),
}

/// `Result` with brainbrr's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind of the I/O error at the root of this one, if any (the bindings
    /// map `NotFound` to `FileNotFoundError`): found by walking the `source`
    /// chain, so every family reports it the same way.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        let mut at: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = at {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io.kind());
            }
            at = e.source();
        }
        None
    }
}
