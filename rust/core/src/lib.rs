//! brainbrr-core: the pure-Rust engine behind brainbrr.
//!
//! It reads EDF/BDF recordings ([`edf`]), picks and orders the channels of a
//! montage ([`montage`]), resamples and filters them ([`dsp`]) and turns a
//! large EEG corpus into one chunked store. Nothing here knows about Python:
//! the `brainbrr-py` crate only converts arguments and maps errors.

pub mod config;
pub mod corpus;
pub mod dsp;
pub mod edf;
pub mod error;
pub mod gather;
pub mod ingest;
pub mod json;
pub mod labels;
pub mod mem;
pub mod montage;
pub(crate) mod nofollow;
pub mod preprocess;
pub(crate) mod process;
pub mod remote;
pub mod store;
pub mod tmp;

pub use error::{Error, Result};
