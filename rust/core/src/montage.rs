//! Picking and ordering the channels of a montage.

use std::collections::BTreeMap;

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

/// The channels of a recording do not fit the montage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MontageError {
    /// Channels of the montage that the recording lacks and that cannot be interpolated.
    #[error("missing channels {0:?}")]
    MissingChannels(Vec<String>),
}
