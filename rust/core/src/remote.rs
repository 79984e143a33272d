//! Object storage (Amazon S3 and S3-compatible servers) through the maintained
//! `object_store` client: `s3://bucket/prefix` URLs, a client configured the
//! way the AWS tools are, and the few operations brainbrr needs, each error
//! naming the URL it concerns.
//!
//! Configuration, the first found winning: the `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`), then the profile
//! `AWS_PROFILE` (or `default`) of the shared files `~/.aws/credentials` and
//! `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`). An
//! endpoint that says `http://` allows plain HTTP. Requests are retried with
//! exponential backoff by the client (transient errors, 10 tries within 3 min);
//! downloads are retried once more as a whole when their body breaks off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// An object-storage error, naming the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// Not an `s3://bucket/...` URL, or one brainbrr refuses.
    #[error("{url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object (or bucket) does not exist.
    #[error("{url}: not found ({reason})")]
    NotFound {
        /// The object's URL.
        url: String,
        /// The server's words.
        reason: String,
    },
    /// The credentials are missing, invalid or not allowed this operation.
    #[error("{url}: access denied ({reason})")]
    Denied {
        /// The object's URL.
        url: String,
        /// The server's words.
        reason: String,
    },
    /// A conditional write found the object created or changed by someone else.
    #[error("{url}: written by another process meanwhile")]
    Conflict {
        /// The object's URL.
        url: String,
    },
    /// A downloaded object failed its check (a checksum that differs).
    #[error("{url}: {reason}")]
    Damaged {
        /// The object's URL.
        url: String,
        /// What the check found.
        reason: String,
    },
    /// Any other failure, after the client's retries.
    #[error("{url}: {reason}")]
    Other {
        /// The object's URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A local file the transfer reads or writes.
    #[error("{}: {source}", path.display())]
    Local {
        /// The local file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether `s` names object storage rather than a local path.
pub fn is_url(s: &str) -> bool {
    s.starts_with("s3://")
}

/// `s3://bucket/prefix`: a bucket and a key prefix without leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (no trailing `/`), empty for the whole bucket.
    pub prefix: String,
}

impl Url {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// Another scheme, no bucket, or a prefix with empty, `.` or `..` segments
    /// (keys that would not map to one local path each).
    pub fn parse(url: &str) -> Result<Self, RemoteError> {
        let bad = |reason: &str| RemoteError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.split('/').all(is_plain_segment) {
            return Err(bad("empty, '.' or '..' segments in the key"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The key of `rel` (a `/`-separated path) under the prefix.
    pub fn key(&self, rel: &str) -> String {
        match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rel}", self.prefix),
        }
    }

    /// The prefix as a key prefix that lists what lies below it: `prefix/`, or empty.
    pub fn dir(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// The URL of `key` in this bucket.
    pub fn of_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `key` relative to the prefix, if it lies below it.
    pub fn rel<'k>(&self, key: &'k str) -> Option<&'k str> {
        if self.prefix.is_empty() {
            return Some(key);
        }
        key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A key segment that maps to one local path component.
pub fn is_plain_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('\0')
}

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
    store: Arc<AmazonS3>,
    url: Url,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.url)
    }
}

/// The I/O runtime: two threads drive every transfer in flight. Made anew in a
/// forked child (a DataLoader worker), where the parent's threads do not exist.
pub(crate) fn runtime() -> Arc<tokio::runtime::Runtime> {
    /// The runtime and the process that started it.
    type Owned = Option<(u32, Arc<tokio::runtime::Runtime>)>;
    static RT: OnceLock<Mutex<Owned>> = OnceLock::new();
    let slot = RT.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return rt.clone();
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("brainbrr-io")
            .enable_all()
            .build()
            // ok: no input reaches this; only an OS that refuses two threads fails it.
            .unwrap_or_else(|e| panic!("cannot start the I/O runtime: {e}")),
    );
    // A runtime inherited over fork has no threads: it is leaked, never dropped
    // (dropping would wait for threads that do not exist in this process).
    if let Some((_, old)) = slot.replace((pid, rt.clone())) {
        std::mem::forget(old);
    }
    rt
}

impl Bucket {
    /// A client for `url`'s bucket, configured from the environment and the
    /// shared AWS files.
    ///
    /// # Errors
    /// A configuration the client refuses (named).
    pub fn open(url: &Url) -> Result<Self, RemoteError> {
        let settings = Settings::load();
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&url.bucket)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
            .with_retry(object_store::RetryConfig::default());
        if let (Some(id), Some(secret)) = (&settings.key_id, &settings.secret) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        if let Some(token) = &settings.token {
            b = b.with_token(token);
        }
        if let Some(endpoint) = &settings.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = b.build().map_err(|e| RemoteError::Other {
            url: url.to_string(),
            reason: format!("cannot configure the S3 client: {e}"),
        })?;
        Ok(Self {
            store: Arc::new(store),
            url: url.clone(),
        })
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
        use object_store::list::{PaginatedListOptions, PaginatedListStore};
        const PAGE: usize = 1000;
        let store = self.store.clone();
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
                match store.list_paginated(within.as_deref(), opts).await {
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
        let tmp = tmp_beside(path);
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
        let store: Arc<dyn ObjectStore> = self.store.clone();
        let mut writer = object_store::buffered::BufWriter::new(store, self.key(key)?);
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

/// A temporary name beside `path`, unique to this process and call.
pub(crate) fn tmp_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(
        ".{name}.{}.{}.part",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

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

/// What the AWS tools would use: the environment first, then the profile's files.
#[derive(Debug, Default)]
struct Settings {
    key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
}

impl Settings {
    fn load() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = env("HOME").map(PathBuf::from);
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let file = |var: &str, name: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let creds = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            .map(|p| ini_section(&p, &profile))
            .unwrap_or_default();
        // The config file names every profile but the default `profile NAME`.
        let section = if profile == "default" {
            profile.clone()
        } else {
            format!("profile {profile}")
        };
        let config = file("AWS_CONFIG_FILE", "config")
            .map(|p| ini_section(&p, &section))
            .unwrap_or_default();
        let from_files = |k: &str| creds.get(k).or_else(|| config.get(k)).cloned();
        Self {
            key_id: env("AWS_ACCESS_KEY_ID").or_else(|| from_files("aws_access_key_id")),
            secret: env("AWS_SECRET_ACCESS_KEY").or_else(|| from_files("aws_secret_access_key")),
            token: env("AWS_SESSION_TOKEN").or_else(|| from_files("aws_session_token")),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .or_else(|| from_files("region")),
            endpoint: env("AWS_ENDPOINT_URL_S3")
                .or_else(|| env("AWS_ENDPOINT_URL"))
                .or_else(|| from_files("endpoint_url")),
        }
    }
}

/// The `key = value` pairs of `[section]` in an INI file (empty when unreadable).
fn ini_section(path: &Path, section: &str) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut inside = false;
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_name_the_problem() {
        let u = Url::parse("s3://bucket/a/b/").expect("valid");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("bucket", "a/b"));
        assert_eq!(u.key("x.edf"), "a/b/x.edf");
        assert_eq!(u.rel("a/b/c/x.edf"), Some("c/x.edf"));
        assert_eq!(u.rel("a/bc/x.edf"), None);
        let whole = Url::parse("s3://bucket").expect("valid");
        assert_eq!(
            (whole.prefix.as_str(), whole.key("x")),
            ("", "x".to_owned())
        );
        for bad in [
            "s3://",
            "s3:///x",
            "http://b/x",
            "s3://b/a/../x",
            "s3://b//x",
        ] {
            let e = Url::parse(bad).expect_err(bad).to_string();
            assert!(e.starts_with(bad), "{e}");
        }
    }

    #[test]
    fn profiles_come_from_their_section() {
        let dir = std::env::temp_dir().join(format!("brainbrr-ini-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join("config");
        std::fs::write(
            &p,
            "[default]\nregion = eu-west-1\n# note\n[profile lab]\nregion=us-east-2\nendpoint_url = http://127.0.0.1:9000\n",
        )
        .expect("write");
        assert_eq!(ini_section(&p, "default")["region"], "eu-west-1");
        let lab = ini_section(&p, "profile lab");
        assert_eq!(lab["endpoint_url"], "http://127.0.0.1:9000");
        assert!(ini_section(&dir.join("missing"), "default").is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
