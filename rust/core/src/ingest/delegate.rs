//! A delegate of the driver: one batch of recordings ingested into a store
//! that another process (the [`super::Driver`], maybe on another machine)
//! holds the writer lock of. A Dask task of a distributed ingest runs this.
//!
//! The delegate takes no lock. It writes only into a store built with its
//! config and being ingested by its driver's run (the run id in the root),
//! and it re-reads the root while it works: when the driver finished, was
//! interrupted, or a re-run replaced it (the driver was killed), the batch
//! stops between the stages of a recording, leaving nothing behind. Every
//! recording is committed by an atomic rename that replaces, so a batch run
//! twice (Dask retries the tasks of a killed worker) writes the same store.
//! On object storage the commit is the recording's marker object, uploaded
//! after its arrays (see [`crate::store::Publisher`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::fetch::{Stager, source_url};
use super::run::{Transfers, root_meta, run_pool};
use super::source::{RemoteFile, SourceFile};
use super::{Event, IngestError, IngestOptions, Summary};
use crate::Result;
use crate::config::PreprocessConfig;
use crate::remote::Bucket;
use crate::store::{Publisher, RootMeta, Store, StoreError, json_diff};

/// How often a delegate checks that its run still owns the store: a local
/// root is cheap to re-read, a remote one costs a request.
const WATCH: Duration = Duration::from_millis(250);
const WATCH_REMOTE: Duration = Duration::from_secs(1);

/// What one batch did.
#[derive(Debug, Serialize)]
pub struct BatchResult {
    /// Its recordings' outcomes: `ingested`, `skipped`, `failed` (with
    /// reasons), `warnings`, `source_bytes`, and `cancelled` when the run
    /// stopped owning the store before the batch was done. The other fields
    /// are left at zero: the driver fills them.
    pub summary: Summary,
    /// The progress events of its recordings, in the order they finished.
    pub events: Vec<Event>,
}

/// One recording of a batch, as the driver's queue has it: its path (a URL
/// for a remote source), its size in bytes, and for a remote source its objects.
pub type Task = (PathBuf, u64, Option<RemoteFile>);

/// Ingests the recordings `batch` (below the corpus root `source`, a folder or
/// an `s3://` URL) into the store at `out` (a folder every worker sees, or an
/// `s3://` URL), as a delegate of the driver of run `run`, one at a time on
/// the calling thread (a Dask worker runs one task per thread; the thread
/// keeps its work buffers from batch to batch). `opts` are the run's:
/// `opts.layout`, `opts.codec` and `opts.strict` apply as in a local ingest;
/// the others are the driver's.
///
/// Remote sources are downloaded a few ahead into this machine's temporary
/// folder. A remote store is written as a local ingest writes one: into a
/// staging store (here, in the temporary folder) whose recordings are
/// published one by one; the driver rebuilds the index from the bucket.
///
/// # Errors
/// An invalid config, a store that cannot be opened, was built with another
/// config ([`StoreError::ConfigMismatch`]), or is not being ingested by `run`
/// ([`IngestError::NotOurRun`]). A recording that fails (its source cannot
/// be read from here, say) is an outcome, not an error.
pub fn ingest_batch(
    source: &Path,
    out: &Path,
    cfg: &PreprocessConfig,
    run: &str,
    batch: &[Task],
    opts: &IngestOptions,
    cancel: &AtomicBool,
) -> Result<BatchResult> {
    cfg.validate()?;
    let tasks = crate::tmp::private("brainbrr-tasks").map_err(|e| IngestError::Source {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let work = WorkDir::new(&tasks, run);
    let publisher = match source_url(out)? {
        Some(url) => Some(Publisher::delegate(&url, &work.0.join("stage"))?),
        None => None,
    };
    let store_path = publisher.as_ref().map_or(out, Publisher::stage);
    let store = Store::open(store_path)?.with_signal_codec(opts.codec);
    let differences = json_diff(&store.root_meta().identity(), &root_meta(cfg)?.identity());
    if !differences.is_empty() {
        return Err(StoreError::ConfigMismatch {
            path: out.to_owned(),
            differences,
        }
        .into());
    }
    check_run(out, run, &store.root_meta().index)?;
    let bucket = match source_url(source)? {
        Some(url) => Some(Bucket::open(&url)?),
        None => None,
    };
    let sources = batch
        .iter()
        .map(|task| task_source(source, bucket.as_ref(), task, opts))
        .collect::<Result<Vec<_>>>()?;
    let queue: Vec<_> = sources
        .iter()
        .zip(batch)
        .map(|(s, &(_, b, _))| (s, b))
        .collect();
    let stager = Stager::start(bucket, work.0.join("sources"), &queue, 1)?;
    // The root as it is now, where the driver writes it.
    let root_now = || -> std::result::Result<RootMeta, StoreError> {
        match &publisher {
            Some(p) => p.root(),
            None => Store::open(out).map(|s| s.root_meta().clone()),
        }
    };
    let watch = if publisher.is_some() {
        WATCH_REMOTE
    } else {
        WATCH
    };
    let (stop, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let events = Mutex::new(Vec::new());
    let mut summary = Summary::default();
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::park_timeout(watch);
                let ours = root_now().map(|root| check_run(out, run, &root.index));
                if cancel.load(Ordering::Relaxed) || !matches!(ours, Ok(Ok(()))) {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        });
        let on_event = |e: &Event| {
            if let Ok(mut events) = events.lock() {
                events.push(e.clone());
            }
        };
        let hash = cfg.hash();
        let transfers = Transfers {
            stager: stager.as_ref(),
            publisher: publisher.as_ref(),
        };
        run_pool(
            None,
            &store,
            &queue,
            &transfers,
            cfg,
            &hash,
            opts.strict,
            &stop,
            &on_event,
            &mut summary,
        );
        done.store(true, Ordering::Relaxed);
        watcher.thread().unpark();
    });
    summary.cancelled = stop.load(Ordering::Relaxed);
    let events = events.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(BatchResult { summary, events })
}

/// The source of one task: a file below `source`, or the objects of a
/// recording below the URL whose bucket is `bucket`.
fn task_source(
    source: &Path,
    bucket: Option<&Bucket>,
    (path, _, remote): &Task,
    opts: &IngestOptions,
) -> Result<SourceFile> {
    let not_below = || IngestError::Source {
        path: path.clone(),
        source: io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a recording below {}", source.display()),
        ),
    };
    // The driver resolved the corpus; its options say which.
    let corpus = opts.corpus.unwrap_or_default();
    match (bucket, remote) {
        (None, None) => {
            Ok(SourceFile::new(source, path.clone(), &opts.layout).in_corpus(corpus, &opts.layout))
        }
        (Some(bucket), Some(remote)) => Ok(remote
            .clone()
            .source(bucket.url(), &opts.layout)
            .ok_or_else(not_below)?
            .in_corpus(corpus, &opts.layout)),
        _ => Err(not_below().into()),
    }
}

/// This batch's own temporary folder (its staged sources and store), removed
/// when the batch ends. Local to the worker's machine: staged files never
/// cross a shared file system. The folders of processes no longer running (a
/// worker killed mid-task) are removed by the next batch on the machine
/// ([`crate::tmp::process_folder`]).
struct WorkDir(PathBuf);

impl WorkDir {
    /// A new folder's path below `parent` (made by its first user).
    fn new(parent: &Path, run: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        Self(crate::tmp::process_folder(parent, &format!("{n}-{run}")))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the root's `index` (as read) says run `run` is ingesting the store.
fn check_run(out: &Path, run: &str, index: &Value) -> Result<()> {
    let field = |key| index.get(key).and_then(Value::as_str);
    if field("state") == Some("ingesting") && field("run") == Some(run) {
        return Ok(());
    }
    let state = match field("state") {
        Some(state) => state,
        None if index.get("complete") == Some(&Value::Bool(true)) => "complete",
        None => "unknown",
    };
    Err(IngestError::NotOurRun {
        store: out.to_owned(),
        run: run.to_owned(),
        state: state.to_owned(),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_folder_is_this_process_and_is_removed_when_the_batch_ends() {
        let parent =
            std::env::temp_dir().join(format!("brainbrr-test-tasks-{}", std::process::id()));
        let work = WorkDir::new(&parent, "r1");
        let name = work
            .0
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(name.starts_with(&format!("{}@", std::process::id())) && name.ends_with("-r1"));
        std::fs::create_dir_all(&work.0).expect("mkdir");
        let path = work.0.clone();
        drop(work);
        assert!(!path.exists(), "removed when the batch ends");
        std::fs::remove_dir_all(&parent).expect("cleanup");
    }

    #[test]
    fn only_the_ingesting_run_owns_the_store() {
        let out = Path::new("s.zarr");
        let ours = json!({ "state": "ingesting", "run": "r1", "complete": false });
        assert!(check_run(out, "r1", &ours).is_ok());
        for (index, state) in [
            (
                json!({ "state": "ingesting", "run": "r2", "complete": false }),
                "ingesting",
            ),
            (
                json!({ "state": "interrupted", "complete": false }),
                "interrupted",
            ),
            (json!({ "complete": true, "recordings": 3 }), "complete"),
            (
                json!({ "state": "ingesting", "complete": false }),
                "ingesting",
            ),
        ] {
            let e = check_run(out, "r1", &index)
                .expect_err("not r1's")
                .to_string();
            assert!(e.contains("run r1") && e.contains(state), "{e}");
        }
    }
}
