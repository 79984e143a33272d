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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::memory;

    const EDF: &str = "corpus/train/p1/r1.edf";

    /// A corpus of two recordings, one with its annotations beside it, and
    /// a key that names no file.
    fn corpus() -> Bucket {
        use object_store::ObjectStore;
        let (bucket, store) = memory::bucket_with_odd("s3://b/corpus", &["corpus/train//odd.edf"]);
        for (key, bytes) in [
            (EDF, &b"edf one"[..]),
            ("corpus/train/p1/r1.csv_bi", b"labels"),
            ("corpus/train/p1/r1.csv", b"types"),
            ("corpus/train/p1/notes.txt", b"notes"),
            ("corpus/dev/p2/r2.EDF", b"edf two!"),
            ("elsewhere/r3.edf", b"not below the URL"),
        ] {
            let key = object_store::path::Path::parse(key).expect("key");
            bucket
                .block_on(store.put(&key, bytes.to_vec().into()))
                .expect("put");
        }
        bucket
    }

    #[test]
    fn remote_sources_come_with_their_annotations_and_odd_keys_are_left_out() {
        let bucket = corpus();
        let (found, warnings) =
            discover_remote(&bucket, None, &PathLayout::default()).expect("discover");
        let rels: Vec<&str> = found.iter().map(|s| s.rel.as_str()).collect();
        assert_eq!(rels, ["dev/p2/r2.EDF", "train/p1/r1.edf"]);
        let r1 = found[1].remote.as_ref().expect("remote");
        assert_eq!(
            r1.keys,
            [EDF, "corpus/train/p1/r1.csv", "corpus/train/p1/r1.csv_bi"]
        );
        assert_eq!((r1.size, r1.etag.is_some()), (7, true));
        assert_eq!(found[1].path, PathBuf::from(format!("s3://b/{EDF}")));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].0, "s3://b/corpus/train//odd.edf");
        let wanted = ["train/p1/r1.edf".to_owned(), "train/p9/none.edf".to_owned()];
        match discover_remote(&bucket, Some(&wanted[..]), &PathLayout::default()) {
            Err(RemoteError::NotFound { url, .. }) => {
                assert_eq!(url, "s3://b/corpus/train/p9/none.edf");
            }
            other => panic!("a listed file that is not there: {other:?}"),
        }
    }

    #[test]
    fn the_stager_hands_out_local_copies_and_removes_them() {
        let bucket = corpus();
        let (found, _) = discover_remote(&bucket, None, &PathLayout::default()).expect("discover");
        let queue: Vec<(&SourceFile, u64)> = found.iter().map(|s| (s, 10)).collect();
        let dir = std::env::temp_dir().join(format!("brainbrr-stager-{}", std::process::id()));
        let stager = Stager::start(Some(bucket), dir.clone(), &queue, 1)
            .expect("start")
            .expect("remote sources are staged");
        let r1 = stager.take(1).expect("staged");
        assert_eq!(r1.path, dir.join(&found[1].rid).join("r1.edf"));
        assert_eq!(fs::read(&r1.path).expect("edf"), b"edf one");
        assert_eq!(
            fs::read(r1.path.with_extension("csv_bi")).expect("beside"),
            b"labels"
        );
        assert_eq!(r1.rel, found[1].rel);
        let staged = format!("{}/r1.edf: bad header", dir.join(&found[1].rid).display());
        assert_eq!(
            stager.name_remote(1, &staged),
            "s3://b/corpus/train/p1/r1.edf: bad header"
        );
        stager.release(1);
        assert!(!dir.join(&found[1].rid).exists());
        assert_eq!(
            fs::read(stager.take(0).expect("staged").path).expect("edf"),
            b"edf two!"
        );
        drop(stager);
        assert!(!dir.exists(), "the staging folder goes with the stager");
        let none = Stager::start(None, dir.clone(), &queue, 1).expect("start");
        assert!(
            none.is_none() && !dir.exists(),
            "local sources are not staged"
        );
    }
}
