//! Picking and ordering the channels of a montage, and interpolating the
//! missing ones as MNE does.
//!
//! The ingest calls [`derive`] with a recording's EDF labels (before decoding
//! anything: [`MontageError::MissingChannels`] is a skip). Its [`Montage`]
//! holds a [`Pick`] of the electrodes (which EDF signal feeds each, which are
//! interpolated, which optional ones are missing) and one [`Term`] per output
//! channel: the electrode itself (referential) or the difference of two
//! electrodes (bipolar, e.g. the TCP "double banana"). [`Montage::apply`] gives
//! the `[C, n]` matrix; the ingest streams the same sums group by group.

mod derive;
mod label;
mod linalg;
mod pick;
mod positions;
mod spline;

use std::collections::BTreeMap;

pub use derive::{Montage, TCP_PAIRS, Term, derive, records_tcp_pairs};
pub use label::normalize_label;
pub use pick::{ChannelSource, Pick, pick};
pub use spline::interpolation_matrix;

use serde::{Deserialize, Serialize};

/// Which channels a recording must provide, in which order, and how EDF labels map to them.
///
/// The fields added with bipolar montages (`kind`, `pairs`, `optional`) are
/// left out of the JSON while they hold their referential defaults, so the
/// config hash of a referential store is what it was before they existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MontageConfig {
    /// Referential (`channels`), the TCP bipolar montage, or bipolar `pairs`.
    #[serde(skip_serializing_if = "MontageKind::is_referential")]
    pub kind: MontageKind,
    /// Output channels of a referential montage, in order (upper case).
    pub channels: Vec<String>,
    /// Bipolar pairs `"FP1-F7"` (first electrode minus second), in output
    /// order: required for `bipolar`, [`TCP_PAIRS`] for `tcp` (filled in by
    /// [`MontageConfig::resolve`]), absent for `referential`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<String>>,
    /// Electrodes a recording may lack: the channels that need a missing one
    /// are stored as zeros and marked absent in `index/recordings/channel_present`.
    /// Absent means none, or A1 and A2 for `tcp` (03_tcp_ar_a recordings have neither).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<Vec<String>>,
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
            kind: MontageKind::Referential,
            pairs: None,
            optional: None,
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

/// How output channels are formed from the electrodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MontageKind {
    /// One output channel per electrode of `channels`, as recorded.
    #[default]
    Referential,
    /// The 22-channel TCP bipolar montage ([`TCP_PAIRS`]), A1/A2 optional.
    Tcp,
    /// The bipolar pairs of `pairs`.
    Bipolar,
}

impl MontageKind {
    fn is_referential(&self) -> bool {
        *self == Self::Referential
    }
}

impl MontageConfig {
    /// Parses a montage config from JSON; absent fields take their defaults,
    /// then [`MontageConfig::resolve`].
    ///
    /// # Errors
    /// [`MontageError::InvalidConfig`] if `json` is not a valid config,
    /// [`MontageError::BadParameter`] from [`MontageConfig::resolve`].
    pub fn from_json(json: &str) -> Result<Self, MontageError> {
        let mut cfg: Self = serde_json::from_str(json)?;
        cfg.resolve()?;
        Ok(cfg)
    }

    /// Writes out what `kind` implies (the TCP pairs, its optional A1/A2), so
    /// a stored config says what was done, and checks the pairs.
    ///
    /// # Errors
    /// [`MontageError::BadParameter`] naming `montage.pairs` when a bipolar
    /// montage has no pairs, a pair is not `A-B`, `tcp` is given other pairs or
    /// a referential montage is given pairs.
    pub fn resolve(&mut self) -> Result<(), MontageError> {
        if self.kind == MontageKind::Tcp {
            self.pairs
                .get_or_insert_with(|| TCP_PAIRS.map(str::to_owned).to_vec());
            self.optional
                .get_or_insert_with(|| vec!["A1".to_owned(), "A2".to_owned()]);
        }
        let bipolar = self.bipolar_pairs()?.is_some();
        if bipolar && self.channels != Self::default().channels {
            return Err(MontageError::BadParameter {
                name: "montage.channels",
                reason: "only for a referential montage; a bipolar one takes its electrodes from montage.pairs".into(),
            });
        }
        Ok(())
    }

    /// The output channel names: `channels`, or the pairs as `A-B` in upper case.
    ///
    /// # Errors
    /// As [`MontageConfig::resolve`].
    pub fn output_channels(&self) -> Result<Vec<String>, MontageError> {
        Ok(match self.bipolar_pairs()? {
            None => self.channels.clone(),
            Some(pairs) => pairs.iter().map(|(a, b)| format!("{a}-{b}")).collect(),
        })
    }

    /// The electrodes a recording must provide (or may lack, if optional or
    /// interpolable): `channels`, or every electrode of the pairs, in order of
    /// first appearance.
    ///
    /// # Errors
    /// As [`MontageConfig::resolve`].
    pub fn electrodes(&self) -> Result<Vec<String>, MontageError> {
        Ok(match self.bipolar_pairs()? {
            None => self.channels.clone(),
            Some(pairs) => {
                let mut out: Vec<String> = Vec::new();
                for e in pairs.into_iter().flat_map(|(a, b)| [a, b]) {
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
                out
            }
        })
    }

    /// The optional electrodes (see the field), with `tcp`'s default.
    pub(crate) fn optional_electrodes(&self) -> Vec<String> {
        match (&self.optional, self.kind) {
            (Some(v), _) => v.clone(),
            (None, MontageKind::Tcp) => vec!["A1".to_owned(), "A2".to_owned()],
            (None, _) => Vec::new(),
        }
    }

    /// The pairs as `(plus, minus)` electrode names in upper case; `None` for a
    /// referential montage.
    fn bipolar_pairs(&self) -> Result<Option<Vec<(String, String)>>, MontageError> {
        let bad = |reason: String| MontageError::BadParameter {
            name: "montage.pairs",
            reason,
        };
        let pairs = match (self.kind, &self.pairs) {
            (MontageKind::Referential, None) => return Ok(None),
            (MontageKind::Referential, Some(_)) => {
                return Err(bad(
                    "given for a referential montage; set montage.kind to \"bipolar\"".into(),
                ));
            }
            (MontageKind::Tcp, Some(p)) if !p.iter().map(String::as_str).eq(TCP_PAIRS) => {
                return Err(bad(
                    "montage.kind \"tcp\" has the 22 TCP pairs; other pairs need kind \"bipolar\""
                        .into(),
                ));
            }
            (MontageKind::Tcp, None) => TCP_PAIRS.map(str::to_owned).to_vec(),
            (_, Some(p)) if !p.is_empty() => p.clone(),
            (_, _) => return Err(bad("a bipolar montage needs at least one pair".into())),
        };
        pairs
            .iter()
            .map(|p| match p.trim().split_once('-') {
                Some((a, b))
                    if !a.trim().is_empty() && !b.trim().is_empty() && !b.contains('-') =>
                {
                    Ok((a.trim().to_ascii_uppercase(), b.trim().to_ascii_uppercase()))
                }
                _ => Err(bad(format!(
                    "{p:?} is not two electrodes joined by one '-' (\"FP1-F7\")"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The channels of a recording do not fit the montage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MontageError {
    /// A montage config that does not parse.
    #[error("invalid montage config: {0}")]
    InvalidConfig(#[from] serde_json::Error),
    /// A montage parameter that parses but cannot work.
    #[error("{name}: {reason}")]
    BadParameter {
        /// The parameter's dotted path (`montage.pairs`).
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Channels of the montage that the recording lacks and that cannot be interpolated.
    #[error("missing channels {0:?}")]
    MissingChannels(Vec<String>),
    /// Different labels of the recording name the same montage channel (the
    /// same label twice is read once, from its first copy).
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
