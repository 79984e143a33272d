//! The driver of an ingest: what runs before and after the recordings, in the
//! process that holds the store's writer lock.
//!
//! A local ingest ([`Driver::run_local`]: the recordings on this process's
//! pool) and a distributed one (Dask: the recordings run as
//! [`super::ingest_batch`] tasks on other processes or machines) share it:
//! [`Driver::prepare`] validates the config, finds the
//! sources, opens the store under its lock, marks the index incomplete with a
//! fresh run id (the id a delegate must present) and plans; the driver keeps
//! the lock while the recordings run, [`Driver::absorb`]s what each batch did,
//! and [`Driver::finish`] rebuilds the index once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;

use super::fetch::Stager;
use super::run::{Transfers, open_store, plan, run_pool, worker_pool, write_index};
use super::source::SourceFile;
use super::sources::find_sources;
use super::{Event, IngestError, IngestOptions, Summary};
use crate::Result;
use crate::config::PreprocessConfig;
use crate::corpus::Corpus;
use crate::remote::Bucket;
use crate::store::Publisher;
use crate::store::Store;

/// A store being ingested: its writer lock is held until the driver is
/// finished or dropped.
#[derive(Debug)]
pub struct Driver {
    store: Store,
    cfg: PreprocessConfig,
    run: String,
    /// The recordings to ingest, largest first, with their sizes.
    queue: Vec<(SourceFile, u64)>,
    /// What the recordings did so far, in the order they finished.
    summary: Summary,
    /// The bucket of a source on object storage.
    bucket: Option<Bucket>,
    /// The writer of a store on object storage (its lease held while the driver lives).
    publisher: Option<Publisher>,
    /// Threads of the local pool and of the index rebuild (0: one per core).
    jobs: usize,
    strict: bool,
    /// The corpus the sources are read as (given, or found from their names).
    corpus: Corpus,
    t0: Instant,
}

impl Driver {
    /// Validates `cfg`, finds the sources, opens (creates, overwrites) the store
    /// at `out` under its writer lock, marks its index incomplete for a new run,
    /// and plans: the recordings already current, and the others largest first.
    ///
    /// `source` is one folder or `s3://` URL, or several local folders: each
    /// is read as its own corpus, and its recordings' paths start with its
    /// folder's name, so that they stay unique across sources.
    ///
    /// # Errors
    /// An invalid config, an unreadable source, a store another process writes,
    /// a store built with another config (named differences; left untouched),
    /// store I/O errors.
    pub fn prepare(
        source: &[PathBuf],
        out: &Path,
        cfg: &PreprocessConfig,
        opts: &IngestOptions,
    ) -> Result<Self> {
        let t0 = Instant::now();
        cfg.validate()?;
        let (sources, bucket, warnings) = find_sources(source, opts)?;
        let run = crate::store::new_store_id(out);
        let (store, publisher) = open_store(source, out, cfg, opts, &run)?;
        let (current, queue) = plan(&store, &sources)?;
        let queue = queue.into_iter().map(|(s, b)| (s.clone(), b)).collect();
        let summary = Summary {
            store: out.to_owned(),
            found: sources.len(),
            current,
            warnings,
            ..Summary::default()
        };
        Ok(Self {
            store,
            cfg: cfg.clone(),
            run,
            queue,
            summary,
            bucket,
            publisher,
            jobs: opts.jobs,
            strict: opts.strict,
            corpus: opts
                .corpus
                .or_else(|| sources.first().map(|s| s.corpus))
                .unwrap_or_default(),
            t0,
        })
    }

    /// Ingests the queue on this process, `jobs` recordings at a time, and
    /// finishes: a local ingest ([`ingest`]) after [`Driver::prepare`].
    /// `cancel` stops the run between stages of a recording (Ctrl-C); what was
    /// committed stays, and the index is left marked incomplete. `on_event` is
    /// called from worker threads as recordings finish.
    ///
    /// # Errors
    /// As [`Driver::finish`]; a pool that cannot be started; a staging folder
    /// that cannot be made.
    pub fn run_local(
        mut self,
        cancel: &AtomicBool,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> Result<Summary> {
        on_event(&self.started());
        let pool = worker_pool(self.jobs)?;
        let queue: Vec<_> = self.queue.iter().map(|(s, b)| (s, *b)).collect();
        let staged = self
            .store
            .path()
            .join(crate::store::TMP_DIR)
            .join("sources");
        let stager = Stager::start(
            self.bucket.clone(),
            staged,
            &queue,
            pool.current_num_threads(),
        )?;
        let remote = Transfers {
            stager: stager.as_ref(),
            publisher: self.publisher.as_ref(),
        };
        let hash = self.cfg.hash();
        run_pool(
            Some(&pool),
            &self.store,
            &queue,
            &remote,
            &self.cfg,
            &hash,
            self.strict,
            cancel,
            on_event,
            &mut self.summary,
        );
        // Its folder goes before the writer lock removes the temporaries.
        drop(stager);
        drop(queue);
        self.finish_on(&pool, cancel.load(Ordering::Relaxed), on_event)
    }

    /// This run's id, recorded in the store's root while it runs: the
    /// delegates writing for this driver present it ([`super::ingest_batch`]).
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The recordings to ingest, largest first, with their sizes in bytes.
    pub fn queue(&self) -> &[(SourceFile, u64)] {
        &self.queue
    }

    /// The event that starts the progress display.
    pub fn started(&self) -> Event {
        Event::Started {
            found: self.summary.found,
            current: self.summary.current,
            bytes: self.queue.iter().map(|&(_, b)| b).sum(),
        }
    }

    /// Adds what one batch of recordings did (a delegate's partial summary),
    /// and removes the stale committed version of each recording that failed
    /// or was skipped (as a local run does at once).
    ///
    /// # Errors
    /// I/O errors removing a recording.
    pub fn absorb(&mut self, part: Summary) -> Result<()> {
        for (rel, _) in part.failed.iter().chain(&part.skipped) {
            if let Some((src, _)) = self.queue.iter().find(|(s, _)| &s.rel == rel) {
                self.remove(&src.rid)?;
            }
        }
        let s = &mut self.summary;
        s.ingested += part.ingested;
        s.source_bytes += part.source_bytes;
        s.skipped.extend(part.skipped);
        s.failed.extend(part.failed);
        s.warnings.extend(part.warnings);
        Ok(())
    }

    /// Marks the run interrupted, keeping the lock: its delegates stop between
    /// the stages of their recordings (the caller may wait for them), and the
    /// index stays incomplete.
    ///
    /// # Errors
    /// I/O errors rewriting the root.
    pub fn stop(&mut self) -> Result<()> {
        Ok(self
            .store
            .set_index_complete(false, json!({ "state": "interrupted" }))?)
    }

    /// Removes recording `rid` from the store (and from the bucket of a remote store).
    fn remove(&self, rid: &str) -> Result<()> {
        self.store.remove_recording(rid)?;
        if let Some(p) = &self.publisher {
            p.unpublish_recording(rid)?;
        }
        Ok(())
    }

    /// The corpus the sources are read as: what a delegate's options must
    /// say, so that it reads them alike.
    pub fn corpus(&self) -> Corpus {
        self.corpus
    }

    /// Whether the run should stop: `strict`, and a recording failed.
    pub fn should_stop(&self) -> bool {
        self.strict && !self.summary.failed.is_empty()
    }

    /// The store being ingested (for the recording stage's tests).
    #[cfg(test)]
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// Ends the run of delegates and releases the lock: rebuilds the index
    /// over every committed recording on `jobs` threads (0: one per core) and
    /// marks it complete, or, when `cancelled`, leaves it incomplete (a re-run
    /// continues).
    ///
    /// # Errors
    /// With `strict`, the first failure (the index is left incomplete); the
    /// store's I/O errors rebuilding the index.
    pub fn finish(self, cancelled: bool, on_event: &(dyn Fn(&Event) + Sync)) -> Result<Summary> {
        // The delegates published into the bucket; the index is rebuilt from
        // the staging folder.
        if let (Some(p), false) = (&self.publisher, cancelled) {
            p.refresh()?;
        }
        let pool = worker_pool(self.jobs)?;
        self.finish_on(&pool, cancelled, on_event)
    }

    /// Removes what delegates of a killed driver may have left: temporaries
    /// (which must not count in the store's size), a recording one of them
    /// committed with another config in the moment before it saw this run
    /// replace its own (an `--overwrite` with a new config), and a recording
    /// committed without all its arrays (by the task of an earlier version
    /// that outlived its run: it committed what was left of a removed
    /// temporary). Returns how many recordings had another config, and the
    /// incomplete ones with the reason.
    fn sweep(&self) -> Result<(usize, Vec<(String, String)>)> {
        self.store.clean_temporaries()?;
        let (mut other_config, mut incomplete) = (0, Vec::new());
        for (rid, meta) in self.store.committed()? {
            if !self.store.root_meta().same_signals(&meta.config_hash) {
                self.remove(&rid)?;
                other_config += 1;
            } else if let Some(reason) = self.store.incomplete_recording(&rid)? {
                self.remove(&rid)?;
                incomplete.push((rid, reason));
            }
        }
        Ok((other_config, incomplete))
    }

    /// [`Driver::finish`] on a pool the caller already has.
    fn finish_on(
        mut self,
        pool: &rayon::ThreadPool,
        cancelled: bool,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> Result<Summary> {
        let mut summary = std::mem::take(&mut self.summary);
        let strict_stop = summary.failed.first().filter(|_| self.strict).cloned();
        if cancelled || strict_stop.is_some() {
            // The run's delegates see it and stop; a re-run continues.
            self.stop()?;
        }
        if let Some((_, reason)) = strict_stop {
            return Err(IngestError::Strict { reason }.into());
        }
        summary.skipped.sort();
        summary.failed.sort();
        summary.warnings.sort();
        if !cancelled {
            let (swept, incomplete) = self.sweep()?;
            // Checked before the index is written: a recording is ingested
            // only with all its arrays in place; a re-run redoes the others.
            for (rid, reason) in incomplete {
                let queued = self.queue.iter().find(|(s, _)| s.rid == rid);
                let rel = queued.map_or(rid.as_str(), |(s, _)| s.rel.as_str());
                if summary.failed.iter().any(|(r, _)| r == rel) {
                    continue;
                }
                if queued.is_some() {
                    summary.ingested = summary.ingested.saturating_sub(1);
                }
                summary.failed.push((
                    rel.to_owned(),
                    format!("{rel}: {reason}; removed, run again to ingest it"),
                ));
            }
            summary.failed.sort();
            if swept > 0 {
                summary.warnings.push((String::new(), format!(
                    "{swept} recordings committed with another config by the tasks of an earlier, killed run were removed; run again to ingest them"
                )));
            }
            // The index's summary keeps the run's time up to the index (it
            // is written inside); the returned one includes the index.
            summary.seconds = self.t0.elapsed().as_secs_f64();
            write_index(
                pool,
                self.store,
                self.publisher.as_ref(),
                &self.run,
                &self.cfg,
                on_event,
                &mut summary,
            )?;
            if let Some(p) = &self.publisher {
                p.publish_index()?;
            }
        }
        summary.cancelled = cancelled;
        summary.seconds = self.t0.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// Ingests the EDF files under the sources (one, or several local folders:
/// see [`Driver::prepare`]) into the store at `out`: the stages of
/// [`Driver::prepare`], then [`Driver::run_local`].
///
/// # Errors
/// An invalid config, an unreadable source, a store another process writes, a
/// store built with another config (named differences; the store is
/// untouched), store I/O errors, and with `strict` the first failed recording.
pub fn ingest(
    source: &[PathBuf],
    out: &Path,
    cfg: &PreprocessConfig,
    opts: &IngestOptions,
    cancel: &AtomicBool,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<Summary> {
    Driver::prepare(source, out, cfg, opts)?.run_local(cancel, on_event)
}
