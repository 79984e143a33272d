//! Seizure labels: TUSZ annotation files, per-sample labels and types, and the window index.
//!
//! The ingest reads the annotations beside an EDF ([`read_recording_annotation`]:
//! the labels file, and the typed file the seizure types come from), turns them
//! into per-sample labels and seizure types of the preprocessed signal
//! ([`recording_samples`], or [`unlabeled`] when there is no file), reports what
//! looks wrong ([`RecordingAnnotation::warnings`]) and indexes the windows of
//! the recording ([`recording_index`]). Its seizure events
//! ([`seizure_events`]) are the reference a scorer compares with.
//! [`find_annotation`], [`parse_annotation`], [`sample_labels`] and
//! [`recording_labels`] are the binary-only steps.
//!
//! Per-sample labels are `u8`: [`BACKGROUND`] 0, [`SEIZURE`] 1, [`UNLABELED`]
//! 255. A recording without annotation is unlabeled, never background: treating
//! it as background would teach a model that its seizures are normal EEG.
//! Per-sample seizure types are the codes of [`TYPE_CODES`] (0 background, 1
//! seizure of unknown type, 2-11 the ten TUSZ types, 255 unlabeled).
//!
//! # Which labels are seizures
//! [`LabelConfig::classify`] decides for each row, ignoring case and blanks:
//! 1. a label in `seizure_labels` is a seizure (default: `seiz` and the ten TUSZ
//!    types `fnsz gnsz spsz cpsz absz tnsz cnsz tcsz atsz mysz`);
//! 2. else a label in `background_labels` (default: the non-seizure labels of
//!    TUH files, [`TUH_NON_SEIZURE_LABELS`]), or `bckg`, `seiz` or a TUSZ type
//!    left out of `seizure_labels` (a config may narrow the seizure set), is
//!    background;
//! 3. else the label is unknown, and `unknown_labels` decides: `fail` (the
//!    default: the file is an error naming its line and label), `background` or
//!    `seizure`. An unknown label is never silently background.

mod annotation;
mod channels;
mod classes;
mod events;
mod recording;
mod samples;
mod types;
mod window;

use std::io;
use std::path::{Path, PathBuf};

pub use annotation::{
    Annotations, DURATION_TOLERANCE_S, Event, Interval, Listed, ListedSeizure, Listing, SienaFile,
    SienaList, find_annotation, parse_annotation, parse_bids_events, parse_chbmit_summary,
    parse_seizeit_tsv, parse_siena_list, parse_subject_info,
};
pub use channels::{ChannelSeizure, channel_seizures};
pub use classes::{Classes, Vocabulary};
pub use events::{SeizureEvent, seizure_events};
pub use recording::{
    DISAGREE_TOLERANCE_S, LabelWarning, RecordingAnnotation, read_recording_annotation,
    recording_samples,
};
pub use samples::{
    BACKGROUND, SEIZURE, UNLABELED, recording_labels, sample_labels, sample_types, unlabeled,
};
pub use types::{
    FIRST_NON_TUSZ, SZCORE_NAMES, TYPE_CODES, TypedInterval, szcore_name, type_code, type_name,
};
pub use window::{RecordingIndex, Window, WindowSpec, majority_type, recording_index, windows};

use serde::{Deserialize, Serialize};

/// The labels of TUH files that are not (epileptic) seizures: background,
/// non-epileptic seizures (`nesz`), and artefact and other events.
pub const TUH_NON_SEIZURE_LABELS: [&str; 9] = [
    "bckg", "nesz", "artf", "eyem", "chew", "shiv", "musc", "elpp", "elst",
];

/// Which annotation files to read and which of their labels are seizures.
///
/// Part of the store's config hash. The default, as JSON:
/// ```json
/// {"seizure_labels": ["seiz", "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz"],
///  "background_labels": ["bckg", "nesz", "artf", "eyem", "chew", "shiv", "musc", "elpp", "elst"],
///  "unknown_labels": "fail",
///  "files": [".csv_bi", ".csv", ".tse_bi", ".tse"]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelConfig {
    /// Labels that mark a seizure, matched case-insensitively.
    pub seizure_labels: Vec<String>,
    /// Labels known not to be seizures, matched case-insensitively (`bckg` and
    /// the TUSZ seizure labels missing from `seizure_labels` are background
    /// whatever this list holds).
    pub background_labels: Vec<String>,
    /// What a label in neither list is.
    pub unknown_labels: UnknownLabels,
    /// Annotation file extensions, in order of preference, tried beside the EDF.
    /// The first present gives the labels; when it is binary (`_bi`), the first
    /// present typed one gives the seizure types.
    pub files: Vec<String>,
}

/// What a label that is neither a seizure nor a known non-seizure label becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownLabels {
    /// The annotation file is an error ([`LabelError::UnknownLabel`]).
    #[default]
    Fail,
    /// Background.
    Background,
    /// A seizure of unknown type (type code 1, `seiz`).
    Seizure,
}

impl Default for LabelConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Self {
            // TUSZ's seizure labels: code 0 is background. The types of other
            // corpora are seizures through their SzCORE ancestors (`classify`).
            seizure_labels: TYPE_CODES
                .iter()
                .filter(|(code, ..)| (SEIZURE..FIRST_NON_TUSZ).contains(code))
                .map(|(_, name, _)| (*name).to_owned())
                .collect(),
            background_labels: s(&TUH_NON_SEIZURE_LABELS),
            unknown_labels: UnknownLabels::Fail,
            files: s(&[".csv_bi", ".csv", ".tse_bi", ".tse"]),
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

    /// Whether `label` (surrounding blanks ignored) is a seizure label; an
    /// unknown label is one only with `unknown_labels: "seizure"`.
    pub fn is_seizure(&self, label: &str) -> bool {
        self.classify(label).is_some_and(|code| code != BACKGROUND)
    }

    /// The type code of `label` (see the module doc): [`BACKGROUND`], the
    /// label's code in [`TYPE_CODES`] for a seizure (1, `seiz`, for seizure
    /// labels outside the table), or `None` for an unknown label under
    /// `unknown_labels: "fail"`.
    pub fn classify(&self, label: &str) -> Option<u8> {
        let label = label.trim();
        let listed =
            |list: &[String], name: &str| list.iter().any(|s| s.trim().eq_ignore_ascii_case(name));
        let code = type_code(label);
        if types::lineage(label).any(|name| listed(&self.seizure_labels, name)) {
            return Some(code.filter(|&c| c != BACKGROUND).unwrap_or(SEIZURE));
        }
        if code.is_some() || listed(&self.background_labels, label) {
            return Some(BACKGROUND);
        }
        match self.unknown_labels {
            UnknownLabels::Fail => None,
            UnknownLabels::Background => Some(BACKGROUND),
            UnknownLabels::Seizure => Some(SEIZURE),
        }
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
    /// A line of an annotation file that does not say what its format needs.
    #[error("{}:{line}: {problem}: {text:?}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// What is wrong.
        problem: String,
        /// The line's text.
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
    /// A label that is neither a seizure label nor a known non-seizure label,
    /// with `unknown_labels: "fail"`.
    #[error(
        "{}:{line}: unknown label {label:?}, neither a seizure nor a known non-seizure label (the label config's `unknown_labels` can make it \"background\" or \"seizure\"): {text:?}",
        path.display()
    )]
    UnknownLabel {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: usize,
        /// The label, as written.
        label: String,
        /// The row.
        text: String,
    },
    /// A `.tse`/`.tse_bi` file whose first line is not its `version = ...` line.
    #[error(
        "{}:{line}: expected the line `version = tse_v1.0.0`, found {}",
        path.display(),
        found.as_ref().map_or_else(|| "the end of the file".to_owned(), |t| format!("{t:?}"))
    )]
    MissingVersion {
        /// The file.
        path: PathBuf,
        /// Line where the version line was expected.
        line: usize,
        /// That line's text; `None` at the end of the file.
        found: Option<String>,
    },
    /// A file without a single event row: TUSZ files list every event of their
    /// recording, background included, so an empty one was cut or never written.
    #[error(
        "{}:{line}: no event rows: an annotation file lists the events of its whole recording, so this one is truncated or empty",
        path.display()
    )]
    NoEvents {
        /// The file.
        path: PathBuf,
        /// Line just past the end of the file.
        line: usize,
    },
    /// Rows that tile the time (a channel with background rows) but end before
    /// the recording does: the file was cut, and what followed is lost.
    #[error(
        "{}:{line}: the rows{} end at {stop} s, before the end of the recording at {end_s} s ({}): the file looks truncated",
        path.display(),
        channel.as_ref().map(|c| format!(" of channel {c:?}")).unwrap_or_default(),
        if *stated { "its stated duration" } else { "its samples" }
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Line of the row that ends last.
        line: usize,
        /// The channel, in a file that has a channel column.
        channel: Option<String>,
        /// Where its rows end, seconds.
        stop: f64,
        /// Where the recording ends, seconds.
        end_s: f64,
        /// Whether `end_s` is the file's `# duration` (else the recording's samples).
        stated: bool,
    },
    /// An annotation path that exists but is not a file (a folder, say).
    #[error("{}: is {what}, not an annotation file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is: `a directory`, `not a regular file`.
        what: &'static str,
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

/// A fresh, empty directory for one test.
#[cfg(test)]
pub(crate) fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brainbrr-labels-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `text` written to a file named `name`, in a fresh folder of its own (the
/// tests run in parallel), for one test.
#[cfg(test)]
pub(crate) fn tmp_file(name: &str, text: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = tmp_dir(&format!("file-{}", N.fetch_add(1, Ordering::Relaxed))).join(name);
    std::fs::write(&path, text).unwrap();
    path
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

    const TUSZ_TYPES: [&str; 10] = [
        "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz",
    ];

    /// Regression: `cnsz` and `atsz` were missing from the default seizure
    /// labels, so clonic and atonic seizures were stored as background.
    #[test]
    fn every_tusz_seizure_label_is_a_seizure_in_any_case() {
        let cfg = LabelConfig::default();
        for label in TUSZ_TYPES.iter().chain(&["seiz"]) {
            for spelled in [
                label.to_string(),
                label.to_ascii_uppercase(),
                format!(" {label}\t"),
            ] {
                assert!(cfg.is_seizure(&spelled), "{spelled:?}");
                assert_eq!(cfg.classify(&spelled), type_code(label), "{spelled:?}");
            }
        }
        assert!(cfg.is_seizure("cnsz") && cfg.is_seizure("ATSZ"));
        assert_eq!(
            (cfg.classify("cnsz"), cfg.classify("atsz")),
            (Some(8), Some(10))
        );
    }

    #[test]
    fn known_non_seizure_labels_are_background_and_others_unknown() {
        let cfg = LabelConfig::default();
        for label in TUH_NON_SEIZURE_LABELS {
            assert_eq!(cfg.classify(label), Some(BACKGROUND), "{label}");
            assert_eq!(cfg.classify(&label.to_ascii_uppercase()), Some(BACKGROUND));
        }
        for label in ["", "spsw", "null", "bckg_x", "seizure", "cpsz2", "\u{fffd}"] {
            assert_eq!(cfg.classify(label), None, "{label:?}");
            assert!(!cfg.is_seizure(label));
        }
        let with = |unknown_labels| LabelConfig {
            unknown_labels,
            ..LabelConfig::default()
        };
        assert_eq!(
            with(UnknownLabels::Background).classify("spsw"),
            Some(BACKGROUND)
        );
        assert_eq!(with(UnknownLabels::Seizure).classify("spsw"), Some(SEIZURE));
        assert!(with(UnknownLabels::Seizure).is_seizure("spsw"));
        // Known labels do not depend on the policy.
        assert_eq!(
            with(UnknownLabels::Seizure).classify("bckg"),
            Some(BACKGROUND)
        );
        assert_eq!(with(UnknownLabels::Background).classify("cnsz"), Some(8));
    }

    #[test]
    fn the_lists_of_a_config_decide() {
        // A narrowed seizure set: the TUSZ labels left out are background, not unknown.
        let only = LabelConfig::from_json(r#"{"seizure_labels": ["gnsz"]}"#).unwrap();
        assert_eq!(only.classify("gnsz"), Some(3));
        assert_eq!(
            (only.classify("seiz"), only.classify("cnsz")),
            (Some(0), Some(0))
        );
        // A custom seizure label is a seizure of unknown type; bckg listed as seizure is too.
        let custom = LabelConfig::from_json(r#"{"seizure_labels": ["ARTF", "bckg"]}"#).unwrap();
        assert_eq!(
            (custom.classify("artf"), custom.classify("BCKG")),
            (Some(1), Some(1))
        );
        // Extra known background labels; bckg stays known whatever the list.
        let bg = LabelConfig::from_json(r#"{"background_labels": ["SPSW", "gped"]}"#).unwrap();
        assert_eq!(
            (bg.classify("spsw"), bg.classify("bckg")),
            (Some(0), Some(0))
        );
        assert_eq!(bg.classify("artf"), None);
    }

    #[test]
    fn default_json_is_stable() {
        let cfg = LabelConfig::default();
        // The store hashes this: a change here changes every store's config hash.
        assert_eq!(
            serde_json::to_string(&cfg).unwrap(),
            concat!(
                r#"{"seizure_labels":["seiz","fnsz","gnsz","spsz","cpsz","absz","tnsz","cnsz","tcsz","atsz","mysz"],"#,
                r#""background_labels":["bckg","nesz","artf","eyem","chew","shiv","musc","elpp","elst"],"#,
                r#""unknown_labels":"fail","files":[".csv_bi",".csv",".tse_bi",".tse"]}"#
            )
        );
        for (json, policy) in [
            (r#"{"unknown_labels": "fail"}"#, UnknownLabels::Fail),
            (
                r#"{"unknown_labels": "background"}"#,
                UnknownLabels::Background,
            ),
            (r#"{"unknown_labels": "seizure"}"#, UnknownLabels::Seizure),
        ] {
            let parsed = LabelConfig::from_json(json).unwrap();
            assert_eq!(parsed.unknown_labels, policy);
            assert_eq!(parsed.files, cfg.files);
        }
        let e = LabelConfig::from_json(r#"{"unknown_labels": "ignore"}"#).unwrap_err();
        assert!(matches!(e, LabelError::InvalidConfig(_)), "{e}");
        let back = LabelConfig::from_json(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }
}
