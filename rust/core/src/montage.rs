//! Picking and ordering the channels of a montage, and interpolating the
//! missing ones as MNE does.
//!
//! The ingest calls [`pick`] with a recording's EDF labels (before decoding
//! anything: a [`MontageError`] is a skip), decodes the signals the [`Pick`]
//! names as [`ChannelSource::Label`] to physical `f64`, and gets the `[C, n]`
//! matrix from [`Pick::apply`] (or lays the rows out itself and calls
//! [`Pick::fill_interpolated`]).

mod label;
mod linalg;
mod pick;
mod positions;
mod spline;

use std::collections::BTreeMap;

pub use label::normalize_label;
pub use pick::{ChannelSource, Pick, pick};
pub use spline::interpolation_matrix;

use serde::{Deserialize, Serialize};

/// Which channels a recording must provide, in which order, and how EDF labels map to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MontageConfig {
    /// Output channels, in order (upper case).
    pub channels: Vec<String>,
    /// Alternative names, mapped to the name used in `channels` (T7 -> T3).
    pub aliases: BTreeMap<String, String>,
    /// Label prefixes removed before matching (case-insensitive).
    pub strip_prefixes: Vec<String>,
    /// Label suffixes removed before matching (case-insensitive).
    pub strip_suffixes: Vec<String>,
    /// Channels that may be missing and are then interpolated (spherical splines).
    pub interpolate: Vec<String>,
}

impl Default for MontageConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Self {
            channels: s(&[
                "FP1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "FZ", "CZ", "PZ", "FP2", "F4",
                "C4", "P4", "F8", "T4", "T6", "O2",
            ]),
            aliases: [("T7", "T3"), ("T8", "T4"), ("P7", "T5"), ("P8", "T6")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            strip_prefixes: s(&["EEG "]),
            strip_suffixes: s(&["-REF", "-LE", "-AR"]),
            interpolate: s(&["FZ", "PZ"]),
        }
    }
}

impl MontageConfig {
    /// Parses a montage config from JSON; absent fields take their defaults.
    ///
    /// # Errors
    /// [`MontageError::InvalidConfig`] if `json` is not a valid config.
    pub fn from_json(json: &str) -> Result<Self, MontageError> {
        Ok(serde_json::from_str(json)?)
    }
}

/// The channels of a recording do not fit the montage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MontageError {
    /// A montage config that does not parse.
    #[error("invalid montage config: {0}")]
    InvalidConfig(#[from] serde_json::Error),
    /// Channels of the montage that the recording lacks and that cannot be interpolated.
    #[error("missing channels {0:?}")]
    MissingChannels(Vec<String>),
    /// Several labels of the recording name the same montage channel.
    #[error("channel {channel} appears more than once, as labels {labels:?}")]
    DuplicateChannel {
        /// The montage channel.
        channel: String,
        /// The EDF labels that all normalise to it.
        labels: Vec<String>,
    },
    /// A channel to interpolate from or to has no position in `standard_1020`.
    #[error("channel {0} has no standard_1020 position, so it cannot be interpolated")]
    NoPosition(String),
    /// Too few positions (after dropping low frontal ones) to fit the head sphere.
    #[error("{0} electrode positions cannot fit a head sphere for interpolation (need 4)")]
    TooFewPositions(usize),
    /// The signals of one recording differ in length.
    #[error("channel {channel} has {len} samples, expected {expected}")]
    LengthMismatch {
        /// The montage channel.
        channel: String,
        /// Its number of samples.
        len: usize,
        /// The number of samples of the first channel.
        expected: usize,
    },
    /// A `[C, n]` buffer of the wrong size.
    #[error("montage buffer holds {len} values, expected {expected}")]
    BadShape {
        /// Values in the buffer.
        len: usize,
        /// Channels times samples.
        expected: usize,
    },
}
