//! Seizure labels: TUSZ annotation files, per-sample labels and the window index.
//!
//! The ingest finds the annotation beside an EDF ([`find_annotation`]), turns
//! it into per-sample labels of the preprocessed signal ([`recording_labels`]:
//! [`parse_annotation`] then [`sample_labels`], or [`unlabeled`] when there is
//! no file) and indexes the windows of the recording ([`windows`]).
//!
//! Per-sample labels are `u8`: [`BACKGROUND`] 0, [`SEIZURE`] 1, [`UNLABELED`]
//! 255. A recording without annotation is unlabeled, never background: treating
//! it as background would teach a model that its seizures are normal EEG.

mod annotation;
mod samples;
mod window;

use std::io;
use std::path::{Path, PathBuf};

pub use annotation::{Annotations, Interval, find_annotation, parse_annotation};
pub use samples::{BACKGROUND, SEIZURE, UNLABELED, recording_labels, sample_labels, unlabeled};
pub use window::{Window, WindowSpec, windows};

use serde::{Deserialize, Serialize};

/// Which annotation files to read and which of their labels are seizures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelConfig {
    /// Labels that mark a seizure, matched case-insensitively. Every other
    /// label (`bckg`, artefact or unknown labels) counts as background.
    pub seizure_labels: Vec<String>,
    /// Annotation file extensions, in order of preference, tried beside the EDF.
    pub files: Vec<String>,
}

impl Default for LabelConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Self {
            seizure_labels: s(&[
                "seiz", "fnsz", "gnsz", "cpsz", "absz", "spsz", "tcsz", "tnsz", "mysz",
            ]),
            files: s(&[".csv_bi", ".csv"]),
        }
    }
}

impl LabelConfig {
    /// Parses a label config from JSON; absent fields take their defaults.
    ///
    /// # Errors
    /// [`LabelError::InvalidConfig`] if `json` is not a valid config.
    pub fn from_json(json: &str) -> Result<Self, LabelError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Whether `label` (surrounding blanks ignored) is a seizure label.
    pub fn is_seizure(&self, label: &str) -> bool {
        let label = label.trim();
        self.seizure_labels
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(label))
    }
}

/// An annotation file that cannot be read, or labels/windows that cannot be built.
///
/// File errors name the file and, for its content, the 1-based line number and
/// the offending text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// A label config that does not parse.
    #[error("invalid label config: {0}")]
    InvalidConfig(#[from] serde_json::Error),
    /// The annotation file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The first row that is not a `#` comment is not the column header row.
    #[error(
        "{}:{line}: expected the header row `channel,start_time,stop_time,label,confidence`, found {}",
        path.display(),
        found.as_ref().map_or_else(|| "the end of the file".to_owned(), |t| format!("{t:?}"))
    )]
    MissingHeader {
        /// The file.
        path: PathBuf,
        /// Line where the header row was expected.
        line: usize,
        /// That line's text; `None` at the end of the file.
        found: Option<String>,
    },
    /// The header row lacks a column the labels need.
    #[error("{}:{line}: header row has no {column:?} column: {header:?}", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// Line of the header row.
        line: usize,
        /// The missing column.
        column: &'static str,
        /// The header row.
        header: String,
    },
    /// A row with fewer fields than the header row's needed columns.
    #[error("{}:{line}: row has no {column:?} field: {text:?}", path.display())]
    ShortRow {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: usize,
        /// The first column it lacks.
        column: &'static str,
        /// The row.
        text: String,
    },
    /// A needed field is empty.
    #[error("{}:{line}: empty {column:?} field: {text:?}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: usize,
        /// The empty column.
        column: &'static str,
        /// The row.
        text: String,
    },
    /// A time or the duration that is not a number.
    #[error("{}:{line}: {column} is not a number: {value:?}", path.display())]
    Number {
        /// The file.
        path: PathBuf,
        /// Line of the row or header line.
        line: usize,
        /// The column, or `duration`.
        column: &'static str,
        /// The text.
        value: String,
    },
    /// A time that parses but is NaN or infinite.
    #[error("{}:{line}: {column} is not finite: {value:?}", path.display())]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// Line of the row or header line.
        line: usize,
        /// The column, or `duration`.
        column: &'static str,
        /// The text.
        value: String,
    },
    /// An event that ends before it starts.
    #[error("{}:{line}: stop_time {stop} is before start_time {start}: {text:?}", path.display())]
    StopBeforeStart {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: usize,
        /// Start, seconds.
        start: f64,
        /// Stop, seconds.
        stop: f64,
        /// The row.
        text: String,
    },
    /// A sampling rate that is not positive and finite.
    #[error("sampling rate {0} Hz must be positive and finite")]
    BadRate(f64),
    /// A window or stride that is not at least one sample long.
    #[error("window {window_s} s every {stride_s} s at {fs} Hz: {reason}")]
    BadWindow {
        /// Window length, seconds.
        window_s: f64,
        /// Stride, seconds.
        stride_s: f64,
        /// Sampling rate, Hz.
        fs: f64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A per-sample label that is neither 0, 1 nor 255.
    #[error(
        "sample {index} has label {value}; labels are 0 (background), 1 (seizure) or 255 (unlabeled)"
    )]
    InvalidLabel {
        /// Sample index.
        index: usize,
        /// Its label.
        value: u8,
    },
}

impl LabelError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_json() {
        let cfg = LabelConfig::default();
        assert!(cfg.is_seizure("seiz") && cfg.is_seizure(" CPSZ ") && cfg.is_seizure("MySz"));
        assert!(!cfg.is_seizure("bckg") && !cfg.is_seizure("artf") && !cfg.is_seizure(""));
        assert_eq!(LabelConfig::from_json("{}").unwrap(), cfg);
        let only = LabelConfig::from_json(r#"{"seizure_labels": ["gnsz"]}"#).unwrap();
        assert!(only.is_seizure("GNSZ") && !only.is_seizure("seiz"));
        assert_eq!(only.files, cfg.files);
        let e = LabelConfig::from_json(r#"{"seizure": []}"#).unwrap_err();
        assert!(matches!(e, LabelError::InvalidConfig(_)), "{e}");
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
