//! Reading a committed recording back: its chunk files for memory maps,
//! checked against the index and the root before anything is mapped, and its
//! arrays decoded by zarrs (any codec).
//!
//! These are the reading rules, in one place: the Python dataset, the gather
//! and `verify` all go through [`Store::checked_chunk`].

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zarrs::array::{Array, ArrayBytes, DataType, data_type};
use zarrs::filesystem::FilesystemStore;

use super::recording::{CRC_LEN, read_recording_meta};
use super::rid::validate as validate_rid;
use super::{Signal, Store, StoreError, read_json};
use crate::labels::{RecordingIndex, SeizureEvent, WindowSpec, recording_index, seizure_events};

/// The single chunk of a recording array, as checked by [`Store::checked_chunk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk file; it does not exist for an empty array.
    pub path: PathBuf,
    /// Bytes of the elements (0 for an empty array).
    pub data_bytes: u64,
    /// The file starts with the raw little-endian elements: memory-mappable.
    pub raw: bool,
    /// The file ends with the `crc32c` codec's checksum (raw chunks only).
    pub crc: bool,
}

/// A recording's `signal` and `label` chunks, checked for a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingChunks {
    /// `[C, n]` samples of the root's dtype.
    pub signal: Chunk,
    /// `[n]` uint8 labels.
    pub label: Chunk,
}

impl RecordingChunks {
    /// Both chunks against the CRC-32C at their end ([`Store::check_checksum`]);
    /// a chunk without one passes.
    ///
    /// # Errors
    /// [`StoreError::Mismatch`] naming the file whose checksum differs or
    /// that cannot be read.
    pub fn check_checksums(&self) -> Result<(), StoreError> {
        for chunk in [&self.signal, &self.label] {
            Store::check_checksum(chunk).map_err(|reason| StoreError::Mismatch {
                path: chunk.path.clone(),
                reason,
            })?;
        }
        Ok(())
    }
}

/// The codec chain of an array's `zarr.json`: whether its chunk file is the
/// raw little-endian elements (`bytes` alone, or followed by `crc32c`), and
/// whether it ends with a CRC-32C.
pub(crate) fn codec_layout(array_json: &Value) -> (bool, bool) {
    let name = |c: &Value| c.get("name").and_then(Value::as_str).map(str::to_owned);
    let codecs = array_json
        .get("codecs")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let crc = codecs.last().and_then(name).as_deref() == Some("crc32c");
    let little = |c: &Value| {
        name(c).as_deref() == Some("bytes")
            && matches!(
                c.get("configuration")
                    .and_then(|c| c.get("endian"))
                    .and_then(Value::as_str),
                None | Some("little")
            )
    };
    let raw = match codecs {
        [bytes] => little(bytes),
        [bytes, _] => crc && little(bytes),
        _ => false,
    };
    (raw, crc)
}

/// Refuses a symbolic link from the store's root down to `path`: a crafted
/// store must not make a reader map a file outside it.
fn no_links(root: &Path, path: &Path) -> Result<(), String> {
    crate::nofollow::check_below(root, path).map_err(|(at, why)| {
        format!(
            "{} is {why}; refusing to follow it out of the store",
            at.display()
        )
    })
}

impl Store {
    /// The data type of the store's signals, from the root config (`dtype`).
    pub fn signal_dtype(&self) -> DataType {
        match self.root_meta().config.get("dtype").and_then(Value::as_str) {
            Some("float16") => data_type::float16(),
            _ => data_type::float32(),
        }
    }

    /// `recordings/<rid>/<name>`, checked: its shape is `shape`, its data type
    /// one of `dtypes`, it is one chunk, and a raw chunk file has exactly the
    /// size of its elements (plus the checksum); no symbolic link on the way.
    ///
    /// # Errors
    /// The first problem found, as a sentence naming the array.
    pub(crate) fn checked_chunk(
        &self,
        rid: &str,
        name: &str,
        shape: &[u64],
        dtypes: &[DataType],
    ) -> Result<Chunk, String> {
        let node = format!("recordings/{rid}/{name}");
        validate_rid(rid).map_err(|e| e.to_string())?;
        let dir = self.path().join(&node);
        no_links(self.path(), &dir.join("zarr.json"))?;
        let array = Array::open(self.zarr_store(), &format!("/{node}"))
            .map_err(|e| format!("{node}: cannot open: {e}"))?;
        if array.shape() != shape {
            return Err(format!(
                "{node}: shape {:?}, expected {shape:?}",
                array.shape()
            ));
        }
        if !dtypes.contains(array.data_type()) {
            return Err(format!(
                "{node}: data type {:?}, expected {:?}",
                array.data_type(),
                dtypes
            ));
        }
        let origin = vec![0; shape.len()];
        let one_chunk: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
        match array.chunk_shape(&origin) {
            Ok(chunk) if chunk.iter().map(|d| d.get()).eq(one_chunk.iter().copied()) => {}
            Ok(chunk) => {
                return Err(format!(
                    "{node}: chunk shape {chunk:?}, expected one chunk {one_chunk:?}"
                ));
            }
            Err(e) => return Err(format!("{node}: {e}")),
        }
        let (raw, crc) = read_json(&dir.join("zarr.json"))
            .ok()
            .flatten()
            .map_or((false, false), |doc| codec_layout(&doc));
        let path = self.zarr_store().key_to_fspath(&array.chunk_key(&origin));
        let item = array.data_type().fixed_size().unwrap_or(0) as u64; // ok: the dtypes are fixed-size
        let data_bytes = shape.iter().product::<u64>() * item;
        let chunk = Chunk {
            path,
            data_bytes,
            raw,
            crc,
        };
        if data_bytes == 0 {
            return Ok(chunk); // an empty array has no chunk file
        }
        no_links(self.path(), &chunk.path)?;
        let size = fs::metadata(&chunk.path)
            .map_err(|e| format!("{node}: chunk file {}: {e}", chunk.path.display()))?
            .len();
        let expected = data_bytes + if crc { CRC_LEN as u64 } else { 0 };
        if raw && size != expected {
            return Err(format!(
                "{node}: chunk file {} has {size} bytes, expected {expected}",
                chunk.path.display()
            ));
        }
        Ok(chunk)
    }

    /// Recording `rid` for a reader, checked against the index (`n_samples`)
    /// and the root (channel count, dtype) before anything is mapped; with
    /// `store_id`, also that the recording belongs to the store the reader
    /// opened (not one written by an overwrite or rebuild since).
    ///
    /// # Errors
    /// [`StoreError::Replaced`], [`StoreError::NotCommitted`],
    /// [`StoreError::Mismatch`] naming the recording and the field.
    pub fn recording_chunks(
        &self,
        rid: &str,
        n_samples: u64,
        store_id: Option<&str>,
    ) -> Result<RecordingChunks, StoreError> {
        validate_rid(rid)?;
        self.local(rid, &["signal", "label"])?;
        let dir = self.recording_dir(rid);
        let mismatch = |reason: String| StoreError::Mismatch {
            path: dir.clone(),
            reason,
        };
        no_links(self.path(), &dir.join("zarr.json")).map_err(&mismatch)?;
        let Some(meta) = read_recording_meta(&dir)? else {
            // Gone: say why when the whole store was replaced.
            let root = Self::open(self.path())?.root_meta().store_id.clone();
            if store_id.is_some() && root.as_deref() != store_id {
                return Err(StoreError::Replaced {
                    path: self.path().to_owned(),
                });
            }
            return Err(StoreError::NotCommitted {
                path: self.path().to_owned(),
                rid: rid.to_owned(),
            });
        };
        // Every recording carries the id of the store it was committed to: one
        // written by a later overwrite (or another corpus) carries another.
        if let (Some(want), Some(got)) = (store_id, &meta.store_id)
            && want != got
        {
            return Err(StoreError::Replaced {
                path: self.path().to_owned(),
            });
        }
        let channels = self.root_meta().channels.len() as u64;
        if meta.n_samples != n_samples {
            return Err(mismatch(format!(
                "n_samples is {} in the recording, {n_samples} in the index",
                meta.n_samples
            )));
        }
        if meta.n_channels != channels {
            return Err(mismatch(format!(
                "{} channels in the recording, {channels} in the store's channel list",
                meta.n_channels
            )));
        }
        let signal = self
            .checked_chunk(
                rid,
                "signal",
                &[channels, n_samples],
                &[self.signal_dtype()],
            )
            .map_err(&mismatch)?;
        let label = self
            .checked_chunk(rid, "label", &[n_samples], &[data_type::uint8()])
            .map_err(&mismatch)?;
        Ok(RecordingChunks { signal, label })
    }

    /// Checks a chunk's CRC-32C against the checksum at its end, reading the
    /// file once: the checksum covers what the codecs before it wrote, the raw
    /// elements or, in a compressed chunk, the compressed bytes (the whole
    /// file but the checksum). `Ok(false)` when the chunk carries no checksum.
    ///
    /// # Errors
    /// A sentence naming the file: I/O errors, a checksum that differs.
    pub fn check_checksum(chunk: &Chunk) -> Result<bool, String> {
        if !chunk.crc || chunk.data_bytes == 0 {
            return Ok(false);
        }
        let err = |e: std::io::Error| format!("{}: {e}", chunk.path.display());
        let mut file = fs::File::open(&chunk.path).map_err(err)?;
        let covered = if chunk.raw {
            chunk.data_bytes
        } else {
            let size = file.metadata().map_err(err)?.len();
            size.checked_sub(CRC_LEN as u64).ok_or_else(|| {
                format!(
                    "{}: {size} bytes, too short to end with a checksum",
                    chunk.path.display()
                )
            })?
        };
        let mut buf = vec![0u8; 1 << 20];
        let (mut left, mut crc) = (covered, 0u32);
        while left > 0 {
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            file.read_exact(&mut buf[..n]).map_err(err)?;
            crc = crc32c::crc32c_append(crc, &buf[..n]);
            left -= n as u64;
        }
        let mut stored = [0u8; CRC_LEN];
        file.read_exact(&mut stored).map_err(err)?;
        let stored = u32::from_le_bytes(stored);
        if crc == stored {
            Ok(true)
        } else {
            Err(format!(
                "{}: checksum {crc:08x} of the data differs from the stored {stored:08x}: the chunk was changed or damaged",
                chunk.path.display()
            ))
        }
    }

    /// Array `name` of committed recording `rid`, every file it reads (its
    /// metadata, its chunks) below the store without a link on the way.
    fn open_array(&self, rid: &str, name: &str) -> Result<Array<FilesystemStore>, StoreError> {
        validate_rid(rid)?;
        self.local(rid, &[name])?;
        let dir = self.recording_dir(rid);
        crate::nofollow::check_tree(self.path(), &dir)?;
        if read_recording_meta(&dir)?.is_none() {
            return Err(StoreError::NotCommitted {
                path: self.path().to_owned(),
                rid: rid.to_owned(),
            });
        }
        Array::open(self.zarr_store(), &format!("/recordings/{rid}/{name}"))
            .map_err(|e| StoreError::zarr(dir.join(name), e))
    }

    /// The file of the single chunk of `recordings/<rid>/<array>` (`signal` or
    /// `label`), with zarrs' chunk key encoding (`c/0/0` by default). The file
    /// does not exist for an empty recording.
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors opening the array.
    pub fn chunk_path(&self, rid: &str, array: &str) -> Result<PathBuf, StoreError> {
        let array = self.open_array(rid, array)?;
        let origin = vec![0; array.dimensionality()];
        Ok(self.zarr_store().key_to_fspath(&array.chunk_key(&origin)))
    }

    /// The samples of a committed recording, decoded by zarrs (any codec).
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors, an unexpected data type.
    pub fn read_signal(&self, rid: &str) -> Result<Signal, StoreError> {
        let array = self.open_array(rid, "signal")?;
        let err =
            |e: &dyn std::fmt::Display| StoreError::zarr(self.recording_dir(rid).join("signal"), e);
        let subset = array.subset_all();
        let dtype: &DataType = array.data_type();
        if *dtype == data_type::float32() {
            array
                .retrieve_array_subset::<Vec<f32>>(&subset)
                .map(Signal::F32)
                .map_err(|e| err(&e))
        } else if *dtype == data_type::float16() {
            let bytes: ArrayBytes = array.retrieve_array_subset(&subset).map_err(|e| err(&e))?;
            let raw = bytes.into_fixed().map_err(|e| err(&e))?;
            Ok(Signal::F16(
                raw.chunks_exact(2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                    .collect(),
            ))
        } else {
            Err(err(&format!(
                "signal data type {:?} is neither float32 nor float16",
                dtype
            )))
        }
    }

    /// The per-sample seizure type codes of a committed recording; a recording
    /// written before types were stored has its labels as types (a seizure is `seiz`).
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors.
    pub fn read_types(&self, rid: &str) -> Result<Vec<u8>, StoreError> {
        if !self
            .recording_dir(rid)
            .join("type")
            .join("zarr.json")
            .is_file()
        {
            return self.read_labels(rid);
        }
        let array = self.open_array(rid, "type")?;
        array
            .retrieve_array_subset::<Vec<u8>>(&array.subset_all())
            .map_err(|e| StoreError::zarr(self.recording_dir(rid).join("type"), e))
    }

    /// The per-sample labels of a committed recording.
    ///
    /// # Errors
    /// [`StoreError::NotCommitted`], zarrs errors.
    pub fn read_labels(&self, rid: &str) -> Result<Vec<u8>, StoreError> {
        let array = self.open_array(rid, "label")?;
        array
            .retrieve_array_subset::<Vec<u8>>(&array.subset_all())
            .map_err(|e| StoreError::zarr(self.recording_dir(rid).join("label"), e))
    }

    /// The window index of a committed recording for windows of `spec`,
    /// rebuilt from its stored labels and types ([`recording_index`]).
    ///
    /// # Errors
    /// Those of [`Store::read_labels`] and [`recording_index`].
    pub fn recording_index(
        &self,
        rid: &str,
        spec: &WindowSpec,
    ) -> Result<RecordingIndex, crate::Error> {
        let (labels, types) = (self.read_labels(rid)?, self.read_types(rid)?);
        Ok(recording_index(&labels, &types, self.root_meta().fs, spec)?)
    }

    /// The seizure events ([`seizure_events`]) of samples `samples` (clipped
    /// to the recording) of a committed recording, in samples from its start;
    /// `None` when the recording is unlabeled.
    ///
    /// # Errors
    /// Those of [`Store::read_labels`].
    pub fn seizure_events(
        &self,
        rid: &str,
        samples: std::ops::Range<usize>,
        min_duration_s: f64,
        merge_gap_s: f64,
    ) -> Result<Option<Vec<SeizureEvent>>, StoreError> {
        let (labels, types) = (self.read_labels(rid)?, self.read_types(rid)?);
        let stop = samples.end.min(labels.len());
        let start = samples.start.min(stop);
        let events = seizure_events(
            labels.get(start..stop).unwrap_or(&[]),
            types.get(start..stop.min(types.len())).unwrap_or(&[]),
            self.root_meta().fs,
            min_duration_s,
            merge_gap_s,
        );
        Ok(events.map(|events| {
            events
                .into_iter()
                .map(|e| SeizureEvent {
                    start: e.start + start,
                    stop: e.stop + start,
                    ..e
                })
                .collect()
        }))
    }
}
