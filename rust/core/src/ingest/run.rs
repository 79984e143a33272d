//! The ingest loop: discovery, the bounded pool, resume, the index rebuild.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::discover::{SourceFile, discover, from_list};
use super::recording::{Outcome, fingerprint, ingest_one};
use super::{Event, IngestError, IngestOptions, Summary};
use crate::config::PreprocessConfig;
use crate::labels::{SEIZURE, UNLABELED, WindowSpec, windows};
use crate::store::{
    FailureRows, IndexTables, RecordingMeta, RecordingRows, RootMeta, Store, TMP_DIR, WindowRows,
};
use crate::{Error, Result};

/// Ingests the EDF files under `source` into the store at `out`.
///
/// `cancel` stops the run between stages of a recording (Ctrl-C); what was
/// committed stays, and the index is left marked incomplete. `on_event` is
/// called from worker threads as recordings finish.
///
/// # Errors
/// An invalid config, an unreadable source, a store built with another config
/// (named differences; the store is untouched), store I/O errors, and with
/// `strict` the first failed recording.
pub fn ingest(
    source: &Path,
    out: &Path,
    cfg: &PreprocessConfig,
    opts: &IngestOptions,
    cancel: &AtomicBool,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<Summary> {
    let t0 = Instant::now();
    cfg.validate()?;
    let sources = match &opts.files {
        Some(list) => from_list(source, list).map_err(|e| IngestError::Source {
            path: list.clone(),
            source: e,
        })?,
        None => discover(source).map_err(|e| IngestError::Source {
            path: source.to_owned(),
            source: e,
        })?,
    };
    let hash = cfg.hash();
    let config = serde_json::from_str(&cfg.to_canonical_json())
        .map_err(|e| IngestError::Config(e.to_string()))?;
    let root = RootMeta::new(
        config,
        hash.clone(),
        cfg.montage.channels.clone(),
        cfg.target_fs,
    );
    let mut store = Store::open_or_create(out, root, opts.overwrite)?.with_signal_codec(opts.codec);
    store.set_index_complete(false, serde_json::json!({ "state": "ingesting" }))?;
    store.clean_temporaries()?;

    let committed = store.committed()?;
    let is_current = |s: &SourceFile| {
        committed.get(&s.rid).is_some_and(|m| {
            m.config_hash == hash && fingerprint(&s.path).ok() == Some((m.size, m.mtime_ns))
        })
    };
    let (current, todo): (Vec<&SourceFile>, Vec<&SourceFile>) =
        sources.iter().partition(|s| is_current(s));
    // Largest first: the recordings that finish last are then the shortest,
    // so no worker is left alone with a long one at the end.
    let mut queue: Vec<(&SourceFile, u64)> = todo
        .iter()
        .map(|s| (*s, fingerprint(&s.path).map_or(0, |f| f.0)))
        .collect();
    queue.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    let bytes: u64 = queue.iter().map(|&(_, b)| b).sum();
    on_event(&Event::Started {
        found: sources.len(),
        current: current.len(),
        bytes,
    });

    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("brainbrr-ingest-{i}"))
        .build()
        .map_err(|e| IngestError::Pool {
            jobs,
            reason: e.to_string(),
        })?;
    let results = Mutex::new(Summary {
        store: out.to_owned(),
        found: sources.len(),
        current: current.len(),
        ..Summary::default()
    });
    let stop = AtomicBool::new(false);
    let first_failure: Mutex<Option<String>> = Mutex::new(None);
    // Each worker takes the next recording when done with one: at most `jobs`
    // recordings are in flight, each held a few channels at a time.
    let next = AtomicUsize::new(0);
    let work = |src: &SourceFile, bytes: u64| {
        let outcome = ingest_one(src, cfg, &hash, &store, cancel);
        let (name, reason) = match &outcome {
            Outcome::Ingested => ("ingested", None),
            Outcome::Skipped(r) => ("skipped", Some(r.clone())),
            Outcome::Failed(r) => ("failed", Some(r.clone())),
            Outcome::Cancelled => return,
        };
        // A source that changed and now fails (or is skipped) must not leave
        // its stale earlier version in the store.
        if !matches!(outcome, Outcome::Ingested) && committed.contains_key(&src.rid) {
            let _ = store.remove_recording(&src.rid);
        }
        if let Ok(mut s) = results.lock() {
            s.source_bytes += bytes;
            match outcome {
                Outcome::Ingested => s.ingested += 1,
                Outcome::Skipped(r) => s.skipped.push((src.rel.clone(), r)),
                Outcome::Failed(r) => {
                    if opts.strict
                        && !stop.swap(true, Ordering::Relaxed)
                        && let Ok(mut first) = first_failure.lock()
                    {
                        first.get_or_insert_with(|| r.clone());
                    }
                    s.failed.push((src.rel.clone(), r));
                }
                Outcome::Cancelled => {}
            }
        }
        on_event(&Event::Recording {
            path: src.rel.clone(),
            outcome: name,
            reason,
            bytes,
        });
    };
    pool.broadcast(|_| {
        while let Some(&(src, bytes)) = queue.get(next.fetch_add(1, Ordering::Relaxed)) {
            if cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                break;
            }
            work(src, bytes);
        }
    });
    let mut summary = results.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.skipped.sort();
    summary.failed.sort();
    if let (true, Some((_, reason))) = (opts.strict, summary.failed.first()) {
        return Err(IngestError::Strict {
            reason: reason.clone(),
        }
        .into());
    }
    if cancel.load(Ordering::Relaxed) {
        summary.cancelled = true;
        summary.seconds = t0.elapsed().as_secs_f64();
        remove_empty_tmp(out);
        return Ok(summary);
    }

    let committed = store.committed()?;
    on_event(&Event::Indexing {
        recordings: committed.len(),
    });
    let tables = pool.install(|| build_index(&store, &committed, cfg, &summary))?;
    summary.recordings = committed.len();
    summary.hours = committed
        .values()
        .map(|m| m.n_samples as f64 / m.fs)
        .sum::<f64>()
        / 3600.0;
    summary.windows = tables.windows.label.len();
    summary.seizure_windows = tables
        .windows
        .label
        .iter()
        .filter(|&&l| l == SEIZURE)
        .count();
    summary.unlabeled_windows = tables
        .windows
        .label
        .iter()
        .filter(|&&l| l == UNLABELED)
        .count();
    store.write_index(&tables)?;
    summary.store_bytes = dir_size(out);
    summary.seconds = t0.elapsed().as_secs_f64();
    let as_json = serde_json::to_value(&summary).unwrap_or_default();
    store.set_index_complete(true, as_json)?;
    remove_empty_tmp(out);
    Ok(summary)
}

/// zarr-python warns about any folder in the store that is not a Zarr node;
/// the temporaries' folder is only needed while recordings are being written.
fn remove_empty_tmp(out: &Path) {
    // Fails harmlessly when a concurrent writer still has temporaries in it.
    let _ = std::fs::remove_dir(out.join(TMP_DIR));
}

/// The index tables of every committed recording, windows computed from the stored labels.
fn build_index(
    store: &Store,
    committed: &std::collections::BTreeMap<String, RecordingMeta>,
    cfg: &PreprocessConfig,
    summary: &Summary,
) -> Result<IndexTables> {
    let spec = WindowSpec {
        window_s: cfg.window_s,
        stride_s: cfg.stride_s,
    };
    let (window_samples, stride_samples) = spec.samples(cfg.target_fs)?;
    let per_recording: Vec<Vec<crate::labels::Window>> = committed
        .par_iter()
        .map(|(rid, m)| Ok(windows(&store.read_labels(rid)?, m.fs, &spec)?))
        .collect::<Result<_, Error>>()?;
    let mut recordings = RecordingRows::default();
    let mut rows = WindowRows::default();
    for (k, ((rid, m), ws)) in committed.iter().zip(&per_recording).enumerate() {
        recordings.rid.push(rid.clone());
        recordings.path.push(m.source.clone());
        recordings.split.push(m.split.clone().unwrap_or_default());
        recordings
            .patient
            .push(m.patient.clone().unwrap_or_default());
        recordings
            .session
            .push(m.session.clone().unwrap_or_default());
        recordings.n_samples.push(m.n_samples as i64);
        recordings.n_windows.push(ws.len() as i64);
        recordings.window_offset.push(rows.start.len() as i64);
        for w in ws {
            rows.recording.push(k as i32);
            rows.start.push(w.start as i64);
            rows.label.push(w.label);
            rows.seizure_fraction.push(w.seizure_fraction);
        }
    }
    let mut failures = FailureRows::default();
    for (path, reason) in &summary.failed {
        failures.path.push(path.clone());
        failures.reason.push(reason.clone());
    }
    for (path, reason) in &summary.skipped {
        failures.path.push(path.clone());
        failures.reason.push(format!("skipped: {reason}"));
    }
    Ok(IndexTables {
        window_samples: window_samples as u64,
        stride_samples: stride_samples as u64,
        recordings,
        windows: rows,
        failures,
    })
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
