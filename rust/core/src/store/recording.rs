//! One recording: `recordings/<rid>/{signal, label}` written through a
//! temporary group and committed by rename; its metadata read back.
//!
//! Both arrays are a single chunk: `signal` `[C, n]` in chunk `[C, n]`, `label`
//! `[n]` in chunk `[n]`, so the chunk file of an uncompressed signal is the raw
//! little-endian C-order samples and every window is a strided view of one
//! memory map. Zarr needs positive chunk sizes: an empty recording gets chunk
//! shape `[C, 1]` / `[1]` and no chunk file at all.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zarrs::array::codec::BytesCodec;
use zarrs::array::{ArrayBuilder, ArrayBytes, BytesToBytesCodecTraits, Endianness, data_type};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

use super::commit::{install, remove_tree, temp_path};
use super::meta::{RECORDING_KEY, RecordingMeta};
use super::{Store, StoreError, codec_options, read_json};

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
}

/// Recording ids become directory and zarr node names: `[A-Za-z0-9._+~-]`, not
/// starting with `.` (hidden, `..`) or `__` (reserved by zarr), at most 255 bytes.
///
/// # Errors
/// [`StoreError::InvalidRid`] naming the rule broken.
pub fn validate_rid(rid: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| {
        Err(StoreError::InvalidRid {
            rid: rid.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._+~-".contains(c);
    if rid.is_empty() || rid.len() > 255 {
        bad("must have 1 to 255 bytes")
    } else if rid.starts_with('.') || rid.starts_with("__") {
        bad("must not start with '.' or '__'")
    } else if !rid.chars().all(allowed) {
        bad("only ASCII letters, digits and ._+~- are allowed")
    } else {
        Ok(())
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

fn build_err(path: &Path) -> impl Fn(zarrs::array::ArrayCreateError) -> StoreError + '_ {
    move |e| StoreError::zarr(path, e)
}

impl Store {
    /// `<store>/recordings/<rid>`.
    pub fn recording_dir(&self, rid: &str) -> PathBuf {
        self.path().join("recordings").join(rid)
    }

    /// Write one recording and commit it atomically, replacing a previous
    /// version. Safe to call from many threads (or processes) at once for
    /// different `rid`s; two concurrent writes of one `rid` are not supported.
    ///
    /// `signal` holds `meta.n_channels * meta.n_samples` samples, channel-major;
    /// `labels` holds `meta.n_samples` values.
    ///
    /// # Errors
    /// [`StoreError::InvalidRid`], [`StoreError::ShapeMismatch`] for wrong
    /// lengths, [`StoreError::Unsupported`] for zstd without the feature, I/O and
    /// zarrs errors. On error nothing is committed and the temporary is removed.
    pub fn write_recording(
        &self,
        rid: &str,
        meta: &RecordingMeta,
        signal: SignalData<'_>,
        labels: &[u8],
    ) -> Result<(), StoreError> {
        validate_rid(rid)?;
        let (c, n) = (meta.n_channels, meta.n_samples);
        let mismatch = |reason: String| StoreError::ShapeMismatch {
            rid: rid.to_owned(),
            reason,
        };
        let expected = c
            .checked_mul(n)
            .ok_or_else(|| mismatch(format!("{c} x {n} samples overflow")))?;
        if signal.len() as u64 != expected {
            return Err(mismatch(format!(
                "signal has {} samples, metadata says {c} x {n}",
                signal.len()
            )));
        }
        if labels.len() as u64 != n {
            return Err(mismatch(format!("{} labels for {n} samples", labels.len())));
        }
        let tmp = temp_path(self.path(), rid)?;
        let result = self
            .write_group(&tmp, meta, signal, labels)
            .and_then(|()| install(self.path(), &tmp, &self.recording_dir(rid)));
        if result.is_err() {
            let _ = remove_tree(&tmp); // best effort; `clean_temporaries` gets the rest
        }
        result
    }

    /// The complete group at `dir`: arrays first, the group `zarr.json` (the
    /// commit marker) last.
    fn write_group(
        &self,
        dir: &Path,
        meta: &RecordingMeta,
        signal: SignalData<'_>,
        labels: &[u8],
    ) -> Result<(), StoreError> {
        let store = Arc::new(FilesystemStore::new(dir).map_err(|e| StoreError::zarr(dir, e))?);
        let (c, n) = (meta.n_channels, meta.n_samples);
        let options = codec_options();

        let dtype = match signal {
            SignalData::F32(_) => data_type::float32(),
            SignalData::F16(_) => data_type::float16(),
        };
        let path = dir.join("signal");
        let array = ArrayBuilder::new(vec![c, n], vec![c.max(1), n.max(1)], dtype, 0.0f32)
            .array_to_bytes_codec(Arc::new(BytesCodec::new(Some(Endianness::Little))))
            .bytes_to_bytes_codecs(self.signal_codec_chain()?)
            .dimension_names(Some(["channel", "time"]))
            .build(store.clone(), "/signal")
            .map_err(build_err(&path))?;
        array
            .store_metadata()
            .map_err(|e| StoreError::zarr(&path, e))?;
        if c > 0 && n > 0 {
            let stored = match signal {
                SignalData::F32(x) => array.store_chunk_opt(&[0, 0], x, &options),
                SignalData::F16(bits) => {
                    let bytes: Vec<u8> = bits.iter().flat_map(|b| b.to_ne_bytes()).collect();
                    array.store_chunk_opt(&[0, 0], ArrayBytes::new_flen(bytes), &options)
                }
            };
            stored.map_err(|e| StoreError::zarr(&path, e))?;
        }

        let path = dir.join("label");
        let array = ArrayBuilder::new(vec![n], vec![n.max(1)], data_type::uint8(), 255u8)
            .array_to_bytes_codec(Arc::new(BytesCodec::new(None)))
            .dimension_names(Some(["time"]))
            .build(store.clone(), "/label")
            .map_err(build_err(&path))?;
        array
            .store_metadata()
            .map_err(|e| StoreError::zarr(&path, e))?;
        if n > 0 {
            array
                .store_chunk_opt(&[0], labels, &options)
                .map_err(|e| StoreError::zarr(&path, e))?;
        }

        let meta = serde_json::to_value(meta).map_err(|e| StoreError::zarr(dir, e))?;
        let attributes =
            serde_json::Map::from_iter([(super::meta::RECORDING_KEY.to_owned(), meta)]);
        let group = GroupBuilder::new()
            .attributes(attributes)
            .build(store, "/")
            .map_err(|e| StoreError::zarr(dir, e))?;
        group.store_metadata().map_err(|e| StoreError::zarr(dir, e))
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
    /// `recordings/*/zarr.json` files; directories without a commit marker are skipped.
    ///
    /// # Errors
    /// I/O errors listing `recordings/`, a committed `zarr.json` that does not parse.
    pub fn committed(&self) -> Result<BTreeMap<String, RecordingMeta>, StoreError> {
        let dir = self.path().join("recordings");
        let mut out = BTreeMap::new();
        for (rid, path) in list_dirs(&dir)? {
            if let Some(meta) = read_recording_meta(&path)? {
                out.insert(rid, meta);
            }
        }
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::validate_rid;

    #[test]
    fn rids_are_safe_directory_names() {
        for ok in ["aaaaaaac_s001_t000", "train~p1~s1~t0", "a.b-c+d", "0"] {
            assert!(validate_rid(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            ".x",
            "__x",
            "a/b",
            "a\\b",
            "a b",
            "é",
            long.as_str(),
        ] {
            assert!(validate_rid(bad).is_err(), "{bad}");
        }
    }
}
