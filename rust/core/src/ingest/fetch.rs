//! Sources on object storage: found by listing the bucket, and staged to local
//! files a few recordings ahead of the workers, so the network never idles
//! while a core could work.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::layout::PathLayout;
use super::source::{RemoteFile, SourceFile};
use crate::remote::{Bucket, RemoteError, Url, is_plain_segment, runtime};

/// Every `*.edf`/`*.bdf` object under `url` (or only those in `files`, paths
/// relative to `url`), with the objects beside it that share its stem, sorted
/// by relative path; and a warning `(url, why)` for each key left out because
/// it has an empty, `.` or `..` segment (no one local path: a stray object
/// must not make the corpus unreadable).
///
/// # Errors
/// The listing's error (missing bucket, denied access); a listed file that is
/// not in the bucket.
pub fn discover_remote(
    bucket: &Bucket,
    files: Option<&[String]>,
    layout: &PathLayout,
) -> Result<(Vec<SourceFile>, Vec<super::Warning>), RemoteError> {
    let url = bucket.url();
    let listing = bucket.listing(&url.dir())?;
    let warnings = listing
        .odd
        .iter()
        .map(|key| {
            let why = "left out: its key has an empty, '.' or '..' segment (it names no file)";
            (url.of_key(key), why.to_owned())
        })
        .collect();
    let objects = listing.objects;
    // Objects by (folder, stem), so each EDF finds its annotations.
    let mut beside: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for o in &objects {
        let (dir, name) = o.key.rsplit_once('/').unwrap_or(("", &o.key));
        let stem = name.split_once('.').map_or(name, |(s, _)| s);
        beside.entry((dir, stem)).or_default().push(&o.key);
    }
    let wanted: Option<HashSet<&str>> = files.map(|f| f.iter().map(String::as_str).collect());
    let mut found = Vec::new();
    for o in &objects {
        let Some(rel) = url.rel(&o.key) else { continue };
        if !is_recording_key(rel) || !rel.split('/').all(is_plain_segment) {
            continue;
        }
        if wanted.as_ref().is_some_and(|w| !w.contains(rel)) {
            continue;
        }
        let (dir, name) = o.key.rsplit_once('/').unwrap_or(("", &o.key));
        let stem = name.split_once('.').map_or(name, |(s, _)| s);
        let mut keys = vec![o.key.clone()];
        keys.extend(
            beside
                .get(&(dir, stem))
                .into_iter()
                .flatten()
                .filter(|k| **k != o.key && !is_recording_key(k))
                .map(|k| (*k).to_owned()),
        );
        let remote = RemoteFile {
            keys,
            size: o.size,
            mtime_ns: o.mtime_ns,
            etag: o.etag.clone(),
        };
        found.extend(remote.source(url, layout));
    }
    if let Some(files) = files {
        let have: HashSet<&str> = found.iter().map(|s| s.rel.as_str()).collect();
        if let Some(missing) = files.iter().find(|f| !have.contains(f.as_str())) {
            return Err(RemoteError::NotFound {
                url: url.of_key(&url.key(missing)),
                reason: "listed, but no such recording in the bucket".to_owned(),
            });
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((found, warnings))
}

fn is_recording_key(key: &str) -> bool {
    let ext = key.rsplit_once('.').map_or("", |(_, e)| e);
    ext.eq_ignore_ascii_case("edf") || ext.eq_ignore_ascii_case("bdf")
}

/// Remote recordings staged into `dir`, in queue order, a bounded number of
/// recordings and bytes ahead of the workers that take them.
pub(crate) struct Stager<'q> {
    bucket: Bucket,
    dir: PathBuf,
    queue: &'q [(&'q SourceFile, u64)],
    ahead: usize,
    state: Mutex<Staging>,
}

type Download = tokio::task::JoinHandle<Result<(), RemoteError>>;

struct Staging {
    /// The next queue position not yet started.
    next: usize,
    /// Bytes started and not yet released.
    bytes: u64,
    downloads: Vec<Option<Download>>,
}

/// Staged bytes allowed beyond the recordings being worked on.
const AHEAD_BYTES: u64 = 2 << 30;

impl<'q> Stager<'q> {
    /// A stager for the sources of `queue` in `bucket` (none without one: the
    /// sources are local) into `dir` (made if missing), two recordings per
    /// worker of `workers` ahead.
    ///
    /// # Errors
    /// `dir` cannot be made.
    pub(crate) fn start(
        bucket: Option<Bucket>,
        dir: PathBuf,
        queue: &'q [(&'q SourceFile, u64)],
        workers: usize,
    ) -> crate::Result<Option<Self>> {
        let Some(bucket) = bucket else {
            return Ok(None);
        };
        if let Err(source) = fs::create_dir_all(&dir) {
            return Err(super::IngestError::Source { path: dir, source }.into());
        }
        Ok(Some(Self {
            bucket,
            dir,
            queue,
            ahead: 2 * workers.max(1) + 2,
            state: Mutex::new(Staging {
                next: 0,
                bytes: 0,
                downloads: (0..queue.len()).map(|_| None).collect(),
            }),
        }))
    }

    /// Where queue entry `i` is staged: one folder per recording id (one safe
    /// name), its objects under their own file names.
    fn folder(&self, i: usize) -> PathBuf {
        self.dir.join(&self.queue[i].0.rid)
    }

    /// Starts the downloads of the entries from the next not started up to `i + ahead`,
    /// within the byte budget (entry `i` always).
    fn start_until(&self, i: usize, s: &mut Staging) {
        let rt = runtime();
        while s.next < self.queue.len() && s.next < i + self.ahead {
            let (src, bytes) = self.queue[s.next];
            if s.next > i && s.bytes + bytes > AHEAD_BYTES {
                break;
            }
            let Some(remote) = src.remote.clone() else {
                s.next += 1;
                continue;
            };
            let (bucket, folder) = (self.bucket.clone(), self.folder(s.next));
            s.downloads[s.next] = Some(rt.spawn(async move {
                tokio::fs::create_dir_all(&folder)
                    .await
                    .map_err(|source| RemoteError::Local {
                        path: folder.clone(),
                        source,
                    })?;
                let all = remote.keys.iter().map(|key| {
                    let name = key.rsplit_once('/').map_or(key.as_str(), |(_, n)| n);
                    let (bucket, path) = (bucket.clone(), folder.join(name));
                    async move { bucket.download(key, &path, None).await }
                });
                for r in futures::future::join_all(all).await {
                    r?;
                }
                Ok(())
            }));
            s.bytes += bytes;
            s.next += 1;
        }
    }

    /// The local copy of queue entry `i` (waiting for its download), as a
    /// source whose path is the staged EDF; or the reason it could not be had.
    pub(crate) fn take(&self, i: usize) -> Result<SourceFile, String> {
        let src = self.queue[i].0;
        let download = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            self.start_until(i, &mut s);
            s.downloads[i].take()
        };
        if let Some(d) = download {
            match runtime().block_on(d) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e.to_string()),
                Err(e) => return Err(format!("{}: download stopped: {e}", src.path.display())),
            }
        }
        let name = src.path.file_name().unwrap_or_default();
        Ok(SourceFile {
            path: self.folder(i).join(name),
            ..src.clone()
        })
    }

    /// Removes entry `i`'s local copy and returns its bytes to the budget.
    pub(crate) fn release(&self, i: usize) {
        let _ = fs::remove_dir_all(self.folder(i));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.bytes = s.bytes.saturating_sub(self.queue[i].1);
    }

    /// `reason` with the staged folder of entry `i` written as the recording's
    /// folder URL, so failures name the object, not the temporary copy.
    pub(crate) fn name_remote(&self, i: usize, reason: &str) -> String {
        let src = self.queue[i].0;
        let staged = format!("{}/", self.folder(i).display());
        let url = src.path.to_string_lossy();
        let folder = url.rsplit_once('/').map_or(url.as_ref(), |(d, _)| d);
        reason.replace(&staged, &format!("{folder}/"))
    }
}

impl Drop for Stager<'_> {
    fn drop(&mut self) {
        let s = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        for d in s.downloads.iter_mut().filter_map(Option::take) {
            d.abort();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The URL `source` names, if it is one.
///
/// # Errors
/// An `s3://` URL that does not parse.
pub(crate) fn source_url(source: &Path) -> Result<Option<Url>, RemoteError> {
    match source.to_str() {
        Some(s) if crate::remote::is_url(s) => Url::parse(s).map(Some),
        _ => Ok(None),
    }
}
