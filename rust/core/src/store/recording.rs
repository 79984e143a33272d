//! One recording: `recordings/<rid>/{signal, label}` written through a
//! temporary group and committed by rename; its metadata read back.
//!
//! Both arrays are a single chunk: `signal` `[C, n]` in chunk `[C, n]`, `label`
//! `[n]` in chunk `[n]`, so the chunk file of an uncompressed signal is the raw
//! little-endian C-order samples and every window is a strided view of one
//! memory map. Each chunk ends with the Zarr v3 `crc32c` codec's 4-byte
//! checksum, after the samples, so the view is unchanged and zarr-python,
//! zarrs and `brainbrr verify` all check it. Zarr needs positive chunk sizes:
//! an empty recording gets chunk shape `[C, 1]` / `[1]` and no chunk file at all.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zarrs::array::codec::{BytesCodec, Crc32cCodec};
use zarrs::array::{
    Array, ArrayBuilder, ArrayBytes, BytesToBytesCodecTraits, Endianness, data_type,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

use super::commit::install;
use super::meta::{RECORDING_KEY, RecordingMeta};
use super::rid::validate as validate_rid;
use super::temporaries::{remove_tree, temp_path};
use super::{Store, StoreError, codec_options, read_json};
use crate::config::Dtype;

/// Samples to store: float32, or float16 given as its IEEE bit patterns (the
/// core has no f16 type; the caller converts).
#[derive(Clone, Copy, Debug)]
pub enum SignalData<'a> {
    /// `[n_channels * n_samples]` float32, channel-major.
    F32(&'a [f32]),
    /// `[n_channels * n_samples]` float16 bit patterns, channel-major.
    F16(&'a [u16]),
}

/// Samples read back, channel-major like [`SignalData`].
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// float32 samples.
    F32(Vec<f32>),
    /// float16 bit patterns.
    F16(Vec<u16>),
}

/// How `signal` chunks are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignalCodec {
    /// `bytes` (little-endian) only: the chunk file is the raw samples, memory-mappable.
    #[default]
    Raw,
    /// `bytes` then zstd at this level: smaller, for archives; read by decoding.
    /// Needs the `zstd` cargo feature.
    Zstd {
        /// zstd compression level (1..=22; 3 is zstd's default).
        level: i32,
    },
}

impl SignalData<'_> {
    fn len(&self) -> usize {
        match self {
            Self::F32(x) => x.len(),
            Self::F16(x) => x.len(),
        }
    }

    fn dtype(&self) -> Dtype {
        match self {
            Self::F32(_) => Dtype::Float32,
            Self::F16(_) => Dtype::Float16,
        }
    }
}

/// The attributes of a group `zarr.json`, when it carries a commit marker.
///
/// `Ok(None)`: no `zarr.json`, or one without the marker (not committed).
///
/// # Errors
/// I/O errors other than absence, unparsable JSON or metadata.
pub(crate) fn read_recording_meta(dir: &Path) -> Result<Option<RecordingMeta>, StoreError> {
    let path = dir.join("zarr.json");
    let Some(doc) = read_json(&path)? else {
        return Ok(None);
    };
    let Some(meta) = doc.get("attributes").and_then(|a| a.get(RECORDING_KEY)) else {
        return Ok(None);
    };
    serde_json::from_value(meta.clone())
        .map(Some)
        .map_err(|e| StoreError::BadMetadata {
            path,
            reason: e.to_string(),
        })
}

/// The arrays of every recording (`type` and `channel` came later: optional).
const REQUIRED_ARRAYS: [&str; 2] = ["signal", "label"];

/// Why the recording group at `dir` is incomplete, or `None`: a required array
/// absent, or an array folder without its `zarr.json`. That is what a group
/// looks like whose temporary was removed while its writer was still writing
/// it (the writer's later arrays recreate the folder without the earlier ones).
///
/// # Errors
/// I/O errors listing `dir`.
fn incomplete(dir: &Path) -> Result<Option<String>, StoreError> {
    let arrays = list_dirs(dir)?;
    let mut missing: Vec<&str> = REQUIRED_ARRAYS
        .into_iter()
        .filter(|a| !arrays.iter().any(|(name, _)| name == a))
        .collect();
    missing.extend(
        arrays
            .iter()
            .filter(|(_, path)| !path.join("zarr.json").is_file())
            .map(|(name, _)| name.as_str()),
    );
    Ok((!missing.is_empty()).then(|| {
        format!(
            "the metadata of its array(s) {} is missing (written while its temporary was removed)",
            missing.join(", ")
        )
    }))
}

fn build_err(path: &Path) -> impl Fn(zarrs::array::ArrayCreateError) -> StoreError + '_ {
    move |e| StoreError::zarr(path, e)
}

impl Store {
    /// `<store>/recordings/<rid>`.
    pub fn recording_dir(&self, rid: &str) -> PathBuf {
        self.path().join("recordings").join(rid)
    }

    /// Write one recording and commit it atomically, replacing a previous
    /// version: [`Store::begin_recording`], every row, [`RecordingWriter::commit`].
    ///
    /// `signal` holds `meta.n_channels * meta.n_samples` samples, channel-major;
    /// `labels` holds `meta.n_samples` values.
    ///
    /// # Errors
    /// As [`Store::begin_recording`], [`RecordingWriter::write_row`] and
    /// [`RecordingWriter::commit`]; [`StoreError::ShapeMismatch`] if `signal`
    /// does not hold `C x n` samples.
    pub fn write_recording(
        &self,
        rid: &str,
        meta: &RecordingMeta,
        signal: SignalData<'_>,
        labels: &[u8],
    ) -> Result<(), StoreError> {
        let (c, n) = (meta.n_channels as usize, meta.n_samples as usize);
        if c.checked_mul(n) != Some(signal.len()) {
            return Err(StoreError::ShapeMismatch {
                rid: rid.to_owned(),
                reason: format!(
                    "signal has {} samples, metadata says {c} x {n}",
                    signal.len()
                ),
            });
        }
        let mut writer = self.begin_recording(rid, meta, signal.dtype())?;
        for row in 0..c {
            let (a, b) = (row * n, (row + 1) * n);
            writer.write_row(
                row,
                match signal {
                    SignalData::F32(x) => SignalData::F32(&x[a..b]),
                    SignalData::F16(x) => SignalData::F16(&x[a..b]),
                },
            )?;
        }
        writer.commit(labels)
    }

    /// Starts writing recording `rid` (`meta.n_channels` rows of
    /// `meta.n_samples` samples of `dtype`) into a temporary group: nothing is
    /// visible until [`RecordingWriter::commit`]. Safe to call from many
    /// threads (or processes) at once for different `rid`s; two concurrent
    /// writes of one `rid` are not supported.
    ///
    /// # Errors
    /// [`StoreError::InvalidRid`], [`StoreError::Unsupported`] for zstd without
    /// the feature, I/O and zarrs errors.
    pub fn begin_recording(
        &self,
        rid: &str,
        meta: &RecordingMeta,
        dtype: Dtype,
    ) -> Result<RecordingWriter<'_>, StoreError> {
        validate_rid(rid)?;
        let tmp = temp_path(self.path(), rid)?;
        let mut meta = meta.clone();
        meta.store_id.clone_from(&self.root_meta().store_id);
        let channels = meta.n_channels as usize;
        let mut writer = RecordingWriter {
            store: self,
            rid: rid.to_owned(),
            meta,
            zarr: Arc::new(FilesystemStore::new(&tmp).map_err(|e| StoreError::zarr(&tmp, e))?),
            tmp,
            dtype,
            sink: Sink::Empty,
            written: vec![false; channels],
            row_bytes: Vec::new(),
            committed: false,
        };
        writer.create_signal(self.signal_codec_chain()?)?;
        Ok(writer)
    }

    fn signal_codec_chain(&self) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>, StoreError> {
        match self.signal_codec() {
            SignalCodec::Raw => Ok(Vec::new()),
            #[cfg(feature = "zstd")]
            SignalCodec::Zstd { level } => Ok(vec![Arc::new(zarrs::array::codec::ZstdCodec::new(
                level, false,
            ))]),
            #[cfg(not(feature = "zstd"))]
            SignalCodec::Zstd { .. } => Err(StoreError::Unsupported {
                what: "zstd signals (build brainbrr-core with the `zstd` feature)".to_owned(),
            }),
        }
    }

    /// Every committed recording and its metadata, by id. Reads only the
    /// `recordings/*/zarr.json` files; directories without a commit marker are
    /// skipped, and so are those with a symbolic link anywhere in their tree:
    /// never read through, such a recording is not current, and an ingest
    /// redoes it (replacing the link, never writing through it).
    ///
    /// # Errors
    /// I/O errors listing `recordings/`, a committed `zarr.json` that does not parse.
    pub fn committed(&self) -> Result<BTreeMap<String, RecordingMeta>, StoreError> {
        let dir = super::own_dir(self.path(), "recordings")?;
        let mut out = BTreeMap::new();
        for (rid, path) in list_dirs(&dir)? {
            if crate::nofollow::check_tree(self.path(), &path).is_err() {
                continue;
            }
            if let Some(meta) = read_recording_meta(&path)? {
                out.insert(rid, meta);
            }
        }
        Ok(out)
    }

    /// Why the committed recording `rid` is incomplete (an array's metadata
    /// missing), or `None`.
    ///
    /// # Errors
    /// I/O errors listing its folder.
    pub fn incomplete_recording(&self, rid: &str) -> Result<Option<String>, StoreError> {
        incomplete(&self.recording_dir(rid))
    }

    /// Remove a recording (committed or not). Returns whether it existed.
    ///
    /// # Errors
    /// [`StoreError::InvalidRid`], I/O errors.
    pub fn remove_recording(&self, rid: &str) -> Result<bool, StoreError> {
        validate_rid(rid)?;
        remove_tree(&self.recording_dir(rid))
    }
}

/// A recording being written by [`Store::begin_recording`]: its arrays live
/// in a temporary group, rows are written as they are produced, and
/// [`RecordingWriter::commit`] moves the complete group into place. Dropped
/// uncommitted (an error, Ctrl-C), the temporary group is removed.
pub struct RecordingWriter<'s> {
    store: &'s Store,
    rid: String,
    meta: RecordingMeta,
    tmp: PathBuf,
    zarr: Arc<FilesystemStore>,
    dtype: Dtype,
    sink: Sink,
    /// Which rows have been written: a commit needs all of them.
    written: Vec<bool>,
    /// One row as little-endian bytes, reused from row to row.
    row_bytes: Vec<u8>,
    committed: bool,
}

/// Where the rows of `signal` go.
enum Sink {
    /// No chunk: the recording has no channel or no sample.
    Empty,
    /// Written in place into the raw chunk file (no codec to apply): a row
    /// never waits in memory for the others. Each row's CRC-32C is taken as
    /// it is written, while in cache; the chunk's is combined from them.
    Raw {
        file: fs::File,
        path: PathBuf,
        row_crc: Vec<u32>,
    },
    /// Gathered into the whole chunk, encoded by zarrs at commit (compressed).
    Encoded {
        array: Box<Array<FilesystemStore>>,
        chunk: Vec<u8>,
    },
}

impl RecordingWriter<'_> {
    /// The sample type of `signal`.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn item_size(&self) -> usize {
        match self.dtype {
            Dtype::Float32 => 4,
            Dtype::Float16 => 2,
        }
    }

    /// `signal`'s metadata, and its chunk file (raw) or buffer (encoded).
    fn create_signal(
        &mut self,
        codecs: Vec<Arc<dyn BytesToBytesCodecTraits>>,
    ) -> Result<(), StoreError> {
        let (c, n) = (self.meta.n_channels, self.meta.n_samples);
        let path = self.tmp.join("signal");
        let data_type = match self.dtype {
            Dtype::Float32 => data_type::float32(),
            Dtype::Float16 => data_type::float16(),
        };
        let raw = codecs.is_empty();
        let mut codecs = codecs;
        codecs.push(Arc::new(Crc32cCodec::new()));
        let array = ArrayBuilder::new(vec![c, n], vec![c.max(1), n.max(1)], data_type, 0.0f32)
            .array_to_bytes_codec(Arc::new(BytesCodec::new(Some(Endianness::Little))))
            .bytes_to_bytes_codecs(codecs)
            .dimension_names(Some(["channel", "time"]))
            .build(self.zarr.clone(), "/signal")
            .map_err(build_err(&path))?;
        array
            .store_metadata()
            .map_err(|e| StoreError::zarr(&path, e))?;
        if c == 0 || n == 0 {
            return Ok(());
        }
        let bytes = (c * n) as usize * self.item_size();
        self.sink = if raw {
            let file_path = self.zarr.key_to_fspath(&array.chunk_key(&[0, 0]));
            let file = file_path
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::File::create(&file_path))
                .and_then(|f| f.set_len((bytes + CRC_LEN) as u64).map(|()| f))
                .map_err(|e| StoreError::io(&file_path, e))?;
            Sink::Raw {
                file,
                path: file_path,
                row_crc: vec![0; c as usize],
            }
        } else {
            Sink::Encoded {
                array: Box::new(array),
                chunk: vec![0; bytes],
            }
        };
        Ok(())
    }

    /// Writes channel `row` (`meta.n_samples` samples of the writer's dtype).
    ///
    /// # Errors
    /// [`StoreError::ShapeMismatch`] for a row out of range, a wrong length or
    /// dtype; I/O errors.
    pub fn write_row(&mut self, row: usize, samples: SignalData<'_>) -> Result<(), StoreError> {
        let n = self.meta.n_samples as usize;
        let mismatch = |reason: String| StoreError::ShapeMismatch {
            rid: self.rid.clone(),
            reason,
        };
        if row >= self.written.len() || samples.len() != n || samples.dtype() != self.dtype {
            return Err(mismatch(format!(
                "row {row} of {} {:?} samples for {} rows of {n} {:?}",
                samples.len(),
                samples.dtype(),
                self.written.len(),
                self.dtype
            )));
        }
        let bytes = match samples {
            SignalData::F32(x) => le_bytes(x, &mut self.row_bytes, f32::to_le_bytes),
            SignalData::F16(x) => le_bytes(x, &mut self.row_bytes, u16::to_le_bytes),
        };
        let offset = row * bytes.len();
        match &mut self.sink {
            Sink::Empty => {}
            Sink::Raw {
                file,
                path,
                row_crc,
            } => {
                use std::os::unix::fs::FileExt;
                file.write_all_at(bytes, offset as u64)
                    .map_err(|e| StoreError::io(&*path, e))?;
                row_crc[row] = crc32c::crc32c(bytes);
            }
            Sink::Encoded { chunk, .. } => {
                chunk[offset..offset + bytes.len()].copy_from_slice(bytes);
            }
        }
        self.written[row] = true;
        Ok(())
    }

    /// Writes `labels` (`meta.n_samples` values), seizure types derived from
    /// them (`seiz` where a label is a seizure) and the group metadata; see
    /// [`RecordingWriter::commit_with_types`].
    ///
    /// # Errors
    /// As [`RecordingWriter::commit_with_types`].
    pub fn commit(self, labels: &[u8]) -> Result<(), StoreError> {
        self.commit_with_types(labels, labels)
    }

    /// Writes `labels` and `types` (`meta.n_samples` values each: 0/1/255, and
    /// the seizure type codes of `crate::labels::TYPE_CODES`) and the group
    /// metadata (the commit marker, last), makes it all durable and renames
    /// the group into place, replacing a previous version.
    ///
    /// # Errors
    /// [`StoreError::ShapeMismatch`] for a row never written or a wrong number
    /// of labels or types; I/O and zarrs errors. On error nothing is committed.
    pub fn commit_with_types(mut self, labels: &[u8], types: &[u8]) -> Result<(), StoreError> {
        let n = self.meta.n_samples;
        let missing = self.written.iter().filter(|w| !**w).count();
        if missing > 0 || labels.len() as u64 != n || types.len() as u64 != n {
            return Err(StoreError::ShapeMismatch {
                rid: self.rid.clone(),
                reason: format!(
                    "{missing} rows never written, {} labels and {} types for {n} samples",
                    labels.len(),
                    types.len()
                ),
            });
        }
        let options = codec_options();
        match std::mem::replace(&mut self.sink, Sink::Empty) {
            Sink::Empty => {}
            Sink::Raw {
                file,
                path,
                row_crc,
            } => {
                use std::os::unix::fs::FileExt;
                let row_len = n as usize * self.item_size();
                let crc = row_crc
                    .iter()
                    .fold(0, |acc, &r| crc32c::crc32c_combine(acc, r, row_len));
                file.write_all_at(&crc.to_le_bytes(), (row_crc.len() * row_len) as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| StoreError::io(&path, e))?;
            }
            Sink::Encoded { array, chunk } => array
                .store_chunk_opt(&[0, 0], ArrayBytes::new_flen(chunk), &options)
                .map_err(|e| StoreError::zarr(self.tmp.join("signal"), e))?,
        }
        self.write_samples("label", labels)?;
        self.write_samples("type", types)?;
        self.write_channel_names()?;

        let dir = &self.tmp;
        let meta = serde_json::to_value(&self.meta).map_err(|e| StoreError::zarr(dir, e))?;
        let attributes =
            serde_json::Map::from_iter([(super::meta::RECORDING_KEY.to_owned(), meta)]);
        GroupBuilder::new()
            .attributes(attributes)
            .build(self.zarr.clone(), "/")
            .map_err(|e| StoreError::zarr(dir, e))?
            .store_metadata()
            .map_err(|e| StoreError::zarr(dir, e))?;
        // The lock holder may have removed the temporary meanwhile (the task
        // of a distributed ingest outlived its driver's run): never commit
        // what is left of it. `commit::clean` claims a temporary by renaming
        // it, so one found complete here is either installed whole or not at all.
        if let Some(reason) = incomplete(dir)? {
            return Err(StoreError::BadMetadata {
                path: dir.clone(),
                reason: format!("recording {} not committed: {reason}", self.rid),
            });
        }
        install(self.store.path(), dir, &self.store.recording_dir(&self.rid))?;
        self.committed = true;
        Ok(())
    }
}

impl RecordingWriter<'_> {
    /// A uint8 `[n]` array of the recording (one chunk, fill 255, checksummed).
    fn write_samples(&self, name: &str, values: &[u8]) -> Result<(), StoreError> {
        let n = values.len() as u64;
        let path = self.tmp.join(name);
        let array = ArrayBuilder::new(vec![n], vec![n.max(1)], data_type::uint8(), 255u8)
            .array_to_bytes_codec(Arc::new(BytesCodec::new(None)))
            .bytes_to_bytes_codecs(vec![Arc::new(Crc32cCodec::new())])
            .dimension_names(Some(["time"]))
            .build(self.zarr.clone(), &format!("/{name}"))
            .map_err(build_err(&path))?;
        array
            .store_metadata()
            .map_err(|e| StoreError::zarr(&path, e))?;
        if n > 0 {
            array
                .store_chunk_opt(&[0], values, &codec_options())
                .map_err(|e| StoreError::zarr(&path, e))?;
        }
        Ok(())
    }

    /// The `channel` coordinate: the store's channel names (variable-length
    /// strings), so xarray labels the signal's first dimension.
    fn write_channel_names(&self) -> Result<(), StoreError> {
        let names: Vec<&str> = self
            .store
            .root_meta()
            .channels
            .iter()
            .map(String::as_str)
            .collect();
        let c = names.len() as u64;
        let path = self.tmp.join("channel");
        let array = ArrayBuilder::new(vec![c], vec![c.max(1)], data_type::string(), "")
            .dimension_names(Some(["channel"]))
            .build(self.zarr.clone(), "/channel")
            .map_err(build_err(&path))?;
        array
            .store_metadata()
            .map_err(|e| StoreError::zarr(&path, e))?;
        if c > 0 {
            array
                .store_chunk_opt(&[0], &names[..], &codec_options())
                .map_err(|e| StoreError::zarr(&path, e))?;
        }
        Ok(())
    }
}

impl Drop for RecordingWriter<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.tmp); // best effort; `clean_temporaries` gets the rest
        }
    }
}

/// Bytes of the `crc32c` codec's checksum at the end of every chunk.
pub const CRC_LEN: usize = 4;

/// The little-endian bytes of `samples` (f32 or f16 bits): a view of them on
/// little-endian machines, no copy; converted into `buf` elsewhere.
fn le_bytes<'a, T: Copy, const N: usize>(
    samples: &'a [T],
    buf: &'a mut Vec<u8>,
    to_le: fn(T) -> [u8; N],
) -> &'a [u8] {
    if cfg!(target_endian = "little") {
        // SAFETY: called with f32 and u16 only: no padding, every byte
        // initialized, and u8 needs no alignment.
        unsafe { std::slice::from_raw_parts(samples.as_ptr().cast(), size_of_val(samples)) }
    } else {
        buf.clear();
        buf.extend(samples.iter().flat_map(|&v| to_le(v)));
        buf
    }
}

/// The subdirectories of `dir` as `(name, path)`, sorted; none when `dir` is absent.
pub(crate) fn list_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| StoreError::io(entry.path(), e))?
            .is_dir();
        if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
            out.push((name.to_owned(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}
