//! The store: one Zarr v3 hierarchy on the local file system, written with
//! zarrs and readable by plain `zarr.open_group` (store format 1).
//!
//! ```text
//! cache.zarr/
//!   zarr.json                 group; attributes["brainbrr"] = RootMeta:
//!                             {format: 1, config, config_hash, channels, fs,
//!                              label_names: {"0": "bckg", "1": "seiz", "255": "unlabeled"},
//!                              version, index: {complete, ...summary}}
//!   recordings/zarr.json      plain group
//!   recordings/<rid>/         group; attributes["brainbrr_recording"] = RecordingMeta
//!     signal/                 float32 (or float16) [C, n], ONE chunk [C, n], codecs:
//!       zarr.json             `bytes` little-endian, optionally then zstd
//!       c/0/0                 raw C-order samples when uncompressed: C*n*itemsize bytes
//!     label/                  uint8 [n], one chunk, fill 255
//!       c/0
//!   index/                    group; attributes["brainbrr_index"] = {window_samples, stride_samples, counts}
//!     recordings/{rid, path, split, patient, session}   string (vlen-utf8)
//!     recordings/{n_samples, n_windows, window_offset}  int64
//!     windows/{recording int32, start int64, label uint8, seizure_fraction float32}
//!     failures/{path, reason}                           string
//!   .brainbrr-tmp/            temporaries (never part of the hierarchy)
//! ```
//!
//! Decisions:
//! - One chunk per recording array: an uncompressed signal chunk file is the
//!   raw little-endian samples, so a reader memory-maps it and every window is a
//!   strided view, with no decode and no copy ([`Store::chunk_path`]). zstd
//!   ([`SignalCodec::Zstd`]) is for archives; such a store is read by decoding.
//!   Empty arrays (n = 0, or empty index tables) have chunk size 1 (zarr needs
//!   positive chunk sizes) and no chunk file.
//! - Chunks are written even when they equal the fill value (an all-zero signal,
//!   an unlabeled recording), so the chunk file always exists when n > 0.
//! - Commit: a recording is written as a complete group in
//!   `.brainbrr-tmp/<rid>.<pid>.<counter>/`, made durable, and renamed to
//!   `recordings/<rid>` (see `commit.rs` for the fsync order and the replace
//!   window). The `brainbrr_recording` attribute in the group's `zarr.json` is
//!   the commit marker: a `recordings/<rid>` without it is not committed, and
//!   [`Store::clean_temporaries`] removes it.
//! - The index is rebuilt in full at the end of an ingest: written as a
//!   temporary tree and swapped in like a recording; then the root attribute
//!   `index.complete` is set to true. An ingest sets it to false first, so a
//!   reader can tell an index that does not cover the recordings.
//! - The store layer treats the config as opaque JSON; a store built with another
//!   config hash is refused with the differing JSON paths and left untouched.
//! - Root `zarr.json` updates go through a temporary file and a rename.
//! - Missing optional text fields (split, patient, session) are `""` in the index.

mod commit;
mod error;
mod index;
mod meta;
mod read;
mod recording;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use zarrs::array::CodecOptions;
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

pub use commit::TMP_DIR;
pub use error::StoreError;
pub use index::{FailureRows, IndexTables, RecordingRows, WindowRows};
pub use meta::{FORMAT, RecordingMeta, RootMeta, json_diff};
pub use recording::{RecordingWriter, Signal, SignalCodec, SignalData, validate_rid};
pub use verify::VerifyReport;

/// An open store. Cheap to share across threads (`&Store` is enough to write
/// recordings concurrently).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    zarr: Arc<FilesystemStore>,
    root: RootMeta,
    codec: SignalCodec,
}

/// Codec options for every chunk write: keep chunks equal to the fill value
/// (zarrs skips them by default, which would break the chunk-file contract).
pub(crate) fn codec_options() -> CodecOptions {
    CodecOptions::default().with_store_empty_chunks(true)
}

/// A JSON file, `None` when it does not exist.
pub(crate) fn read_json(path: &Path) -> Result<Option<Value>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::BadMetadata {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

fn is_empty_dir(path: &Path) -> Result<bool, StoreError> {
    match fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

impl Store {
    fn with_root(path: &Path, root: RootMeta) -> Result<Self, StoreError> {
        let zarr = FilesystemStore::new(path).map_err(|e| StoreError::zarr(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            zarr: Arc::new(zarr),
            root,
            codec: SignalCodec::Raw,
        })
    }

    /// Create a new store at `path` (absent or an empty directory).
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] for a non-empty directory, I/O and zarrs errors.
    pub fn create(path: impl AsRef<Path>, root: RootMeta) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !is_empty_dir(path)? {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        // Built beside `path` and renamed into place: a crash never leaves a
        // half-created store that later runs would refuse.
        let staging = sibling(path, "creating");
        fs::create_dir_all(&staging).map_err(|e| StoreError::io(&staging, e))?;
        {
            let store = Self::with_root(&staging, root.clone())?;
            GroupBuilder::new()
                .build(store.zarr.clone(), "/recordings")
                .and_then(|g| g.store_metadata().map_err(Into::into))
                .map_err(|e| StoreError::zarr(staging.join("recordings"), e))?;
            store.write_root()?;
        }
        if path.exists() {
            fs::remove_dir(path).map_err(|e| StoreError::io(path, e))?;
        }
        fs::rename(&staging, path).map_err(|e| StoreError::io(path, e))?;
        commit::sync_dir(parent_dir(path))?;
        Self::with_root(path, root)
    }

    /// Open an existing store.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] without a root group carrying `brainbrr`
    /// attributes, [`StoreError::UnsupportedFormat`] for a format other than 1,
    /// [`StoreError::BadMetadata`], I/O errors (`NotFound` when `path` does not exist).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let not_a_store = |reason: &str| StoreError::NotAStore {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
        let meta_path = path.join("zarr.json");
        let doc = read_json(&meta_path)?.ok_or_else(|| not_a_store("no zarr.json"))?;
        let attrs = doc
            .get("attributes")
            .and_then(|a| a.get(meta::ROOT_KEY))
            .ok_or_else(|| not_a_store("no \"brainbrr\" attribute in zarr.json"))?;
        let format = attrs.get("format").cloned().unwrap_or(Value::Null);
        if format.as_u64() != Some(u64::from(FORMAT)) {
            return Err(StoreError::UnsupportedFormat {
                path: path.to_owned(),
                found: format.to_string(),
            });
        }
        let root = serde_json::from_value(attrs.clone()).map_err(|e| StoreError::BadMetadata {
            path: meta_path,
            reason: e.to_string(),
        })?;
        Self::with_root(path, root)
    }

    /// Open the store at `path` if it was built with the same config, else create it.
    ///
    /// With `overwrite`, an existing brainbrr store is deleted and recreated (a
    /// non-empty directory that is not a brainbrr store is never deleted).
    ///
    /// # Errors
    /// [`StoreError::ConfigMismatch`] naming each differing JSON path (the store
    /// is not modified), the errors of [`Store::open`] and [`Store::create`].
    pub fn open_or_create(
        path: impl AsRef<Path>,
        root: RootMeta,
        overwrite: bool,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        remove_stale_siblings(path);
        if is_empty_dir(path)? {
            return Self::create(path, root);
        }
        let existing = Self::open(path)?;
        if overwrite {
            // Moved aside first, so a crash while deleting never leaves a store
            // whose recordings lost their arrays but kept their commit markers.
            let old = sibling(path, "old");
            fs::rename(path, &old).map_err(|e| StoreError::io(path, e))?;
            let store = Self::create(path, root)?;
            fs::remove_dir_all(&old).map_err(|e| StoreError::io(&old, e))?;
            return Ok(store);
        }
        let differences = json_diff(&existing.root.identity(), &root.identity());
        if differences.is_empty() {
            Ok(existing)
        } else {
            Err(StoreError::ConfigMismatch {
                path: path.to_owned(),
                differences,
            })
        }
    }

    /// Encode the signals of later [`Store::write_recording`] calls with `codec`.
    #[must_use]
    pub fn with_signal_codec(mut self, codec: SignalCodec) -> Self {
        self.codec = codec;
        self
    }

    /// The signal codec of this handle.
    pub fn signal_codec(&self) -> SignalCodec {
        self.codec
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root `brainbrr` attributes, as of opening or the last update through this handle.
    pub fn root_meta(&self) -> &RootMeta {
        &self.root
    }

    pub(crate) fn zarr_store(&self) -> Arc<FilesystemStore> {
        self.zarr.clone()
    }

    /// Mark the index complete (after [`Store::write_index`]) or not (at the
    /// start of an ingest). `summary` (a JSON object: counts, timestamps) is
    /// stored beside `complete` in `attributes.brainbrr.index`.
    ///
    /// # Errors
    /// I/O and zarrs errors rewriting the root `zarr.json`.
    pub fn set_index_complete(&mut self, complete: bool, summary: Value) -> Result<(), StoreError> {
        let mut index = match summary {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => serde_json::Map::from_iter([("summary".to_owned(), other)]),
        };
        index.insert("complete".to_owned(), Value::Bool(complete));
        self.root.index = Value::Object(index);
        self.write_root()
    }

    /// Rewrite the root `zarr.json` from `self.root`, atomically.
    fn write_root(&self) -> Result<(), StoreError> {
        let attrs =
            serde_json::to_value(&self.root).map_err(|e| StoreError::zarr(&self.path, e))?;
        let attributes = serde_json::Map::from_iter([(meta::ROOT_KEY.to_owned(), attrs)]);
        let group = GroupBuilder::new()
            .attributes(attributes)
            .build(self.zarr.clone(), "/")
            .map_err(|e| StoreError::zarr(&self.path, e))?;
        let bytes = serde_json::to_vec_pretty(group.metadata())
            .map_err(|e| StoreError::zarr(&self.path, e))?;
        commit::write_file_atomic(&self.path, &self.path.join("zarr.json"), &bytes)
    }

    /// Remove what interrupted writers left: everything in `.brainbrr-tmp/` and
    /// each `recordings/<rid>` without a commit marker. Returns the removed
    /// paths. Call it only while no writer is running.
    ///
    /// # Errors
    /// I/O errors. A `recordings/<rid>/zarr.json` that does not parse is left
    /// alone (it may be a damaged committed recording: [`Store::verify`] reports it).
    pub fn clean_temporaries(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut removed = commit::clean(&self.path)?;
        for (_, dir) in recording::list_dirs(&self.path.join("recordings"))? {
            if matches!(recording::read_recording_meta(&dir), Ok(None))
                && commit::remove_tree(&dir)?
            {
                removed.push(dir);
            }
        }
        Ok(removed)
    }
}

/// `<parent>/.<name>.brainbrr-<what>.<pid>`: where a store is built or moved
/// aside; on the same file system, so renames are atomic.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.brainbrr-{what}.{}", std::process::id()))
}

/// The folder holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Removes what a crashed create or overwrite left beside `path`.
fn remove_stale_siblings(path: &Path) {
    let Some(name) = path.file_name() else { return };
    let prefix = format!(".{}.brainbrr-", name.to_string_lossy());
    for entry in fs::read_dir(parent_dir(path))
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
