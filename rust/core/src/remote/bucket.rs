//! A client for one bucket over any `object_store` store (Amazon S3 in use,
//! the in-memory store in tests): the few operations brainbrr needs, each
//! error naming the URL it concerns. Requests are retried with exponential
//! backoff by the client (transient errors, 10 tries within 3 min); downloads
//! are retried once more as a whole when their body breaks off.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use futures::StreamExt;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::aws_config;
use super::error::RemoteError;
use super::runtime::runtime;
use super::url::Url;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// The full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Entity tag: changes whenever the object is written with other bytes.
    pub etag: Option<String>,
}

/// What a listing found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The objects, in key order.
    pub objects: Vec<Object>,
    /// Keys with an empty, `.` or `..` segment: they name no local file.
    pub odd: Vec<String>,
}

/// A client for one bucket. Cheap to clone; every call blocks the calling
/// thread on brainbrr's I/O runtime, so it may be used from any thread.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    pages: Arc<dyn PaginatedListStore>,
    url: Url,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.url)
    }
}

impl Bucket {
    /// A client for `url`'s bucket, configured from the environment and the
    /// shared AWS files ([`super::aws_config`]).
    ///
    /// # Errors
    /// A configuration the client refuses (named).
    pub fn open(url: &Url) -> Result<Self, RemoteError> {
        let s3 = Arc::new(
            aws_config::client(&url.bucket).map_err(|e| RemoteError::Other {
                url: url.to_string(),
                reason: format!("cannot configure the S3 client: {e}"),
            })?,
        );
        Ok(Self::new(url, s3.clone(), s3))
    }

    /// A client for `url` over any object store: `store` for the objects,
    /// `pages` for the listing, which steps page by page after a key (S3's
    /// `start-after`), as [`Bucket::listing`] needs to step over odd keys.
    pub(crate) fn new(
        url: &Url,
        store: Arc<dyn ObjectStore>,
        pages: Arc<dyn PaginatedListStore>,
    ) -> Self {
        Self {
            store,
            pages,
            url: url.clone(),
        }
    }

    /// The URL this client was opened for.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `key` as the client's path, byte for byte (`Path::from` would percent-encode
    /// `~` and `%`, which recording ids contain, and so name another object).
    fn key(&self, key: &str) -> Result<Key, RemoteError> {
        Key::parse(key).map_err(|e| RemoteError::Url {
            url: self.url.of_key(key),
            reason: format!("not a usable object key: {e}"),
        })
    }

    fn error(&self, key: &str, e: object_store::Error) -> RemoteError {
        let url = self.url.of_key(key);
        match e {
            object_store::Error::NotFound { source, .. } => RemoteError::NotFound {
                url,
                reason: server_words(source.as_ref()),
            },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => RemoteError::Denied {
                url,
                reason: server_words(source.as_ref()),
            },
            object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. } => RemoteError::Conflict { url },
            e => {
                // The client reports a missing bucket or a refused signature as a
                // generic error carrying the server's status: name it.
                let reason = server_words(&e);
                if reason.starts_with("NoSuchBucket") {
                    RemoteError::NotFound { url, reason }
                } else if reason.contains("AccessDenied")
                    || reason.contains("InvalidAccessKeyId")
                    || reason.contains("SignatureDoesNotMatch")
                    || reason.contains("403 Forbidden")
                {
                    RemoteError::Denied { url, reason }
                } else {
                    RemoteError::Other { url, reason }
                }
            }
        }
    }

    /// Every object under `prefix` (a key prefix ending in `/`, or empty), in
    /// key order, and apart, the keys that name no file (an empty, `.` or `..`
    /// segment, as `notes//readme.txt`): the client refuses a whole page of a
    /// listing for one such key, so that page is listed again in smaller
    /// pages until the key stands alone and can be stepped over (a few more
    /// requests per odd key, none without one).
    ///
    /// # Errors
    /// A missing bucket, denied access, or a failure after retries.
    pub fn listing(&self, prefix: &str) -> Result<Listing, RemoteError> {
        const PAGE: usize = 1000;
        let pages = self.pages.clone();
        let within = (!prefix.is_empty()).then(|| prefix.to_owned());
        let listed = runtime().block_on(async move {
            let mut listing = Listing::default();
            let (mut after, mut page): (Option<String>, usize) = (None, PAGE);
            loop {
                let opts = PaginatedListOptions {
                    offset: after.clone(),
                    max_keys: Some(page),
                    ..PaginatedListOptions::default()
                };
                match pages.list_paginated(within.as_deref(), opts).await {
                    Ok(got) => {
                        let objects = got.result.objects;
                        if let Some(last) = objects.last() {
                            after = Some(last.location.to_string());
                        }
                        listing
                            .objects
                            .extend(objects.into_iter().map(|meta| Object {
                                key: meta.location.to_string(),
                                size: meta.size,
                                mtime_ns: meta.last_modified.timestamp_nanos_opt().unwrap_or(0),
                                etag: meta.e_tag,
                            }));
                        if got.page_token.is_none() {
                            return Ok(listing);
                        }
                        page = PAGE;
                    }
                    Err(object_store::Error::InvalidPath {
                        source:
                            object_store::path::Error::EmptySegment { path }
                            | object_store::path::Error::BadSegment { path, .. },
                    }) if page == 1 => {
                        after = Some(path.clone());
                        listing.odd.push(path);
                        page = PAGE;
                    }
                    Err(object_store::Error::InvalidPath { .. }) if page > 1 => page /= 2,
                    Err(e) => return Err(e),
                }
            }
        });
        let mut listing = listed.map_err(|e| self.error(prefix, e))?;
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listing)
    }

    /// Every object under `prefix` (as [`Bucket::listing`]), where no key may
    /// name no file: what brainbrr reads as a store or writes to.
    ///
    /// # Errors
    /// The listing's; [`RemoteError::Url`] naming a key with an empty, `.` or
    /// `..` segment (nothing brainbrr writes has one, and it is never silently
    /// left out of a copy).
    pub fn list(&self, prefix: &str) -> Result<Vec<Object>, RemoteError> {
        let listing = self.listing(prefix)?;
        match listing.odd.first() {
            Some(odd) => Err(RemoteError::Url {
                url: self.url.of_key(odd),
                reason: "a key with an empty, '.' or '..' segment names no file; \
                         remove the object (brainbrr never writes one)"
                    .to_owned(),
            }),
            None => Ok(listing.objects),
        }
    }

    /// The whole object `key`, or `None` when there is none.
    ///
    /// # Errors
    /// Denied access or a failure after retries.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let store = self.store.clone();
        let k = self.key(key)?;
        match runtime().block_on(async move { store.get(&k).await?.bytes().await }) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Downloads `key` to `path` (its folder must exist) and gives the file the
    /// object's modification time. The bytes go to a new temporary beside
    /// `path`, checked by `check` when given, and renamed over `path` only
    /// then: a reader (or a process killed at any point) never leaves part of
    /// a file, or a damaged one, under the name. Returns the object's size.
    pub async fn download(
        &self,
        key: &str,
        path: &Path,
        check: Option<&Check>,
    ) -> Result<u64, RemoteError> {
        let mut last = None;
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            match self.download_once(key, path, check).await {
                Ok(size) => return Ok(size),
                // A body that broke off, or arrived damaged, is worth a new
                // request; a refusal is not.
                Err(e @ (RemoteError::Other { .. } | RemoteError::Damaged { .. })) => {
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| RemoteError::Other {
            url: self.url.of_key(key),
            reason: "download failed".to_owned(),
        }))
    }

    async fn download_once(
        &self,
        key: &str,
        path: &Path,
        check: Option<&Check>,
    ) -> Result<u64, RemoteError> {
        let local = |source| RemoteError::Local {
            path: path.to_owned(),
            source,
        };
        let got = self
            .store
            .get(&self.key(key)?)
            .await
            .map_err(|e| self.error(key, e))?;
        let mtime = got.meta.last_modified;
        let tmp = crate::process::tmp_beside(path);
        let mut file = tokio::fs::File::from_std(crate::nofollow::create_new(&tmp).map_err(local)?);
        let mut stream = got.into_stream();
        let mut size = 0u64;
        let result = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error(key, e))?;
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(local)?;
            }
            file.flush().await.map_err(local)?;
            let file = file.into_std().await;
            let when = UNIX_EPOCH
                + Duration::from_nanos(
                    u64::try_from(mtime.timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0),
                );
            file.set_modified(when).map_err(local)?;
            if let Some(check) = check {
                check(&tmp).map_err(|reason| RemoteError::Damaged {
                    url: self.url.of_key(key),
                    reason,
                })?;
            }
            std::fs::rename(&tmp, path).map_err(local)
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| size)
    }

    /// Uploads the file `path` to `key` (multipart when large), replacing any object there.
    ///
    /// # Errors
    /// The file cannot be read; denied access or a failure after retries.
    pub async fn upload(&self, path: &Path, key: &str) -> Result<(), RemoteError> {
        let local = |source| RemoteError::Local {
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(local)?;
        let mut writer = object_store::buffered::BufWriter::new(self.store.clone(), self.key(key)?);
        let sent = async {
            tokio::io::copy(&mut file, &mut writer).await?;
            writer.shutdown().await
        };
        sent.await.map_err(|e| RemoteError::Other {
            url: self.url.of_key(key),
            reason: format!("upload of {} failed: {e}", path.display()),
        })
    }

    /// Writes `bytes` to `key` only if no object is there (`If-None-Match: *`),
    /// returning its entity tag; [`RemoteError::Conflict`] when there was one.
    pub async fn create(&self, key: &str, bytes: Vec<u8>) -> Result<String, RemoteError> {
        self.put_opts(key, bytes, PutMode::Create).await
    }

    /// Replaces `key` only if it still has entity tag `etag` (`If-Match`),
    /// returning the new tag; [`RemoteError::Conflict`] when it changed.
    pub async fn replace(
        &self,
        key: &str,
        bytes: Vec<u8>,
        etag: &str,
    ) -> Result<String, RemoteError> {
        let version = UpdateVersion {
            e_tag: Some(etag.to_owned()),
            version: None,
        };
        self.put_opts(key, bytes, PutMode::Update(version)).await
    }

    async fn put_opts(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<String, RemoteError> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let put = self
            .store
            .put_opts(&self.key(key)?, PutPayload::from(bytes), opts)
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(put.e_tag.unwrap_or_default())
    }

    /// The object's entity tag and bytes, or `None` when there is none.
    pub async fn get_tagged(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, RemoteError> {
        match self.store.get(&self.key(key)?).await {
            Ok(got) => {
                let tag = got.meta.e_tag.clone().unwrap_or_default();
                let bytes = got.bytes().await.map_err(|e| self.error(key, e))?;
                Ok(Some((tag, bytes.to_vec())))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Deletes `key` (no error when it is already gone).
    pub async fn delete(&self, key: &str) -> Result<(), RemoteError> {
        match self.store.delete(&self.key(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    /// Runs `f` on the I/O runtime, blocking this (non-runtime) thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        runtime().block_on(f)
    }
}

/// A check of a downloaded file before it takes its name: a sentence saying
/// what is wrong.
pub type Check = dyn Fn(&Path) -> Result<(), String> + Send + Sync;

/// The server's `<Code>` and `<Message>` when its reply carries them (an S3
/// error document), else the error chain on one line.
fn server_words(e: &dyn std::error::Error) -> String {
    let text = error_chain(e);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + len].to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut at = e.source();
    while let Some(s) = at {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        at = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::memory;

    fn put(bucket: &Bucket, key: &str, bytes: &[u8]) {
        bucket
            .block_on(bucket.put_opts(key, bytes.to_vec(), PutMode::Overwrite))
            .expect("put");
    }

    #[test]
    fn a_listing_steps_over_odd_keys_and_list_refuses_them_by_name() {
        let odd = ["p/a//x.edf", "p/b/./y", "p/c/../z"];
        let (bucket, _) = memory::bucket_with_odd("s3://b/p", &odd);
        for key in ["p/a/1.edf", "p/b/2", "p/c/3", "p/d", "other/x", "p0/y"] {
            put(&bucket, key, key.as_bytes());
        }
        let listing = bucket.listing(&bucket.url().dir()).expect("listing");
        let keys: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["p/a/1.edf", "p/b/2", "p/c/3", "p/d"]);
        assert_eq!(listing.odd, odd);
        assert_eq!(listing.objects[3].size, 3);
        match bucket.list(&bucket.url().dir()) {
            Err(RemoteError::Url { url, reason }) => {
                assert_eq!(url, "s3://b/p/a//x.edf");
                assert!(reason.contains("names no file"), "{reason}");
            }
            other => panic!("odd keys listed: {other:?}"),
        }
    }

    #[test]
    fn a_listing_longer_than_a_page_continues_after_its_last_key() {
        let (bucket, _) = memory::bucket("s3://b");
        let keys: Vec<String> = (0..1003).map(|i| format!("k/{i:05}")).collect();
        for key in &keys {
            put(&bucket, key, b"");
        }
        let listed: Vec<String> = bucket
            .list("")
            .expect("list")
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(listed, keys);
    }

    #[test]
    fn writes_are_conditional_on_absence_or_on_the_entity_tag() {
        let (bucket, _) = memory::bucket("s3://b/p");
        let tag = bucket
            .block_on(bucket.create("p/k", b"1".to_vec()))
            .expect("created");
        match bucket.block_on(bucket.create("p/k", b"x".to_vec())) {
            Err(RemoteError::Conflict { url }) => assert_eq!(url, "s3://b/p/k"),
            other => panic!("created twice: {other:?}"),
        }
        assert!(matches!(
            bucket.block_on(bucket.replace("p/k", b"x".to_vec(), "another")),
            Err(RemoteError::Conflict { .. })
        ));
        let new = bucket
            .block_on(bucket.replace("p/k", b"2".to_vec(), &tag))
            .expect("replaced");
        assert_ne!(new, tag);
        assert!(matches!(
            bucket.block_on(bucket.replace("p/k", b"x".to_vec(), &tag)),
            Err(RemoteError::Conflict { .. })
        ));
        let got = bucket.block_on(bucket.get_tagged("p/k")).expect("get");
        assert_eq!(got, Some((new, b"2".to_vec())));
        bucket.block_on(bucket.delete("p/k")).expect("delete");
        bucket.block_on(bucket.delete("p/k")).expect("already gone");
        assert_eq!(bucket.get("p/k").expect("get"), None);
        assert!(matches!(
            bucket.block_on(bucket.replace("p/k", b"x".to_vec(), &tag)),
            Err(RemoteError::Conflict { .. })
        ));
    }

    #[test]
    fn a_download_takes_its_name_only_once_checked() {
        let dir = std::env::temp_dir().join(format!("brainbrr-bucket-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let (bucket, _) = memory::bucket("s3://b");
        let (src, dst) = (dir.join("src"), dir.join("dst"));
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &bytes).expect("write");
        bucket
            .block_on(bucket.upload(&src, "k/data"))
            .expect("upload");
        let size = bucket
            .block_on(bucket.download("k/data", &dst, None))
            .expect("download");
        assert_eq!((size, std::fs::read(&dst).expect("read")), (200_000, bytes));
        let object = &bucket.list("k/").expect("list")[0];
        let mtime = std::fs::metadata(&dst)
            .and_then(|m| m.modified())
            .expect("mtime");
        let ns = mtime
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        assert_eq!(ns as i64, object.mtime_ns, "the object's modification time");

        let refuse: &Check = &|_| Err("bad bytes".to_owned());
        let fresh = dir.join("fresh");
        match bucket.block_on(bucket.download("k/data", &fresh, Some(refuse))) {
            Err(RemoteError::Damaged { url, reason }) => {
                assert_eq!(
                    (url.as_str(), reason.as_str()),
                    ("s3://b/k/data", "bad bytes")
                );
            }
            other => panic!("a refused download: {other:?}"),
        }
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary and no file left: {names:?}");
        assert!(matches!(
            bucket.block_on(bucket.download("k/none", &fresh, None)),
            Err(RemoteError::NotFound { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
