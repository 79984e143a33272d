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

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::discover::SourceFile;
use super::run::{Transfers, root_meta, run_pool, worker_pool};
use super::{Event, IngestError, IngestOptions, Summary};
use crate::Result;
use crate::config::PreprocessConfig;
use crate::store::{Store, StoreError, json_diff};

/// How often a delegate checks that its run still owns the store.
const WATCH: Duration = Duration::from_millis(250);

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

/// Ingests the recordings `batch` (paths below the corpus root `source`, with
/// their sizes) into the store at `out`, as a delegate of the driver of run
/// `run`, `opts.jobs` at a time (1: on the calling thread, which keeps its
/// work buffers from batch to batch). `opts.layout`, `opts.codec` and
/// `opts.strict` apply as in a local ingest; the other options are the driver's.
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
    batch: &[(PathBuf, u64)],
    opts: &IngestOptions,
    cancel: &AtomicBool,
) -> Result<BatchResult> {
    cfg.validate()?;
    let store = Store::open(out)?.with_signal_codec(opts.codec);
    let differences = json_diff(&store.root_meta().identity(), &root_meta(cfg)?.identity());
    if !differences.is_empty() {
        return Err(StoreError::ConfigMismatch {
            path: out.to_owned(),
            differences,
        }
        .into());
    }
    check_run(out, run, &store.root_meta().index)?;
    let sources: Vec<SourceFile> = batch
        .iter()
        .map(|(path, _)| SourceFile::new(source, path.clone(), &opts.layout))
        .collect();
    let queue: Vec<_> = sources
        .iter()
        .zip(batch)
        .map(|(s, &(_, b))| (s, b))
        .collect();
    let pool = if opts.jobs == 1 {
        None
    } else {
        Some(worker_pool(opts.jobs)?)
    };
    let (stop, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let events = Mutex::new(Vec::new());
    let mut summary = Summary::default();
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::park_timeout(WATCH);
                let ours = Store::open(out).map(|s| check_run(out, run, &s.root_meta().index));
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
        run_pool(
            pool.as_ref(),
            &store,
            &queue,
            &Transfers::default(),
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
