//! The error of the EDF family: what went wrong, and in which file.

use std::io;
use std::path::{Path, PathBuf};

/// An EDF/BDF file could not be read. Its message names the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct EdfError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    #[source]
    pub kind: EdfErrorKind,
}

/// What is wrong with an EDF file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdfErrorKind {
    /// The file could not be opened or mapped.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file is shorter than the fixed 256-byte header.
    #[error("file is {len} bytes, shorter than the 256-byte EDF header")]
    TooShort {
        /// File size in bytes.
        len: u64,
    },
    /// The version field is neither EDF (`0`) nor BDF (`\xffBIOSEMI`).
    #[error("not an EDF or BDF file: version field is {0:?}")]
    NotEdf(String),
    /// A header field holds a value that cannot be used.
    #[error("bad header field {field}{}: {value:?} ({reason})", signal_suffix(*.signal))]
    BadField {
        /// The field's name, as the EDF specification calls it.
        field: &'static str,
        /// The signal the field belongs to, for per-signal fields.
        signal: Option<usize>,
        /// The raw text of the field.
        value: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The header-size field disagrees with the number of signals.
    #[error("header size field says {declared} bytes but {n_signals} signals need {expected}")]
    HeaderSize {
        /// The header-size field.
        declared: u64,
        /// 256 * (number of signals + 1).
        expected: u64,
        /// Number of signals.
        n_signals: usize,
    },
    /// The file ends inside the header.
    #[error("file is {len} bytes but its header alone is {header_bytes} bytes")]
    TruncatedHeader {
        /// File size in bytes.
        len: u64,
        /// Header size in bytes.
        header_bytes: u64,
    },
    /// The file holds no complete data record.
    #[error("no data: {0}")]
    NoData(String),
    /// A signal index past the last data signal.
    #[error("signal {index} out of range: the file has {n_signals} data signals")]
    SignalIndex {
        /// The requested index.
        index: usize,
        /// Number of data signals.
        n_signals: usize,
    },
    /// A signal whose physical or digital range is empty cannot be scaled.
    #[error("signal {label:?} cannot be scaled to physical units: {reason}")]
    Degenerate {
        /// The signal's label.
        label: String,
        /// Which range is empty.
        reason: String,
    },
    /// An output buffer of the wrong length.
    #[error("output buffer holds {got} samples, signal {label:?} has {expected}")]
    BufferLength {
        /// The signal's label.
        label: String,
        /// Samples in the signal.
        expected: usize,
        /// Length of the buffer given.
        got: usize,
    },
    /// Writing: the signals given cannot be encoded.
    #[error("cannot write: {0}")]
    Write(String),
}

fn signal_suffix(signal: Option<usize>) -> String {
    signal
        .map(|i| format!(" of signal {i}"))
        .unwrap_or_default()
}

impl EdfError {
    pub(crate) fn new(path: &Path, kind: impl Into<EdfErrorKind>) -> Self {
        Self {
            path: path.to_owned(),
            kind: kind.into(),
        }
    }
}
