//! The ingest: a corpus of EDF files into one store, in parallel, resumable.
//!
//! Each recording is read, montaged, preprocessed, labeled and committed on
//! its own ([`recording`]); a bounded rayon pool runs `jobs` of them at a time
//! ([`run`]); the index tables are rebuilt from every committed recording at
//! the end. Sources may be on object storage ([`fetch`]: staged to local files
//! ahead of the workers). Re-running continues: a committed recording whose source size,
//! mtime and config hash match is not redone. The same stages run distributed:
//! a [`Driver`] holds the store while [`ingest_batch`] runs batches of
//! recordings elsewhere (Dask tasks) as its delegates.

mod delegate;
mod discover;
mod driver;
mod fetch;
mod layout;
mod recording;
mod run;
mod source;
mod sources;

use crate::corpus::Corpus;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use delegate::{BatchResult, ingest_batch};
pub use discover::{discover, from_list};
pub use driver::{Driver, ingest};
pub use fetch::discover_remote;
pub use layout::{PathFields, PathLayout, path_fields};
pub use source::{RemoteFile, SourceFile};

use crate::store::SignalCodec;

/// How to run an ingest: one value that the local run, the driver of a
/// distributed one and its delegates take whole. Its serde form is
/// [`IngestOptionsForm`], the options as a user gives them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "IngestOptionsForm", into = "IngestOptionsForm")]
pub struct IngestOptions {
    /// Recordings processed at once (and so held in memory); 0 means one per
    /// core. A distributed ingest's driver rebuilds the index on this many
    /// threads; its delegates run one recording per task thread.
    pub jobs: usize,
    /// Empty an existing store and rebuild it.
    pub overwrite: bool,
    /// Queue behind another process writing the store instead of failing at once.
    pub wait: bool,
    /// Stop at the first failed recording.
    pub strict: bool,
    /// Encoding of the signal chunks.
    pub codec: SignalCodec,
    /// Ingest only the files in this list (one path per line, relative to the source).
    pub files: Option<PathBuf>,
    /// How split, patient and session are read from each path.
    pub layout: PathLayout,
    /// For a store at an `s3://` URL: the local staging folder (default: one
    /// per URL under the system's temporary folder).
    pub stage: Option<PathBuf>,
    /// The source's corpus; `None`: found from its recordings' names
    /// ([`Corpus::detect`]).
    pub corpus: Option<Corpus>,
}

/// [`IngestOptions`] as a user gives them (the Python `IngestOptions`, the
/// `brainbrr-ingest` flags), by the names Python uses: the job count as
/// `n_jobs`, the codec as a zstd level (none: raw), the layout as its pattern
/// (none: TUSZ). The one place those become the core's types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestOptionsForm {
    /// [`IngestOptions::jobs`].
    pub n_jobs: usize,
    /// [`IngestOptions::overwrite`].
    pub overwrite: bool,
    /// [`IngestOptions::wait`].
    pub wait: bool,
    /// [`IngestOptions::strict`].
    pub strict: bool,
    /// Compress the signal chunks with zstd at this level; `None`: raw.
    pub zstd_level: Option<i32>,
    /// [`IngestOptions::files`].
    pub files: Option<PathBuf>,
    /// A [`PathLayout::Pattern`]; `None`: [`PathLayout::Tusz`].
    pub layout: Option<String>,
    /// [`IngestOptions::stage`].
    pub stage: Option<PathBuf>,
    /// [`IngestOptions::corpus`].
    pub corpus: Option<Corpus>,
}

impl From<IngestOptionsForm> for IngestOptions {
    fn from(f: IngestOptionsForm) -> Self {
        Self {
            jobs: f.n_jobs,
            overwrite: f.overwrite,
            wait: f.wait,
            strict: f.strict,
            codec: f
                .zstd_level
                .map_or(SignalCodec::Raw, |level| SignalCodec::Zstd { level }),
            files: f.files,
            layout: f.layout.map_or(PathLayout::Tusz, PathLayout::Pattern),
            stage: f.stage,
            corpus: f.corpus,
        }
    }
}

impl From<IngestOptions> for IngestOptionsForm {
    fn from(o: IngestOptions) -> Self {
        Self {
            n_jobs: o.jobs,
            overwrite: o.overwrite,
            wait: o.wait,
            strict: o.strict,
            zstd_level: match o.codec {
                SignalCodec::Raw => None,
                SignalCodec::Zstd { level } => Some(level),
            },
            files: o.files,
            layout: match o.layout {
                PathLayout::Tusz => None,
                PathLayout::Pattern(p) => Some(p),
            },
            stage: o.stage,
            corpus: o.corpus,
        }
    }
}

/// Progress, reported as each recording finishes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Discovery is done.
    Started {
        /// Recordings found.
        found: usize,
        /// Of those, already committed with the same source and config.
        current: usize,
        /// EDF bytes to process.
        bytes: u64,
    },
    /// One recording is done.
    Recording {
        /// Path relative to the source.
        path: String,
        /// `ingested`, `skipped` or `failed`.
        outcome: &'static str,
        /// Why, for skipped and failed recordings.
        reason: Option<String>,
        /// Size of the EDF file.
        bytes: u64,
    },
    /// All recordings are done; the index is being rebuilt.
    Indexing {
        /// Committed recordings the index covers.
        recordings: usize,
    },
}

/// A warning: the path (or URL, or `""` for the store as a whole) and what looked wrong.
pub type Warning = (String, String);

/// What an ingest did, and what the store now holds. (A batch of a
/// distributed ingest returns one with only its recordings' fields filled.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// The store.
    pub store: PathBuf,
    /// Recordings found in the source.
    pub found: usize,
    /// Recordings committed by this run.
    pub ingested: usize,
    /// Recordings already committed and current, not redone.
    pub current: usize,
    /// Recordings left out for a documented reason: (path, reason).
    pub skipped: Vec<(String, String)>,
    /// Recordings that failed: (path, reason).
    pub failed: Vec<(String, String)>,
    /// What looked wrong in ingested recordings (annotations outside the
    /// recording, a path the layout cannot read) and in the store as a whole
    /// (a split without seizures): (path or `""`, warning).
    pub warnings: Vec<(String, String)>,
    /// Ctrl-C stopped the run; the store holds what was committed, the index is stale.
    pub cancelled: bool,
    /// Recordings in the store (all runs).
    pub recordings: usize,
    /// Hours of signal in the store.
    pub hours: f64,
    /// Windows in the index.
    pub windows: usize,
    /// Windows with any seizure sample.
    pub seizure_windows: usize,
    /// Windows of unlabeled recordings.
    pub unlabeled_windows: usize,
    /// Bytes on disk of the store.
    pub store_bytes: u64,
    /// EDF bytes processed by this run.
    pub source_bytes: u64,
    /// Wall time of this run, seconds.
    pub seconds: f64,
    /// The store's totals per split (`""`: recordings without one).
    pub splits: BTreeMap<String, SplitStats>,
    /// The same per corpus (`"tusz"`, `"chbmit"`, ...; `""` for recordings
    /// written before corpora were recorded), then per split.
    #[serde(default)]
    pub corpora: BTreeMap<String, BTreeMap<String, SplitStats>>,
}

/// The numbers a researcher checks first, for one split of the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    /// Recordings.
    pub recordings: usize,
    /// Distinct patients (recordings without a patient count as none).
    pub patients: usize,
    /// Hours of signal.
    pub hours: f64,
    /// Windows in the index.
    pub windows: usize,
    /// Windows with a seizure sample.
    pub seizure_windows: usize,
    /// Seizure events: maximal runs of seizure samples within one recording.
    pub seizure_events: usize,
    /// Seconds of seizure samples.
    pub seizure_seconds: f64,
    /// Recordings without annotation (every sample unlabeled).
    pub unlabeled_recordings: usize,
    /// Seconds of seizure samples per seizure type name.
    pub seizure_seconds_by_type: BTreeMap<String, f64>,
}

/// Why an ingest could not run or was stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The source folder or file list could not be read.
    #[error("{}: {source}", path.display())]
    Source {
        /// The folder or list.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `--strict`: the first failure stops the run.
    #[error("stopped at the first failure (strict): {reason}")]
    Strict {
        /// The failure.
        reason: String,
    },
    /// The config could not be turned into the store's JSON.
    #[error("config: {0}")]
    Config(String),
    /// The sources cannot be read as given: names that fit several corpora,
    /// two sources of one name, several sources where one is needed.
    #[error("{0}")]
    Sources(String),
    /// `--overwrite` would delete the corpus being ingested.
    #[error(
        "{}: the source lies inside the store {}; --overwrite would delete it (move the corpus out of the store)",
        corpus.display(),
        store.display()
    )]
    SourceInsideStore {
        /// The corpus root.
        corpus: PathBuf,
        /// The store.
        store: PathBuf,
    },
    /// A delegate (a distributed ingest's worker) was given a store that its
    /// driver's run does not ingest (any more).
    #[error(
        "{}: not being ingested by run {run} (its index is {state}): a distributed ingest's worker writes only while its driver holds the store",
        store.display()
    )]
    NotOurRun {
        /// The store.
        store: PathBuf,
        /// The run the delegate works for.
        run: String,
        /// The store's index state.
        state: String,
    },
    /// The thread pool could not be built.
    #[error("cannot start {jobs} worker threads: {reason}")]
    Pool {
        /// Threads asked for.
        jobs: usize,
        /// The reason.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_convert_once_and_round_trip_through_their_form() {
        let opts: IngestOptions = serde_json::from_str(
            r#"{"n_jobs": 3, "strict": true, "zstd_level": 5, "layout": "{split}/**", "files": "l.txt"}"#,
        )
        .expect("parses");
        assert_eq!(opts.jobs, 3);
        assert!(opts.strict && !opts.overwrite && !opts.wait);
        assert_eq!(opts.codec, SignalCodec::Zstd { level: 5 });
        assert_eq!(opts.layout, PathLayout::Pattern("{split}/**".to_owned()));
        assert_eq!(opts.files, Some(PathBuf::from("l.txt")));
        let again: IngestOptions =
            serde_json::from_str(&serde_json::to_string(&opts).expect("writes")).expect("parses");
        assert_eq!(again, opts);
        let defaults: IngestOptions = serde_json::from_str("{}").expect("parses");
        assert_eq!(defaults, IngestOptions::default());
        assert!(serde_json::from_str::<IngestOptions>(r#"{"jobs": 2}"#).is_err());
    }
}
