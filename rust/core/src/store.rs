//! The store: one Zarr v3 hierarchy on the local file system, written with
//! zarrs and readable by plain `zarr.open_group` (store format 1).
//!
//! ```text
//! cache.zarr/
//!   zarr.json                 group; attributes["brainbrr"] = RootMeta:
//!                             {format: 1, config, config_hash, [earlier_config_hashes],
//!                              channels, fs,
//!                              label_names: {"0": "bckg", "1": "seiz", "255": "unlabeled"},
//!                              type_names: {"0": "bckg", "1": "seiz", "2": "fnsz", ...},
//!                              szcore_names: {"0": "bckg", "1": "sz", "2": "sz_foc", ...},
//!                              version, store_id, index: {complete, splits, corpora, ...summary}}
//!   recordings/zarr.json      plain group
//!   recordings/<rid>/         group; attributes["brainbrr_recording"] = RecordingMeta
//!     signal/                 float32 (or float16) [C, n], ONE chunk [C, n], codecs:
//!       zarr.json             `bytes` little-endian, optionally zstd, then crc32c
//!       c/0/0                 raw C-order samples when uncompressed: C*n*itemsize bytes,
//!                             then their 4-byte CRC-32C
//!     label/                  uint8 [n], one chunk, fill 255, crc32c
//!       c/0
//!     type/                   uint8 [n] seizure type codes, one chunk, fill 255, crc32c
//!   index/                    group; attributes["brainbrr_index"] = {window_samples, stride_samples, counts}
//!     recordings/{rid, path, split, patient, session, run, corpus, start_time}   string (vlen-utf8)
//!     recordings/{n_samples, n_windows, window_offset}  int64
//!     recordings/fs_in float64 (source rate), channel_annotated bool, channel_present bool [R, C]
//!     windows/{recording int32, start int64, label uint8, seizure_fraction float32, type uint8}
//!     channel_seizures/{recording int32, channel string, start int64, stop int64, type uint8}
//!     failures/{path, kind, reason}                     string; kind `failed` or `skipped`
//!   .brainbrr-tmp/            temporaries and the writer lock holder's record
//!                             (never part of the hierarchy; removed with the lock)
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
//! - Missing optional text fields (split, patient, session, run, corpus,
//!   start_time) are `""` in the index; the last three are absent in stores
//!   written before them, and read as `""`.

mod commit;
mod error;
mod index;
mod lock;
mod meta;
mod mirror;
mod publish;
mod read;
mod recording;
pub mod rid;
mod temporaries;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use zarrs::array::CodecOptions;
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

pub use error::StoreError;
pub use index::{
    ChannelSeizureRows, FailureKind, FailureRows, IndexTables, RecordingRows, WindowRows,
};
pub use lock::WriterLock;
pub(crate) use meta::new_store_id;
pub use meta::{FORMAT, Fingerprint, RecordingMeta, RootMeta, json_diff};
pub use mirror::{Mirror, Pulled, pull};
pub use publish::Publisher;
pub use read::{Chunk, RecordingChunks};
pub use recording::{CRC_LEN, RecordingWriter, Signal, SignalCodec, SignalData};
pub use temporaries::TMP_DIR;
pub(crate) use temporaries::own_dir;
pub use verify::VerifyReport;

/// An open store. Cheap to share across threads (`&Store` is enough to write
/// recordings concurrently).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    zarr: Arc<FilesystemStore>,
    root: RootMeta,
    codec: SignalCodec,
    /// Held by writers ([`Store::create`], [`Store::open_or_create`]), never by readers.
    lock: Option<WriterLock>,
    /// For a store on object storage: the local copy `path` is, filled on demand.
    mirror: Option<Arc<Mirror>>,
}

/// Codec options for every chunk write: keep chunks equal to the fill value
/// (zarrs skips them by default, which would break the chunk-file contract).
pub(crate) fn codec_options() -> CodecOptions {
    CodecOptions::default().with_store_empty_chunks(true)
}

/// A JSON file, `None` when it does not exist.
/// The bytes of the files below `path` (0 for what cannot be read).
pub(crate) fn dir_size(path: &Path) -> u64 {
    fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// The bytes of the store at `path`, its writer's files (the lock's holder
/// record, temporaries) aside: what a reader finds, the same whoever wrote it.
pub(crate) fn store_bytes(path: &Path) -> u64 {
    dir_size(path).saturating_sub(dir_size(&path.join(TMP_DIR)))
}

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

/// A directory that holds nothing but what an interrupted create leaves
/// (brainbrr's temporaries, an empty `recordings` group, no root `zarr.json`):
/// where a store may be created.
fn is_empty_store_dir(path: &Path) -> Result<bool, StoreError> {
    let mut entries = fs::read_dir(path).map_err(|e| StoreError::io(path, e))?;
    let empty_group = |dir: &Path| {
        fs::read_dir(dir)
            .is_ok_and(|mut d| d.all(|e| e.is_ok_and(|e| e.file_name() == "zarr.json")))
    };
    Ok(entries.all(|e| {
        e.is_ok_and(|e| {
            e.file_name() == TMP_DIR
                || (e.file_name() == "recordings"
                    && e.file_type().is_ok_and(|t| t.is_dir())
                    && empty_group(&e.path()))
        })
    }))
}

/// Creates the folder `path` if needed and takes its writer lock.
fn lock_dir(path: &Path, wait: bool) -> Result<WriterLock, StoreError> {
    fs::create_dir_all(path).map_err(|e| StoreError::io(path, e))?;
    WriterLock::acquire(path, wait)
}

impl Store {
    fn with_root(path: &Path, root: RootMeta) -> Result<Self, StoreError> {
        let zarr = FilesystemStore::new(path).map_err(|e| StoreError::zarr(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            zarr: Arc::new(zarr),
            root,
            codec: SignalCodec::Raw,
            lock: None,
            mirror: None,
        })
    }

    /// Open the store at an `s3://` URL for reading through a local copy in
    /// the folder `cache` (see [`Mirror`]): the root and index now, each
    /// recording when first read; `max_bytes` bounds the copy's recordings.
    ///
    /// # Errors
    /// The errors of [`Mirror::open`] and [`Store::open`].
    pub fn open_remote(
        url: &str,
        cache: &Path,
        max_bytes: Option<u64>,
    ) -> Result<Self, StoreError> {
        let url = crate::remote::Url::parse(url)?;
        let (mirror, dir) = Mirror::open(&url, cache, max_bytes)?;
        let mut store = Self::open(dir)?;
        store.mirror = Some(Arc::new(mirror));
        Ok(store)
    }

    /// Records that recordings `rids` are being read, for the least recently
    /// used eviction of a remote store's copy (nothing for a local store).
    pub fn record_use<'r>(&self, rids: impl IntoIterator<Item = &'r str>) {
        if let Some(m) = &self.mirror {
            rids.into_iter().for_each(|rid| m.record_use(rid));
        }
    }

    /// Makes `arrays` of recording `rid` local first when the store is remote.
    pub(crate) fn local(&self, rid: &str, arrays: &[&str]) -> Result<(), StoreError> {
        match &self.mirror {
            Some(m) => m.ensure(rid, arrays),
            None => Ok(()),
        }
    }

    /// Create a new store at `path` (absent or an empty directory) and hold
    /// its writer lock until the returned handle is dropped.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] for a non-empty directory,
    /// [`StoreError::Locked`] while another process writes there, I/O and zarrs errors.
    pub fn create(path: impl AsRef<Path>, root: RootMeta) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let lock = lock_dir(path, false)?;
        if !is_empty_store_dir(path)? {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        Self::init(path, root, lock)
    }

    /// Writes an empty `recordings` group, then a fresh root, into the locked,
    /// empty directory `path`. The root `zarr.json` is written atomically and
    /// last: a crash before it leaves a directory that still counts as empty
    /// ([`is_empty_store_dir`]), never a root without its `recordings` group.
    fn init(path: &Path, mut root: RootMeta, lock: WriterLock) -> Result<Self, StoreError> {
        root.store_id = Some(meta::new_store_id(path));
        let mut store = Self::with_root(path, root)?;
        store.lock = Some(lock);
        store.ensure_recordings()?;
        store.write_root()?;
        commit::sync_dir(path)?;
        Ok(store)
    }

    /// The `recordings` group, created when missing (see [`Store::init`]).
    ///
    /// Written atomically, and rewritten when it does not parse: a writer
    /// killed while zarrs wrote it in place left an empty file behind.
    fn ensure_recordings(&self) -> Result<(), StoreError> {
        let dir = own_dir(&self.path, "recordings")?;
        let meta = dir.join("zarr.json");
        if matches!(read_json(&meta), Ok(Some(_))) {
            return Ok(());
        }
        let group = GroupBuilder::new()
            .build(self.zarr.clone(), "/recordings")
            .map_err(|e| StoreError::zarr(&dir, e))?;
        let bytes =
            serde_json::to_vec_pretty(group.metadata()).map_err(|e| StoreError::zarr(&dir, e))?;
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        commit::write_file_atomic(&self.path, &meta, &bytes)
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
        if !fs::metadata(path)
            .map_err(|e| StoreError::io(path, e))?
            .is_dir()
        {
            return Err(not_a_store("not a folder"));
        }
        let meta_path = path.join("zarr.json");
        let doc = read_json(&meta_path)?.ok_or_else(|| not_a_store("no zarr.json"))?;
        let root = RootMeta::from_doc(&doc, path)?;
        Self::with_root(path, root)
    }

    /// Open the store at `path` for writing, under its writer lock (held until
    /// the handle is dropped): created when `path` is absent or empty, opened
    /// when it was built with the same config (but perhaps another window,
    /// which it takes: see [`RootMeta::rewindow`]), emptied and given the new
    /// config with `overwrite`. Leftovers of interrupted writers are removed.
    ///
    /// `wait`: queue behind another writer instead of failing at once.
    ///
    /// # Errors
    /// [`StoreError::Locked`] naming the other writer, [`StoreError::ConfigMismatch`]
    /// naming each differing JSON path (the store is not modified), the errors
    /// of [`Store::open`]; a non-empty directory that is not a brainbrr store
    /// is never written to, with or without `overwrite`.
    pub fn open_or_create(
        path: impl AsRef<Path>,
        root: RootMeta,
        overwrite: bool,
        wait: bool,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let lock = lock_dir(path, wait)?;
        for name in ["recordings", "index"] {
            own_dir(path, name)?;
        }
        if is_empty_store_dir(path)? {
            temporaries::clean(path)?;
            return Self::init(path, root, lock);
        }
        let mut store = Self::open(path)?;
        store.lock = Some(lock);
        if overwrite {
            store.reset(root)?;
        } else {
            let differences = json_diff(&store.root.identity(), &root.identity());
            if !differences.is_empty() {
                return Err(StoreError::ConfigMismatch {
                    path: path.to_owned(),
                    differences,
                });
            }
            // Written with the index, which the caller marks incomplete next.
            store.root.rewindow(&root);
        }
        store.clean_temporaries()?;
        store.ensure_recordings()?;
        Ok(store)
    }

    /// Empties the store in place and gives it `root` (`--overwrite`). The
    /// index is marked incomplete first, the old trees are moved into the
    /// temporaries and an empty `recordings` group made before the new root is
    /// written, so a crash at any point leaves a store (old or new config, no
    /// recordings, index incomplete) that the same command or a resume
    /// completes; nothing but the store's own `recordings` and `index` is
    /// ever removed.
    fn reset(&mut self, root: RootMeta) -> Result<(), StoreError> {
        self.set_index_complete(false, serde_json::json!({ "state": "overwriting" }))?;
        for name in ["recordings", "index"] {
            let dir = own_dir(&self.path, name)?;
            if fs::symlink_metadata(&dir).is_ok() {
                let aside = temporaries::temp_path(&self.path, &format!("overwritten-{name}"))?;
                fs::rename(&dir, &aside).map_err(|e| StoreError::io(&dir, e))?;
            }
        }
        self.ensure_recordings()?;
        self.root = root;
        self.root.store_id = Some(meta::new_store_id(&self.path));
        self.write_root()?;
        commit::sync_dir(&self.path)
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

    /// Whether this handle holds the store's writer lock.
    pub fn is_writer(&self) -> bool {
        self.lock.is_some()
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

    /// Remove what interrupted writers left: everything in `.brainbrr-tmp/` (but
    /// the lock holder's record) and each `recordings/<rid>` without a commit
    /// marker. Returns the removed paths. Only for the holder of the writer lock.
    ///
    /// # Errors
    /// I/O errors. A `recordings/<rid>/zarr.json` that does not parse is left
    /// alone (it may be a damaged committed recording: [`Store::verify`] reports it).
    pub fn clean_temporaries(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut removed = temporaries::clean(&self.path)?;
        for (_, dir) in recording::list_dirs(&own_dir(&self.path, "recordings")?)? {
            if matches!(recording::read_recording_meta(&dir), Ok(None))
                && temporaries::remove_tree(&dir)?
            {
                removed.push(dir);
            }
        }
        Ok(removed)
    }
}
