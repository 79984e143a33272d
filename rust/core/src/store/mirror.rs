//! A store on object storage, read through a local copy: the root and the
//! index when opened, each recording's objects the first time it is read
//! (checked against their CRC-32C), so that windows are zero-copy views of
//! local files exactly as for a local store. The copy is bounded in size with
//! least-recently-used eviction and safe for several processes at once; and
//! [`pull`] copies a whole store.
//!
//! Layout: `<cache>/<bucket~prefix>/<store_id>/` holds the store's files under
//! their keys, and `.brainbrr-cache/` beside them the use records (one empty file
//! per recording, its mtime the last use, renewed every few seconds while a
//! process reads it) and the eviction lock. A store
//! overwritten remotely gets a new store id, so a new folder: the old copy is
//! never served for it. A recording re-ingested under the same id is caught by
//! the listing: a local file is reused only when its size and modification
//! time are the object's.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use super::read::codec_layout;
use super::recording::CRC_LEN;
use super::temporaries::TMP_DIR;
use crate::remote::{Bucket, Check, Object, RemoteError, Url, is_plain_segment};

/// Objects fetched at once.
const IN_FLIGHT: usize = 16;
/// A recording used this recently is never evicted (a process may be about to map it).
const GRACE: Duration = Duration::from_secs(60);
const CACHE_DIR: &str = ".brainbrr-cache";

/// The local copy of one remote store.
#[derive(Debug)]
pub struct Mirror {
    bucket: Bucket,
    /// `<cache>/<bucket~prefix>/<store_id>`.
    dir: PathBuf,
    /// Each recording's objects, from the listing made when opened.
    recordings: BTreeMap<String, Vec<Object>>,
    max_bytes: Option<u64>,
    /// `(recording, array)` this process has made current (checked once per process).
    current: Mutex<HashSet<(String, String)>>,
}

impl Mirror {
    /// Lists the store at `url`, copies its root, `recordings` group and index
    /// into the cache folder `cache`, and returns the local store folder.
    ///
    /// # Errors
    /// The URL's errors (no bucket, denied), [`StoreError::NotAStore`] without
    /// a root `zarr.json`, I/O errors in the cache folder.
    pub fn open(
        url: &Url,
        cache: &Path,
        max_bytes: Option<u64>,
    ) -> Result<(Self, PathBuf), StoreError> {
        Self::open_bucket(Bucket::open(url)?, cache, max_bytes)
    }

    /// [`Mirror::open`] for the store at `bucket`'s URL.
    pub(crate) fn open_bucket(
        bucket: Bucket,
        cache: &Path,
        max_bytes: Option<u64>,
    ) -> Result<(Self, PathBuf), StoreError> {
        let url = &bucket.url().clone();
        let (root_tag, root) = bucket
            .block_on(bucket.get_tagged(&url.key("zarr.json")))?
            .ok_or_else(|| StoreError::NotAStore {
                path: PathBuf::from(url.to_string()),
                reason: "no zarr.json".to_owned(),
            })?;
        let doc: Value = serde_json::from_slice(&root).map_err(|e| StoreError::BadMetadata {
            path: PathBuf::from(url.of_key(&url.key("zarr.json"))),
            reason: e.to_string(),
        })?;
        let store_id = doc
            .pointer("/attributes/brainbrr/store_id")
            .and_then(Value::as_str)
            .filter(|id| is_plain_segment(id) && !id.contains('/'))
            .unwrap_or("no-store-id");
        let place = super::rid::encode(format!("{}/{}", url.bucket, url.prefix).as_bytes());
        // The cache folder may be shared: below it, every folder must be this
        // user's own (another's could hold planted files or links).
        fs::create_dir_all(cache).map_err(|e| StoreError::io(cache, e))?;
        let rel = Path::new(&place).join(store_id);
        for own in [
            Path::new(CACHE_DIR).join("used"),
            PathBuf::from("recordings"),
        ] {
            crate::nofollow::own_dirs(cache, &rel.join(own))
                .map_err(|(p, e)| StoreError::io(p, e))?;
        }
        let dir = cache.join(rel);
        let mut recordings: BTreeMap<String, Vec<Object>> = BTreeMap::new();
        let mut now = Vec::new();
        let complete =
            doc.pointer("/attributes/brainbrr/index/complete") == Some(&Value::Bool(true));
        for o in listing(&bucket, &dir, &root_tag, complete)? {
            let rel = rel_key(url, &o.key);
            match rel.split_once('/') {
                Some(("recordings", rest)) if rest != "zarr.json" => {
                    if let Some((rid, _)) = rest.split_once('/') {
                        recordings.entry(rid.to_owned()).or_default().push(o);
                    }
                }
                Some(("recordings" | "index", _)) => now.push(o),
                _ => {}
            }
        }
        fetch(&bucket, &now, &dir)?;
        // The root last, and as read above: the index copied is the one it describes.
        write_atomic(&dir.join("zarr.json"), &root)?;
        let mirror = Self {
            bucket,
            dir: dir.clone(),
            recordings,
            max_bytes,
            current: Mutex::new(HashSet::new()),
        };
        Ok((mirror, dir))
    }

    /// Makes `arrays` of recording `rid` current in the copy (with the
    /// recording's group metadata): each object missing or different is
    /// downloaded and its checksum checked; the use is recorded, and the copy
    /// evicts least recently used recordings past its bound. Re-windowing a
    /// remote store so reads only labels and types, never signals.
    ///
    /// # Errors
    /// A recording the listing did not show ([`StoreError::NotCommitted`]),
    /// download errors, a checksum that differs ([`StoreError::Mismatch`],
    /// naming the object; the bad copy is removed).
    pub fn ensure(&self, rid: &str, arrays: &[&str]) -> Result<(), StoreError> {
        let is_current = |s: &HashSet<(String, String)>| {
            arrays
                .iter()
                .all(|a| s.contains(&(rid.to_owned(), (*a).to_owned())))
        };
        if is_current(&self.current.lock().unwrap_or_else(|p| p.into_inner()))
            && self.dir.join("recordings").join(rid).is_dir()
        {
            return Ok(());
        }
        let objects: Vec<Object> = self
            .recordings
            .get(rid)
            .ok_or_else(|| StoreError::NotCommitted {
                path: PathBuf::from(self.bucket.url().to_string()),
                rid: rid.to_owned(),
            })?
            .iter()
            .filter(|o| {
                let within = rel_key(self.bucket.url(), &o.key)
                    .strip_prefix("recordings/")
                    .and_then(|r| r.strip_prefix(rid))
                    .and_then(|r| r.strip_prefix('/'))
                    .unwrap_or("");
                within == "zarr.json"
                    || arrays.iter().any(|a| {
                        within
                            .strip_prefix(a)
                            .is_some_and(|rest| rest.starts_with('/'))
                    })
            })
            .cloned()
            .collect();
        self.record_use(rid);
        if !fetch(&self.bucket, &objects, &self.dir)?.is_empty() {
            self.evict(rid)?;
        }
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.extend(arrays.iter().map(|a| (rid.to_owned(), (*a).to_owned())));
        Ok(())
    }

    /// Records a use of `rid` now (best effort: the worst a failure does is an
    /// early eviction). A reader of a recording already local records its uses
    /// every few seconds, so that eviction goes by the last use, and a
    /// recording in use outlives [`GRACE`].
    pub fn record_use(&self, rid: &str) {
        // Only listed recordings: an id from an index is not trusted as a path.
        if !self.recordings.contains_key(rid) {
            return;
        }
        let marker = self.dir.join(CACHE_DIR).join("used").join(rid);
        let _ = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&marker)
            .and_then(|f| f.set_modified(SystemTime::now()));
    }

    /// Removes least recently used recordings (never `keep`, nor any used in
    /// the last minute) until the copy's recordings fit the bound. One process
    /// evicts at a time (`flock` on the use records' folder).
    fn evict(&self, keep: &str) -> Result<(), StoreError> {
        let Some(max) = self.max_bytes else {
            return Ok(());
        };
        let used = self.dir.join(CACHE_DIR).join("used");
        let lock = fs::File::open(&used).map_err(|e| StoreError::io(&used, e))?;
        lock.lock().map_err(|e| StoreError::io(&used, e))?;
        let recordings = self.dir.join("recordings");
        let mut held: Vec<(SystemTime, String, u64)> = Vec::new();
        let mut total = 0u64;
        for entry in fs::read_dir(&recordings).map_err(|e| StoreError::io(&recordings, e))? {
            let entry = entry.map_err(|e| StoreError::io(&recordings, e))?;
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let rid = entry.file_name().to_string_lossy().into_owned();
            let bytes = super::dir_size(&entry.path());
            let last = fs::metadata(used.join(&rid))
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            total += bytes;
            held.push((last, rid, bytes));
        }
        held.sort();
        let recent = SystemTime::now() - GRACE;
        for (last, rid, bytes) in held {
            if total <= max {
                break;
            }
            if rid == keep || last > recent {
                continue;
            }
            // Renamed away first: another process sees the recording whole or not at all
            // (one that mapped it keeps its mapping).
            let gone = self
                .dir
                .join(CACHE_DIR)
                .join(format!("evicted.{rid}.{}", std::process::id()));
            if fs::rename(recordings.join(&rid), &gone).is_ok() {
                let _ = fs::remove_dir_all(&gone);
                let _ = fs::remove_file(used.join(&rid));
                total = total.saturating_sub(bytes);
            }
        }
        Ok(())
    }
}

/// Every object of the store at the bucket's URL, but the writers' temporaries.
pub(crate) fn list_store(bucket: &Bucket) -> Result<Vec<Object>, RemoteError> {
    let url = bucket.url();
    Ok(bucket
        .list(&url.dir())?
        .into_iter()
        .filter(|o| is_store_object(url, o))
        .collect())
}

fn is_store_object(url: &Url, o: &Object) -> bool {
    let rel = rel_key(url, &o.key);
    !rel.starts_with(TMP_DIR) && rel.split('/').all(is_plain_segment)
}

/// The store's listing, kept in the copy's folder `dir` for the root version
/// `root_tag` (its entity tag): every ingest rewrites the root when it starts
/// and, naming its run, when it ends, so a complete store whose root is
/// unchanged holds the same objects, and each process of a training run (DataLoader workers, DDP
/// ranks) opens it with one request instead of a listing of the whole store.
fn listing(
    bucket: &Bucket,
    dir: &Path,
    root_tag: &str,
    complete: bool,
) -> Result<Vec<Object>, StoreError> {
    let kept = dir.join(CACHE_DIR).join("listing.json");
    let cacheable = complete && !root_tag.is_empty();
    if cacheable
        && let Some(objects) = crate::nofollow::open(&kept)
            .ok()
            .and_then(|f| {
                serde_json::from_reader::<_, KeptListing>(std::io::BufReader::new(f)).ok()
            })
            .filter(|k| k.root_etag == root_tag)
            .map(|k| k.objects)
    {
        let url = bucket.url();
        return Ok(objects
            .into_iter()
            .filter(|o| is_store_object(url, o))
            .collect());
    }
    let objects = list_store(bucket)?;
    if cacheable {
        let kept_listing = KeptListing {
            root_etag: root_tag.to_owned(),
            objects,
        };
        // Best effort: without it, the next process lists again.
        if let Ok(bytes) = serde_json::to_vec(&kept_listing) {
            let _ = write_atomic(&kept, &bytes);
        }
        return Ok(kept_listing.objects);
    }
    Ok(objects)
}

/// A listing kept for one version of the root.
#[derive(Serialize, Deserialize)]
struct KeptListing {
    root_etag: String,
    objects: Vec<Object>,
}

fn rel_key<'k>(url: &Url, key: &'k str) -> &'k str {
    url.rel(key).unwrap_or(key)
}

/// The check of the chunk `rel` (a key relative to the store) copied under
/// `dir`, when its array's metadata (already current there) says its chunks
/// end with a CRC-32C; `None` for other objects.
fn chunk_check(dir: &Path, rel: &str) -> Option<Box<Check>> {
    // The last `/c/`: a recording id may itself be `c`.
    let (array, _) = rel.rsplit_once("/c/")?;
    let doc: Value = crate::nofollow::open(&dir.join(array).join("zarr.json"))
        .ok()
        .and_then(|f| serde_json::from_reader(std::io::BufReader::new(f)).ok())?;
    codec_layout(&doc).1.then(|| {
        Box::new(|path: &Path| {
            let data_bytes = fs::symlink_metadata(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len()
                .checked_sub(CRC_LEN as u64)
                .ok_or_else(|| format!("{}: shorter than its checksum", path.display()))?;
            let chunk = super::Chunk {
                path: path.to_owned(),
                data_bytes,
                raw: true,
                crc: true,
            };
            super::Store::check_checksum(&chunk).map(drop)
        }) as Box<Check>
    })
}

/// Makes the copies under `dir` of `objects` current, `IN_FLIGHT` at a time,
/// and returns those downloaded. A copy is reused when it is a file of the
/// object's size and modification time; every chunk that ends with a CRC-32C
/// is checked before it is used: a download before it is renamed into place
/// (so no process killed at any point leaves a damaged chunk under its
/// name), a reused copy once (one that differs is downloaded again). Array
/// metadata goes first, since it says which chunks carry a checksum. No
/// folder or file is reached through a link.
///
/// # Errors
/// Download errors; [`StoreError::Mismatch`] naming an object whose download
/// fails its checksum (nothing is left under its name).
pub(crate) fn fetch(
    bucket: &Bucket,
    objects: &[Object],
    dir: &Path,
) -> Result<Vec<Object>, StoreError> {
    let url = bucket.url();
    // Every object of a Zarr v3 hierarchy is metadata (`zarr.json`) or a chunk.
    let (meta, chunks): (Vec<&Object>, Vec<&Object>) = objects
        .iter()
        .partition(|o| rel_key(url, &o.key).rsplit('/').next() == Some("zarr.json"));
    let mut fetched = download_stale(bucket, &meta, dir, |_| None)?;
    fetched.extend(download_stale(bucket, &chunks, dir, |rel| {
        chunk_check(dir, rel)
    })?);
    Ok(fetched)
}

fn download_stale(
    bucket: &Bucket,
    objects: &[&Object],
    dir: &Path,
    check: impl Fn(&str) -> Option<Box<Check>>,
) -> Result<Vec<Object>, StoreError> {
    use futures::StreamExt;
    let url = bucket.url();
    let mut stale: Vec<(&Object, PathBuf, Option<Box<Check>>)> = Vec::new();
    for o in objects {
        let rel = rel_key(url, &o.key);
        let path = dir.join(rel);
        crate::nofollow::check_below(dir, &path)?;
        let check = check(rel);
        let current = same_file(&path, o) && check.as_ref().is_none_or(|c| c(&path).is_ok());
        if !current {
            stale.push((o, path, check));
        }
    }
    if !stale.is_empty() {
        // The root is the caller's (a cache, a pull's folder, a staging store).
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    for (_, path, _) in &stale {
        if let Some(parent) = path.parent().and_then(|p| p.strip_prefix(dir).ok()) {
            crate::nofollow::own_dirs(dir, parent).map_err(|(p, e)| StoreError::io(p, e))?;
        }
    }
    let results: Vec<Result<u64, RemoteError>> = bucket.block_on(
        futures::stream::iter(
            stale
                .iter()
                .map(|(o, path, check)| bucket.download(&o.key, path, check.as_deref())),
        )
        .buffer_unordered(IN_FLIGHT)
        .collect(),
    );
    for r in results {
        match r {
            Ok(_) => {}
            Err(RemoteError::Damaged { url, reason }) => {
                return Err(StoreError::Mismatch {
                    path: PathBuf::from(url),
                    reason,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(stale.into_iter().map(|(o, _, _)| o.clone()).collect())
}

/// Whether `path` holds `o` already: a file (not a link) of the same size and
/// modification time.
fn same_file(path: &Path, o: &Object) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| {
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(-1, |d| d.as_nanos() as i64);
        m.is_file() && m.len() == o.size && mtime == o.mtime_ns
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::nofollow::replace_file(path, bytes).map_err(|e| StoreError::io(path, e))
}

/// What [`pull`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Objects in the store.
    pub objects: usize,
    /// Bytes downloaded (objects already present are not).
    pub bytes: u64,
}

/// Copies the whole store at `url` into the folder `out`, `IN_FLIGHT` objects
/// at a time, each chunk's checksum checked; the root `zarr.json` last, so an
/// interrupted pull is not a store until it is re-run (which downloads only
/// what is missing or different).
///
/// # Errors
/// The URL's errors, no root `zarr.json` at `url`, an `out` that is a store
/// of another id (pull into an empty folder), a checksum that differs.
pub fn pull(url: &Url, out: &Path) -> Result<Pulled, StoreError> {
    pull_bucket(&Bucket::open(url)?, out)
}

/// [`pull`] from the store at `bucket`'s URL.
pub(crate) fn pull_bucket(bucket: &Bucket, out: &Path) -> Result<Pulled, StoreError> {
    let url = bucket.url();
    let objects = list_store(bucket)?;
    let root_key = url.key("zarr.json");
    let root = objects
        .iter()
        .find(|o| o.key == root_key)
        .ok_or_else(|| StoreError::NotAStore {
            path: PathBuf::from(url.to_string()),
            reason: "no zarr.json".to_owned(),
        })?;
    if let Ok(local) = fs::read(out.join("zarr.json")) {
        let remote = bucket.get(&root_key)?.unwrap_or_default();
        let id = |bytes: &[u8]| {
            serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|d| d.pointer("/attributes/brainbrr/store_id").cloned())
        };
        if id(&local) != id(&remote) {
            return Err(StoreError::NotAStore {
                path: out.to_owned(),
                reason: format!("it holds another store than {url}; pull into an empty folder"),
            });
        }
    }
    let (rest, root): (Vec<Object>, Vec<Object>) =
        objects.iter().cloned().partition(|o| o.key != root.key);
    let mut fetched = fetch(bucket, &rest, out)?;
    fetched.extend(fetch(bucket, &root, out)?);
    Ok(Pulled {
        objects: objects.len(),
        bytes: fetched.iter().map(|o| o.size).sum(),
    })
}

#[cfg(test)]
mod tests;
