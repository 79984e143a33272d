//! The stages of an ingest, which a [`super::Driver`] (or a delegate) runs in
//! order after the sources (`sources.rs`): the store under its lock, resume,
//! the bounded pool, the index rebuild. Nothing here drives; nothing here knows the driver.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::fetch::{Stager, source_url};
use super::recording::{Outcome, ingest_one};
use super::source::SourceFile;
use super::{Event, IngestError, IngestOptions, SplitStats, Summary};
use crate::config::PreprocessConfig;
use crate::labels::{
    RecordingIndex, SEIZURE, UNLABELED, WindowSpec, recording_index, seizure_events, type_name,
};
use crate::store::Publisher;
use crate::store::{
    ChannelSeizureRows, FailureKind, FailureRows, IndexTables, RecordingMeta, RecordingRows,
    RootMeta, Store, StoreError, WindowRows,
};
use crate::{Error, Result};

/// The object-storage side of a run: remote sources staged ahead, a remote
/// store published to. Empty for local paths.
#[derive(Default)]
pub(super) struct Transfers<'a> {
    pub(super) stager: Option<&'a Stager<'a>>,
    pub(super) publisher: Option<&'a Publisher>,
}

/// The store, created or opened (or emptied, with `overwrite`) under its writer
/// lock, marked incomplete, and being ingested by `run`, until the index is
/// rebuilt. A store at an `s3://` URL is written through a local staging
/// store, under the remote store's lease, by the returned [`Publisher`].
pub(super) fn open_store(
    sources: &[PathBuf],
    out: &Path,
    cfg: &PreprocessConfig,
    opts: &IngestOptions,
    run: &str,
) -> Result<(Store, Option<Publisher>)> {
    if let Some(url) = source_url(out)? {
        let publisher = Publisher::open(&url, opts.stage.as_deref(), opts.overwrite, opts.wait)?;
        let mut store =
            Store::open_or_create(publisher.stage(), root_meta(cfg)?, false, opts.wait)?
                .with_signal_codec(opts.codec);
        store.set_index_complete(false, ingesting(run))?;
        publisher.publish_root()?;
        return Ok((store, Some(publisher)));
    }
    if let Some(source) = sources.iter().find(|s| opts.overwrite && is_inside(s, out)) {
        return Err(IngestError::SourceInsideStore {
            corpus: source.clone(),
            store: out.to_owned(),
        }
        .into());
    }
    let mut store = Store::open_or_create(out, root_meta(cfg)?, opts.overwrite, opts.wait)?
        .with_signal_codec(opts.codec);
    store.set_index_complete(false, ingesting(run))?;
    Ok((store, None))
}

/// The root metadata of a store built with `cfg`.
pub(super) fn root_meta(cfg: &PreprocessConfig) -> Result<RootMeta> {
    let config = serde_json::from_str(&cfg.to_canonical_json())
        .map_err(|e| IngestError::Config(e.to_string()))?;
    let channels = cfg
        .montage
        .output_channels()
        .map_err(|e| IngestError::Config(e.to_string()))?;
    Ok(RootMeta::new(config, cfg.hash(), channels, cfg.target_fs))
}

/// The root's `index` while run `run` ingests (what delegates check).
fn ingesting(run: &str) -> serde_json::Value {
    serde_json::json!({ "state": "ingesting", "run": run })
}

/// Whether `inner` is `outer` or lies below it, links resolved (`outer` may not exist yet).
fn is_inside(inner: &Path, outer: &Path) -> bool {
    match (inner.canonicalize(), outer.canonicalize()) {
        (Ok(inner), Ok(outer)) => inner.starts_with(outer),
        _ => false,
    }
}

/// How many sources are current (committed from the same file and config),
/// and the others with their sizes, largest first: the recordings that finish
/// last are then the shortest, so no worker is left alone with a long one.
pub(super) fn plan<'s>(
    store: &Store,
    sources: &'s [SourceFile],
) -> Result<(usize, Vec<(&'s SourceFile, u64)>)> {
    let committed = store.committed()?;
    // One store names its recordings one way: with their sources' names when
    // it was built from several sources, else without.
    if let Some((s, (rel, _))) = sources.iter().find_map(|s| {
        let other = s.other_naming.as_ref()?;
        committed.contains_key(&other.1).then_some((s, other))
    }) {
        let how = if s.rel.len() > rel.len() {
            "one source"
        } else {
            "several sources"
        };
        return Err(IngestError::Sources(format!(
            "{}: the store holds this recording as {rel:?}, from an ingest of {how}; ingest the sources as that run did (one alone, or the several together), or rebuild with --overwrite",
            s.rel
        ))
        .into());
    }
    let mut queue = Vec::new();
    for s in sources {
        let print = s.fingerprint().ok();
        let current = match committed.get(&s.rid) {
            Some(m) => {
                store.root_meta().same_signals(&m.config_hash)
                    && print
                        .as_ref()
                        .is_some_and(|p| p.unchanged_since(&m.fingerprint()))
                    // One left incomplete by an earlier run is redone.
                    && store.incomplete_recording(&s.rid)?.is_none()
            }
            None => false,
        };
        if !current {
            queue.push((s, print.map_or(0, |p| p.size)));
        }
    }
    queue.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    Ok((sources.len() - queue.len(), queue))
}

pub(super) fn worker_pool(jobs: usize) -> Result<rayon::ThreadPool> {
    let jobs = if jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        jobs
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("brainbrr-ingest-{i}"))
        .build()
        .map_err(|e| {
            IngestError::Pool {
                jobs,
                reason: e.to_string(),
            }
            .into()
        })
}

/// Ingests the queue, one recording per thread of `pool` at a time (on the
/// calling thread alone without a pool): each thread takes the next recording
/// when done with one, and holds it a few channels at a time.
/// Outcomes are added to `summary` in the order they happen (`--strict` stops
/// at, and reports, the first failure that happened).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_pool(
    pool: Option<&rayon::ThreadPool>,
    store: &Store,
    queue: &[(&SourceFile, u64)],
    remote: &Transfers<'_>,
    cfg: &PreprocessConfig,
    hash: &str,
    strict: bool,
    cancel: &AtomicBool,
    on_event: &(dyn Fn(&Event) + Sync),
    summary: &mut Summary,
) {
    let results = Mutex::new(std::mem::take(summary));
    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let work = |i: usize, src: &SourceFile, bytes: u64| {
        let mut outcome = match remote.stager.map(|st| st.take(i)) {
            None => ingest_one(src, cfg, hash, store, cancel),
            Some(Ok(local)) => ingest_one(&local, cfg, hash, store, cancel),
            Some(Err(reason)) => Outcome::Failed(reason),
        };
        if let Some(st) = remote.stager {
            st.release(i);
            if let Outcome::Skipped(r) | Outcome::Failed(r) = &mut outcome {
                *r = st.name_remote(i, r);
            }
        }
        if let (Some(p), Outcome::Ingested(_)) = (remote.publisher, &outcome) {
            // A run stopped (Ctrl-C, or a delegate's driver gone) publishes nothing more.
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            if let Err(e) = p.publish_recording(&src.rid) {
                // A writer whose lease was taken over publishes nothing more.
                stop.fetch_or(matches!(e, StoreError::Locked { .. }), Ordering::Relaxed);
                outcome = Outcome::Failed(format!("{}: not published: {e}", src.path.display()));
            }
        }
        let reason = match &outcome {
            Outcome::Ingested(_) => None,
            Outcome::Skipped(r) | Outcome::Failed(r) => Some(r.clone()),
            Outcome::Cancelled => return,
        };
        // A source that changed and now fails (or is skipped) must not leave
        // its stale earlier version in the store. Only the lock holder deletes:
        // a delegate's failure may come from a run that no longer owns the
        // store (its driver was killed); the live driver removes its own
        // delegates' ([`Driver::absorb`]).
        if reason.is_some() && store.is_writer() {
            let _ = store.remove_recording(&src.rid);
        }
        if let Some(p) = remote
            .publisher
            .filter(|p| reason.is_some() && p.is_writer())
        {
            let _ = p.unpublish_recording(&src.rid);
        }
        if let Ok(mut s) = results.lock() {
            s.source_bytes += bytes;
            match &outcome {
                Outcome::Ingested(notes) => {
                    s.ingested += 1;
                    let notes = notes.iter().map(|n| (src.rel.clone(), n.clone()));
                    s.warnings.extend(notes);
                }
                Outcome::Skipped(r) => s.skipped.push((src.rel.clone(), r.clone())),
                Outcome::Failed(r) => {
                    stop.fetch_or(strict, Ordering::Relaxed);
                    s.failed.push((src.rel.clone(), r.clone()));
                }
                Outcome::Cancelled => {}
            }
        }
        on_event(&Event::Recording {
            path: src.rel.clone(),
            outcome: outcome.name(),
            reason,
            bytes,
        });
    };
    let drain = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(src, bytes)) = queue.get(i) else {
                break;
            };
            if cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                break;
            }
            work(i, src, bytes);
        }
    };
    match pool {
        Some(pool) => drop(pool.broadcast(|_| drain())),
        None => drain(),
    }
    *summary = results.into_inner().unwrap_or_else(|p| p.into_inner());
}

/// Rebuilds the index over every committed recording, fills the store's
/// totals into `summary`, and marks the index complete, naming `run`: two runs
/// never leave the same root, so a reader that keeps what it saw of a store
/// for the root's version is never served an earlier run's. The size of a store
/// on object storage is the size it will have once `publisher` published it.
pub(super) fn write_index(
    pool: &rayon::ThreadPool,
    mut store: Store,
    publisher: Option<&Publisher>,
    run: &str,
    cfg: &PreprocessConfig,
    on_event: &(dyn Fn(&Event) + Sync),
    summary: &mut Summary,
) -> Result<()> {
    let committed = store.committed()?;
    on_event(&Event::Indexing {
        recordings: committed.len(),
    });
    let (tables, per_recording) = pool.install(|| build_index(&store, &committed, cfg, summary))?;
    summary.splits = stats_by(&committed, &tables, &per_recording, |m| {
        m.split.clone().unwrap_or_default()
    });
    let by_corpus = stats_by(&committed, &tables, &per_recording, |m| {
        (
            m.corpus.clone().unwrap_or_default(),
            m.split.clone().unwrap_or_default(),
        )
    });
    summary.corpora = BTreeMap::new();
    for ((corpus, split), st) in by_corpus {
        summary.corpora.entry(corpus).or_default().insert(split, st);
    }
    summary
        .warnings
        .extend(store_warnings(&committed, &summary.splits));
    summary.recordings = committed.len();
    summary.hours = committed
        .values()
        .map(|m| m.n_samples as f64 / m.fs)
        .sum::<f64>()
        / 3600.0;
    let labels = &tables.windows.label;
    summary.windows = labels.len();
    summary.seizure_windows = labels.iter().filter(|&&l| l == SEIZURE).count();
    summary.unlabeled_windows = labels.iter().filter(|&&l| l == UNLABELED).count();
    store.write_index(&tables)?;
    summary.store_bytes = match publisher {
        Some(p) => p.store_bytes()?,
        None => crate::store::store_bytes(store.path()),
    };
    let mut as_json = serde_json::to_value(&*summary).unwrap_or_default();
    if let Some(fields) = as_json.as_object_mut() {
        fields.insert("run".to_owned(), run.into());
    }
    store.set_index_complete(true, as_json)?;
    Ok(())
}

/// What one recording's stored labels and types hold, for the per-split statistics.
#[derive(Default)]
struct LabelCounts {
    seizure_samples: usize,
    events: usize,
    /// Seizure samples per type code.
    by_type: BTreeMap<u8, usize>,
}

impl LabelCounts {
    fn new(labels: &[u8], types: &[u8], fs: f64) -> Self {
        let mut c = Self {
            events: seizure_events(labels, types, fs, 0.0, 0.0).map_or(0, |e| e.len()),
            ..Self::default()
        };
        for (&label, &code) in labels.iter().zip(types) {
            if label == SEIZURE {
                c.seizure_samples += 1;
                *c.by_type.entry(code).or_default() += 1;
            }
        }
        c
    }
}

/// The index tables of every committed recording, windows computed from the
/// stored labels (and their types from the stored types), and what each
/// recording's labels hold.
fn build_index(
    store: &Store,
    committed: &BTreeMap<String, RecordingMeta>,
    cfg: &PreprocessConfig,
    summary: &Summary,
) -> Result<(IndexTables, Vec<LabelCounts>)> {
    let spec = WindowSpec {
        window_s: cfg.window_s,
        stride_s: cfg.stride_s,
    };
    let (window_samples, stride_samples) = spec.samples(cfg.target_fs)?;
    let per_recording: Vec<(RecordingIndex, LabelCounts)> = committed
        .par_iter()
        .map(|(rid, m)| {
            let (labels, types) = (store.read_labels(rid)?, store.read_types(rid)?);
            let index = recording_index(&labels, &types, m.fs, &spec)?;
            Ok((index, LabelCounts::new(&labels, &types, m.fs)))
        })
        .collect::<Result<_, Error>>()?;
    let mut recordings = RecordingRows::default();
    let mut rows = WindowRows::default();
    let mut channel_seizures = ChannelSeizureRows::default();
    for (k, ((rid, m), (index, _))) in committed.iter().zip(&per_recording).enumerate() {
        recordings.rid.push(rid.clone());
        recordings.path.push(m.source.clone());
        recordings.split.push(m.split.clone().unwrap_or_default());
        recordings
            .patient
            .push(m.patient.clone().unwrap_or_default());
        recordings
            .session
            .push(m.session.clone().unwrap_or_default());
        recordings.run.push(m.run.clone().unwrap_or_default());
        recordings.corpus.push(m.corpus.clone().unwrap_or_default());
        recordings
            .start_time
            .push(m.start_time.clone().unwrap_or_default());
        recordings.n_samples.push(m.n_samples as i64);
        recordings.fs_in.push(m.fs_in);
        recordings
            .channel_annotated
            .push(m.channel_seizures.is_some());
        for c in m.channel_seizures.iter().flatten() {
            let t = &mut channel_seizures;
            t.recording.push(k as i32);
            t.channel.push(c.channel.clone());
            t.start.push(c.start as i64);
            t.stop.push(c.stop as i64);
            t.seizure_type.push(c.code);
        }
        recordings.n_windows.push(index.windows.len() as i64);
        recordings.window_offset.push(rows.start.len() as i64);
        let channels = &store.root_meta().channels;
        recordings
            .channel_present
            .push(channels.iter().map(|c| !m.absent.contains(c)).collect());
        for (w, &code) in index.windows.iter().zip(&index.types) {
            rows.recording.push(k as i32);
            rows.start.push(w.start as i64);
            rows.label.push(w.label);
            rows.seizure_fraction.push(w.seizure_fraction);
            rows.seizure_type.push(code);
        }
    }
    let mut failures = FailureRows::default();
    for (path, reason) in &summary.failed {
        failures.push(path, FailureKind::Failed, reason);
    }
    for (path, reason) in &summary.skipped {
        failures.push(path, FailureKind::Skipped, reason);
    }
    let tables = IndexTables {
        window_samples: window_samples as u64,
        stride_samples: stride_samples as u64,
        recordings,
        windows: rows,
        failures,
        channel_seizures,
    };
    Ok((tables, per_recording.into_iter().map(|(_, c)| c).collect()))
}

/// The store's totals per group of recordings (per split; per corpus and
/// split), from the index and each recording's label counts.
fn stats_by<K: Ord + Clone>(
    committed: &BTreeMap<String, RecordingMeta>,
    tables: &IndexTables,
    counts: &[LabelCounts],
    key: impl Fn(&RecordingMeta) -> K,
) -> BTreeMap<K, SplitStats> {
    let mut splits: BTreeMap<K, SplitStats> = BTreeMap::new();
    let mut patients: BTreeMap<K, BTreeSet<String>> = BTreeMap::new();
    let r = &tables.recordings;
    for (i, (m, c)) in committed.values().zip(counts).enumerate() {
        let split = key(m);
        let st = splits.entry(split.clone()).or_default();
        st.recordings += 1;
        st.hours += m.n_samples as f64 / m.fs / 3600.0;
        st.unlabeled_recordings += usize::from(!m.labeled);
        st.seizure_events += c.events;
        st.seizure_seconds += c.seizure_samples as f64 / m.fs;
        for (&code, &samples) in &c.by_type {
            let name = type_name(code).unwrap_or("seiz").to_owned();
            *st.seizure_seconds_by_type.entry(name).or_default() += samples as f64 / m.fs;
        }
        let (a, n) = (r.window_offset[i] as usize, r.n_windows[i] as usize);
        st.windows += n;
        st.seizure_windows += tables.windows.label[a..a + n]
            .iter()
            .filter(|&&l| l == SEIZURE)
            .count();
        if let Some(p) = &m.patient {
            patients.entry(split).or_default().insert(p.clone());
        }
    }
    for (split, names) in patients {
        if let Some(st) = splits.get_mut(&split) {
            st.patients = names.len();
        }
    }
    splits
}

/// What the store as a whole says that a researcher must not miss: annotation
/// files that gave no seizure at all, a split without any seizure.
fn store_warnings(
    committed: &BTreeMap<String, RecordingMeta>,
    splits: &BTreeMap<String, SplitStats>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let labeled = committed.values().filter(|m| m.labeled).count();
    let seizure: f64 = splits.values().map(|s| s.seizure_seconds).sum();
    if labeled > 0 && seizure == 0.0 {
        out.push((String::new(), format!(
            "{labeled} recordings have annotation files, but not one seizure sample resulted: check the annotation format and labels"
        )));
    } else {
        for (name, st) in splits
            .iter()
            .filter(|(_, st)| st.seizure_seconds == 0.0 && st.recordings > st.unlabeled_recordings)
        {
            let name = if name.is_empty() { "(no split)" } else { name };
            out.push((
                String::new(),
                format!(
                    "split {name}: no seizure in its {} recordings",
                    st.recordings
                ),
            ));
        }
    }
    // A patient in two splits leaks between them (a model evaluated on a
    // patient it was trained on). Patients are compared within a corpus.
    let mut splits_of: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for m in committed.values() {
        if let (Some(patient), Some(split)) = (m.patient.as_deref(), m.split.as_deref())
            && !patient.is_empty()
            && !split.is_empty()
        {
            let corpus = m.corpus.as_deref().unwrap_or_default();
            splits_of
                .entry((corpus, patient))
                .or_default()
                .insert(split);
        }
    }
    for ((_, patient), splits) in splits_of.into_iter().filter(|(_, s)| s.len() > 1) {
        let names: Vec<&str> = splits.into_iter().collect();
        out.push((
            String::new(),
            format!(
                "patient {patient} is in splits {}: its recordings leak between them",
                names.join(" and ")
            ),
        ));
    }
    out
}
