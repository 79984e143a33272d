//! `StoreError`: every way reading or writing a store can fail.

use std::io;
use std::path::PathBuf;

/// An error from the store layer. Each variant names the path (or recording id)
/// it is about, so a message is actionable without a backtrace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Object storage refused or failed a request.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// zarrs refused to build, read or write an array or group.
    #[error("{path}: zarr: {reason}")]
    Zarr {
        /// The store path of the node.
        path: PathBuf,
        /// zarrs' message.
        reason: String,
    },
    /// The directory is not a brainbrr store (no root group or no `brainbrr` attribute).
    #[error("{path} is not a brainbrr store: {reason}")]
    NotAStore {
        /// The store directory.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The store was written in a format this version cannot read.
    #[error("{path}: unsupported store format {found} (this brainbrr reads format 1)")]
    UnsupportedFormat {
        /// The store directory.
        path: PathBuf,
        /// The `format` attribute found.
        found: String,
    },
    /// A metadata document exists but does not parse.
    #[error("{path}: bad metadata: {reason}")]
    BadMetadata {
        /// The `zarr.json` file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store was built with another preprocessing config; nothing was changed.
    #[error(
        "{path} was built with another config; rebuild it with --overwrite (overwrite=True in Python). Differences (store != requested):\n  {}",
        differences.join("\n  ")
    )]
    ConfigMismatch {
        /// The store directory.
        path: PathBuf,
        /// One line per differing JSON path: `path: stored != requested`.
        differences: Vec<String>,
    },
    /// `create` was asked to write over a non-empty directory.
    #[error("{path} already exists and is not empty")]
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// A recording id that cannot be used as a directory name.
    #[error("invalid recording id {rid:?}: {reason}")]
    InvalidRid {
        /// The id.
        rid: String,
        /// Why it is refused.
        reason: String,
    },
    /// Signal or labels do not have the length the metadata announces.
    #[error("recording {rid}: {reason}")]
    ShapeMismatch {
        /// The recording id.
        rid: String,
        /// Expected and found lengths.
        reason: String,
    },
    /// Index tables that are not consistent (column lengths, row references).
    #[error("invalid index: {reason}")]
    InvalidIndex {
        /// What is inconsistent.
        reason: String,
    },
    /// The recording is not committed in this store.
    #[error("{path}: recording {rid} is not committed")]
    NotCommitted {
        /// The store directory.
        path: PathBuf,
        /// The recording id.
        rid: String,
    },
    /// The store does not hold what its index or root say (a reader refuses it).
    #[error("{path}: {reason}")]
    Mismatch {
        /// The recording folder or array.
        path: PathBuf,
        /// Which field disagrees, and how.
        reason: String,
    },
    /// The store was overwritten or rebuilt since the reader opened it.
    #[error(
        "{path} was overwritten or rebuilt since it was opened (its store id changed); open it again"
    )]
    Replaced {
        /// The store directory.
        path: PathBuf,
    },
    /// Another process holds the store's writer lock.
    #[error(
        "{path} is being written by another ingest ({holder}); wait for it to finish, or pass --wait to queue behind it"
    )]
    Locked {
        /// The store directory.
        path: PathBuf,
        /// The holder as it recorded itself: `pid N on host H`.
        holder: String,
    },
    /// A path inside the store that brainbrr would follow out of it.
    #[error("{path}: {reason}; refusing to follow it out of the store")]
    Unsafe {
        /// The path.
        path: PathBuf,
        /// What is wrong (a symbolic link, a name that climbs out).
        reason: String,
    },
    /// A feature this build does not have (e.g. zstd without the `zstd` cargo feature).
    #[error("unsupported: {what}")]
    Unsupported {
        /// What was asked for.
        what: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn zarr(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Self::Zarr {
            path: path.into(),
            reason: err.to_string(),
        }
    }
}

impl From<crate::nofollow::Refused> for StoreError {
    fn from((path, why): crate::nofollow::Refused) -> Self {
        Self::Unsafe {
            path,
            reason: why.to_owned(),
        }
    }
}
