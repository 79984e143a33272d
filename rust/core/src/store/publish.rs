//! Writing a store on object storage. The ingest writes a local staging store
//! as it always does; each recording it commits is then published (its arrays
//! first, its group's `zarr.json`, the commit marker, last: an object PUT is
//! atomic, so a reader that finds the marker finds the whole recording), and at
//! the end the index, then the root (last). Format 1 is unchanged: the bucket
//! holds exactly the files of a local store.
//!
//! One writer at a time: a lease object (`.brainbrr-lock`) created with a
//! conditional PUT (`If-None-Match: *`), renewed every 20 s with `If-Match` on
//! its entity tag, taken over only when it was not renewed for 2 minutes (a
//! writer killed with `kill -9`), and deleted when the writer ends if it is
//! still its own. Clocks only decide when a lease looks abandoned; the fence is
//! the entity tag: every publish first renews the lease with `If-Match` on the
//! writer's own tag, so a writer whose lease was taken over (it stalled past
//! it, or skewed clocks made it look stale) stops and publishes nothing after.
//! This relies on S3's conditional writes (2024) and its strong
//! read-after-write consistency.
//!
//! Resume: the staging folder is rebuilt from the bucket when the writer
//! starts: the root and each committed recording's metadata, labels and types
//! (not its signal), which is what resume and the index rebuild read. A
//! published recording's signal is removed from the staging folder, so the
//! local disk holds the recordings in flight, not the store.
//!
//! A distributed ingest (Dask) has one writer, its driver, holding the lease,
//! and delegates: each Dask task stages the store's root, writes its
//! recordings there and publishes them, without the lease (its driver holds
//! it). Only the lease holder deletes. Before it finishes, the driver copies
//! what the delegates published into its own staging folder
//! ([`Publisher::refresh`]) and rebuilds the index from it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::{Value, json};

use super::mirror::{fetch, list_store};
use super::{RootMeta, StoreError};
use crate::remote::{Bucket, Object, RemoteError, Url};

const LOCK: &str = ".brainbrr-lock";
const RENEW: Duration = Duration::from_secs(20);
const LEASE_S: u64 = 120;
/// Marks a staging folder as one brainbrr may empty.
const STAGE_MARK: &str = ".brainbrr-stage";
const IN_FLIGHT: usize = 16;

/// The writer of a store at an `s3://` URL, holding its lease; or a delegate
/// of that writer, publishing recordings under the writer's lease.
#[derive(Debug)]
pub struct Publisher {
    bucket: Bucket,
    stage: PathBuf,
    /// The writer's; `None` in a delegate.
    lease: Option<Lease>,
    /// A staging folder of the publisher's own choosing, removed when it ends.
    temporary: Option<PathBuf>,
}

impl Publisher {
    /// Takes the store's lease (waiting for it with `wait`), empties the
    /// store with `overwrite` (the root first), and rebuilds the staging
    /// folder `stage` from the bucket. Without `stage`, the staging folder is
    /// this process's own in this user's `brainbrr-stage-<uid>` of the
    /// temporary folder, removed when the publisher ends.
    ///
    /// # Errors
    /// [`StoreError::Locked`] naming the holder, a `stage` folder that is not
    /// empty and not a staging folder, the bucket's errors.
    pub fn open(
        url: &Url,
        stage: Option<&Path>,
        overwrite: bool,
        wait: bool,
    ) -> Result<Self, StoreError> {
        Self::open_bucket(Bucket::open(url)?, stage, overwrite, wait)
    }

    /// [`Publisher::open`] for the store at `bucket`'s URL.
    pub(crate) fn open_bucket(
        bucket: Bucket,
        stage: Option<&Path>,
        overwrite: bool,
        wait: bool,
    ) -> Result<Self, StoreError> {
        let url = bucket.url().clone();
        let lease = Lease::acquire(&bucket, wait)?;
        let (stage, temporary) = match stage {
            Some(stage) => (stage.to_owned(), None),
            None => {
                let root = crate::tmp::private("brainbrr-stage")
                    .map_err(|e| StoreError::io(std::env::temp_dir(), e))?;
                // One per process: a writer that lost its lease to another
                // (after stalling) must not empty or remove the new writer's.
                let name = super::rid::encode(format!("{}/{}", url.bucket, url.prefix).as_bytes());
                let dir = crate::tmp::process_folder(&root, &name);
                (dir.clone(), Some(dir))
            }
        };
        let publisher = Self {
            bucket,
            stage: prepare_stage(&stage)?,
            lease: Some(lease),
            temporary,
        };
        let objects = publisher.objects()?;
        if overwrite {
            publisher.delete(objects.iter().filter(|o| publisher.rel(o) != LOCK))?;
        } else {
            publisher.restage(&objects, true)?;
        }
        Ok(publisher)
    }

    /// A delegate of the writer of the store at `url`: takes no lease, and
    /// stages the store's root and `recordings` group (as they are now) in
    /// the new staging folder `stage`, for the recordings it writes there.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] without a root, a `stage` folder that is not
    /// empty and not a staging folder, the bucket's errors.
    pub fn delegate(url: &Url, stage: &Path) -> Result<Self, StoreError> {
        Self::delegate_bucket(Bucket::open(url)?, stage)
    }

    /// [`Publisher::delegate`] for the store at `bucket`'s URL.
    pub(crate) fn delegate_bucket(bucket: Bucket, stage: &Path) -> Result<Self, StoreError> {
        let publisher = Self {
            bucket,
            stage: prepare_stage(stage)?,
            lease: None,
            temporary: None,
        };
        for rel in ["recordings/zarr.json", "zarr.json"] {
            let bytes = publisher.get(rel)?;
            let path = publisher.stage.join(rel);
            let dir = path.parent().unwrap_or(&publisher.stage);
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
            fs::write(&path, bytes).map_err(|e| StoreError::io(&path, e))?;
        }
        Ok(publisher)
    }

    /// Whether this is the store's writer (holding its lease), not a delegate.
    pub fn is_writer(&self) -> bool {
        self.lease.is_some()
    }

    /// The store's root attributes as they are in the bucket now.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] without a root, bad metadata, the bucket's errors.
    pub fn root(&self) -> Result<RootMeta, StoreError> {
        let url = PathBuf::from(self.bucket.url().to_string());
        let bad = |reason: String| StoreError::BadMetadata {
            path: url.join("zarr.json"),
            reason,
        };
        let doc: Value =
            serde_json::from_slice(&self.get("zarr.json")?).map_err(|e| bad(e.to_string()))?;
        RootMeta::from_doc(&doc, &url)
    }

    /// The store's object `rel`; a missing one means there is no store.
    fn get(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let url = self.bucket.url();
        self.bucket
            .get(&url.key(rel))?
            .ok_or_else(|| StoreError::NotAStore {
                path: PathBuf::from(url.to_string()),
                reason: format!("no {rel}"),
            })
    }

    /// The local store the ingest writes, in the staging folder.
    pub fn stage(&self) -> &Path {
        &self.stage
    }

    fn rel<'o>(&self, o: &'o Object) -> &'o str {
        self.bucket.url().rel(&o.key).unwrap_or(&o.key)
    }

    /// Every object of the store, but the writers' temporaries.
    fn objects(&self) -> Result<Vec<Object>, StoreError> {
        Ok(list_store(&self.bucket)?)
    }

    /// Copies what the index rebuild reads of the recordings the delegates
    /// published into the staging folder (what changed since it was staged).
    ///
    /// # Errors
    /// The bucket's errors; local I/O errors.
    pub fn refresh(&self) -> Result<(), StoreError> {
        self.restage(&self.objects()?, false)
    }

    /// Copies what resume and the index rebuild read into the staging folder;
    /// with `orphans`, deletes the objects of recordings a killed writer left
    /// unpublished (not while delegates may still be publishing).
    fn restage(&self, objects: &[Object], orphans: bool) -> Result<(), StoreError> {
        let (published, unpublished) = self.split_unpublished(objects);
        let wanted: Vec<Object> = published
            .into_iter()
            .filter(|o| {
                let rel = self.rel(o);
                match rel.strip_prefix("recordings/") {
                    Some(rest) => !rest
                        .split_once('/')
                        .is_some_and(|(_, array)| array.starts_with("signal/c/")),
                    None => rel == "zarr.json",
                }
            })
            .cloned()
            .collect();
        if orphans {
            self.delete(unpublished.into_iter())?;
        }
        fetch(&self.bucket, &wanted, &self.stage)?;
        Ok(())
    }

    /// `objects` split into those of the store (the objects of committed
    /// recordings, and all outside a recording) and those of recordings
    /// without their commit marker (a writer's upload cut short).
    fn split_unpublished<'o>(&self, objects: &'o [Object]) -> (Vec<&'o Object>, Vec<&'o Object>) {
        let committed: std::collections::HashSet<&str> = objects
            .iter()
            .filter_map(|o| {
                let rest = self.rel(o).strip_prefix("recordings/")?;
                rest.strip_suffix("/zarr.json")
                    .filter(|rid| !rid.contains('/'))
            })
            .collect();
        objects.iter().partition(|o| {
            match self
                .rel(o)
                .strip_prefix("recordings/")
                .map(|r| r.split_once('/'))
            {
                Some(Some((rid, _))) => committed.contains(rid),
                _ => true,
            }
        })
    }

    /// Deletes `objects`, the root and commit markers first.
    fn delete<'o>(&self, objects: impl Iterator<Item = &'o Object>) -> Result<(), StoreError> {
        let (markers, rest): (Vec<&str>, Vec<&str>) = objects
            .map(|o| o.key.as_str())
            .partition(|k| k.ends_with("zarr.json"));
        for batch in [markers, rest] {
            self.run_all(batch.iter().map(|k| self.bucket.delete(k)))?;
        }
        Ok(())
    }

    fn run_all<F>(&self, jobs: impl Iterator<Item = F>) -> Result<(), StoreError>
    where
        F: std::future::Future<Output = Result<(), RemoteError>>,
    {
        let results: Vec<Result<(), RemoteError>> = self.bucket.block_on(
            futures::stream::iter(jobs)
                .buffer_unordered(IN_FLIGHT)
                .collect(),
        );
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(())
    }

    /// Uploads the staged files `rels` (paths relative to the store), in parallel.
    fn upload(&self, rels: &[String]) -> Result<(), StoreError> {
        self.check()?;
        let url = self.bucket.url();
        self.run_all(rels.iter().map(|rel| {
            let (bucket, path, key) = (&self.bucket, self.stage.join(rel), url.key(rel));
            async move { bucket.upload(&path, &key).await }
        }))
    }

    /// Publishes the root and the `recordings` group (the index marked
    /// incomplete while an ingest runs).
    ///
    /// # Errors
    /// Upload errors; a lost lease.
    pub fn publish_root(&self) -> Result<(), StoreError> {
        self.upload(&["recordings/zarr.json".to_owned()])?;
        self.upload(&["zarr.json".to_owned()])
    }

    /// Publishes the committed recording `rid`: its arrays, then its
    /// `zarr.json`; then drops its staged signal.
    ///
    /// # Errors
    /// Upload errors; a lost lease.
    pub fn publish_recording(&self, rid: &str) -> Result<(), StoreError> {
        let dir = format!("recordings/{rid}");
        let mut files = files_under(&self.stage, &dir)?;
        let marker = format!("{dir}/zarr.json");
        files.retain(|f| *f != marker);
        self.upload(&files)?;
        self.upload(&[marker])?;
        let signal = self.stage.join(&dir).join("signal").join("c");
        let _ = fs::remove_dir_all(signal);
        Ok(())
    }

    /// The writer's fence before each upload and delete: fails once its lease
    /// was taken over ([`Lease::check`]); a delegate relies on its writer's.
    fn check(&self) -> Result<(), StoreError> {
        self.lease.as_ref().map_or(Ok(()), Lease::check)
    }

    /// Removes the published recording `rid` (its commit marker first).
    ///
    /// # Errors
    /// The bucket's errors; a lost lease; a delegate (only the writer deletes).
    pub fn unpublish_recording(&self, rid: &str) -> Result<(), StoreError> {
        let Some(lease) = &self.lease else {
            return Err(StoreError::Locked {
                path: PathBuf::from(self.bucket.url().to_string()),
                holder: "the ingest's driver (a delegate does not delete)".to_owned(),
            });
        };
        lease.check()?;
        let url = self.bucket.url();
        let objects = self.bucket.list(&url.key(&format!("recordings/{rid}/")))?;
        self.delete(objects.iter())
    }

    /// Publishes the index, then the `recordings` group, then the root.
    ///
    /// # Errors
    /// Upload errors; a lost lease.
    pub fn publish_index(&self) -> Result<(), StoreError> {
        self.upload(&files_under(&self.stage, "index")?)?;
        self.publish_root()
    }

    /// The bytes of the store once the staged index and root are published
    /// (what a reader downloads): the committed recordings in the bucket and
    /// the rest as staged.
    ///
    /// # Errors
    /// The bucket's errors.
    pub fn store_bytes(&self) -> Result<u64, StoreError> {
        let url = self.bucket.url();
        let recordings = self.bucket.list(&url.key("recordings/"))?;
        let (published, _) = self.split_unpublished(&recordings);
        let staged = super::store_bytes(&self.stage)
            .saturating_sub(super::dir_size(&self.stage.join("recordings")));
        Ok(published.iter().map(|o| o.size).sum::<u64>() + staged)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(dir) = &self.temporary {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Makes `stage` a staging folder (created, or emptied when it is one) and
/// returns the folder of the local store in it.
fn prepare_stage(stage: &Path) -> Result<PathBuf, StoreError> {
    let io = |e| StoreError::io(stage, e);
    match fs::read_dir(stage) {
        Ok(mut entries) => {
            if entries.next().is_some() && !stage.join(STAGE_MARK).is_file() {
                return Err(StoreError::NotAStore {
                    path: stage.to_owned(),
                    reason: "not empty and not a brainbrr staging folder; give an empty or new --stage folder"
                        .to_owned(),
                });
            }
            fs::remove_dir_all(stage).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    fs::create_dir_all(stage).map_err(io)?;
    fs::write(stage.join(STAGE_MARK), b"").map_err(io)?;
    Ok(stage.join("store"))
}

/// The files below `stage/dir`, as `/`-separated paths relative to `stage`.
fn files_under(stage: &Path, dir: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let path = stage.join(&d);
        for entry in fs::read_dir(&path).map_err(|e| StoreError::io(&path, e))? {
            let entry = entry.map_err(|e| StoreError::io(&path, e))?;
            let rel = format!("{d}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(rel);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The lease on a remote store: created, renewed by a thread and before each
/// publish, deleted on drop while it is still this writer's.
#[derive(Debug)]
struct Lease {
    key: String,
    /// The lease object's entity tag as this writer last wrote it: its token.
    /// `None` once another writer replaced the object (the lease is lost).
    /// Held across each renewal, so a tag is never compared while it changes.
    token: Arc<Mutex<Option<String>>>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
    bucket: Bucket,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn holder_record() -> Vec<u8> {
    json!({
        "holder": crate::process::holder(),
        "renewed_unix_s": now_s(),
    })
    .to_string()
    .into_bytes()
}

impl Lease {
    fn acquire(bucket: &Bucket, wait: bool) -> Result<Self, StoreError> {
        let key = bucket.url().key(LOCK);
        let locked = |holder: String| StoreError::Locked {
            path: PathBuf::from(bucket.url().to_string()),
            holder,
        };
        let etag = loop {
            match bucket.block_on(bucket.create(&key, holder_record())) {
                Ok(etag) => break etag,
                Err(RemoteError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let Some((etag, body)) = bucket.block_on(bucket.get_tagged(&key))? else {
                continue; // released meanwhile
            };
            let record: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let renewed = record["renewed_unix_s"].as_u64().unwrap_or(0);
            if now_s().saturating_sub(renewed) > LEASE_S {
                // Not renewed for the whole lease: its writer is gone. Taken over
                // only if nobody else did first.
                match bucket.block_on(bucket.replace(&key, holder_record(), &etag)) {
                    Ok(etag) => break etag,
                    Err(RemoteError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if !wait {
                let holder = record["holder"].as_str().unwrap_or("another writer");
                return Err(locked(format!(
                    "{holder} (lease object {})",
                    bucket.url().of_key(&key)
                )));
            }
            std::thread::sleep(Duration::from_secs(2));
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let mut lease = Self {
            key,
            token: Arc::new(Mutex::new(Some(etag))),
            stop: Some(stop),
            renewer: None,
            bucket: bucket.clone(),
        };
        let renewer = {
            let (bucket, key, token) = (bucket.clone(), lease.key.clone(), lease.token.clone());
            std::thread::Builder::new()
                .name("brainbrr-lease".to_owned())
                .spawn(move || {
                    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(RENEW) {
                        match renew(&bucket, &key, &token) {
                            // A transient failure: the next renewal may succeed in time.
                            Ok(()) | Err(StoreError::Remote(_)) => {}
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| StoreError::io(Path::new("brainbrr-lease thread"), e))?
        };
        lease.renewer = Some(renewer);
        Ok(lease)
    }

    /// The fence before each publish: renews the lease on its own entity tag
    /// (`If-Match`), so a writer whose lease was taken over (it stalled past
    /// it, or a clock made it look stale) publishes nothing after, whatever
    /// the clocks say.
    fn check(&self) -> Result<(), StoreError> {
        renew(&self.bucket, &self.key, &self.token)
    }
}

/// Replaces the lease object `key` with a fresh record if it still has this
/// writer's entity tag `token` (which it then updates); forgets the token and
/// fails when another writer replaced it.
fn renew(bucket: &Bucket, key: &str, token: &Mutex<Option<String>>) -> Result<(), StoreError> {
    let mut token = token.lock().unwrap_or_else(|p| p.into_inner());
    let lost = || StoreError::Locked {
        path: PathBuf::from(bucket.url().to_string()),
        holder: format!(
            "another writer, which took over this writer's lease {}; this writer stopped and published nothing after",
            bucket.url().of_key(key)
        ),
    };
    let Some(etag) = token.as_deref() else {
        return Err(lost());
    };
    match bucket.block_on(bucket.replace(key, holder_record(), etag)) {
        Ok(new) => {
            *token = Some(new);
            Ok(())
        }
        Err(RemoteError::Conflict { .. }) => {
            *token = None;
            Err(lost())
        }
        Err(e) => Err(e.into()),
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        // Deleted only while it is still this writer's: never the lease of a
        // writer that took it over. (S3 has no conditional delete here; the
        // tag is compared just before.)
        let token = self.token.lock().unwrap_or_else(|p| p.into_inner());
        let Some(ours) = token.as_deref() else {
            return;
        };
        let bucket = &self.bucket;
        if let Ok(Some((etag, _))) = bucket.block_on(bucket.get_tagged(&self.key))
            && etag.trim_matches('"') == ours.trim_matches('"')
        {
            let _ = bucket.block_on(bucket.delete(&self.key));
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
