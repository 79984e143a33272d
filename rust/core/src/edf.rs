//! EDF, EDF+ (continuous and discontinuous) and BDF reading, and a small EDF writer.
//!
//! Clinical files are messy: the reader is tolerant where the data stays
//! unambiguous (numeric padding, odd date separators, latin-1 bytes, a missing
//! record count, a trailing partial record) and records a warning for each
//! liberty it takes; it refuses with an [`EdfError`] naming the file and the
//! field where the data would be ambiguous.

mod annotations;
mod error;
mod header;
mod reader;
mod writer;

pub use annotations::Annotation;
pub use error::{EdfError, EdfErrorKind};
pub use header::{FileKind, Header, SignalHeader, StartTime};
pub use reader::{Edf, RawSignals};
pub use writer::{EdfWriter, WriteSignal};
