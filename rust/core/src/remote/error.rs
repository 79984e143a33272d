//! The errors of object storage, each naming the URL (or local file) it concerns.

use std::path::PathBuf;

/// An object-storage error, naming the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// Not an `s3://bucket/...` URL, or one brainbrr refuses.
    #[error("{url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object (or bucket) does not exist.
    #[error("{url}: not found ({reason})")]
    NotFound {
        /// The object's URL.
        url: String,
        /// The server's words.
        reason: String,
    },
    /// The credentials are missing, invalid or not allowed this operation.
    #[error("{url}: access denied ({reason})")]
    Denied {
        /// The object's URL.
        url: String,
        /// The server's words.
        reason: String,
    },
    /// A conditional write found the object created or changed by someone else.
    #[error("{url}: written by another process meanwhile")]
    Conflict {
        /// The object's URL.
        url: String,
    },
    /// A downloaded object failed its check (a checksum that differs).
    #[error("{url}: {reason}")]
    Damaged {
        /// The object's URL.
        url: String,
        /// What the check found.
        reason: String,
    },
    /// Any other failure, after the client's retries.
    #[error("{url}: {reason}")]
    Other {
        /// The object's URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A local file the transfer reads or writes.
    #[error("{}: {source}", path.display())]
    Local {
        /// The local file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
