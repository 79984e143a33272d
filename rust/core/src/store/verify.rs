//! `Store::verify`: every committed recording against its metadata, and the
//! index against the recordings. Problems are collected as sentences, never
//! raised: a damaged store must still produce a full report.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;
use zarrs::array::{Array, DataType, data_type};

use super::index::IndexTables;
use super::recording::{list_dirs, read_recording_meta};
use super::{RecordingMeta, Store, read_json};

/// At most this many window-row problems are listed one by one.
const MAX_WINDOW_PROBLEMS: usize = 20;

/// What [`Store::verify`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Committed recordings checked.
    pub recordings: usize,
    /// Window rows checked.
    pub windows: usize,
    /// One sentence per problem; empty when the store is sound.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Whether a chunk file holds the raw little-endian elements: the codec chain
/// is the `bytes` codec alone, little-endian (or without endian, for 1-byte types).
pub(crate) fn is_raw(array_json: &Value) -> bool {
    match array_json
        .get("codecs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([codec]) => {
            let endian = codec
                .get("configuration")
                .and_then(|c| c.get("endian"))
                .and_then(Value::as_str);
            codec.get("name").and_then(Value::as_str) == Some("bytes")
                && matches!(endian, None | Some("little"))
        }
        _ => false,
    }
}

impl Store {
    /// Check the store; see [`VerifyReport`]. Never fails: every error met is a problem in the report.
    pub fn verify(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        let out = &mut report.problems;
        if !self.root_meta().index_complete() {
            out.push("index not complete: an ingest is running or was interrupted".to_owned());
        }
        let mut committed = BTreeMap::new();
        match list_dirs(&self.path().join("recordings")) {
            Err(e) => out.push(e.to_string()),
            Ok(dirs) => {
                for (rid, dir) in dirs {
                    match read_recording_meta(&dir) {
                        Err(e) => out.push(e.to_string()),
                        Ok(None) => out.push(format!("recordings/{rid}: not committed (no brainbrr_recording attribute); clean_temporaries removes it")),
                        Ok(Some(meta)) => {
                            self.check_recording(&rid, &meta, out);
                            committed.insert(rid, meta);
                        }
                    }
                }
            }
        }
        report.recordings = committed.len();
        match self.read_index() {
            Err(e) => out.push(format!("index: {e}")),
            Ok(tables) => {
                report.windows = tables.windows.start.len();
                check_index(&tables, &committed, out);
            }
        }
        report
    }

    fn check_recording(&self, rid: &str, meta: &RecordingMeta, out: &mut Vec<String>) {
        let root = self.root_meta();
        if meta.n_channels != root.channels.len() as u64 {
            out.push(format!(
                "recordings/{rid}: {} channels, the store has {}",
                meta.n_channels,
                root.channels.len()
            ));
        }
        if meta.config_hash != root.config_hash {
            out.push(format!(
                "recordings/{rid}: config hash {} differs from the store's {}",
                meta.config_hash, root.config_hash
            ));
        }
        let (c, n) = (meta.n_channels, meta.n_samples);
        self.check_array(
            rid,
            "signal",
            &[c, n],
            &[data_type::float32(), data_type::float16()],
            out,
        );
        self.check_array(rid, "label", &[n], &[data_type::uint8()], out);
    }

    fn check_array(
        &self,
        rid: &str,
        name: &str,
        shape: &[u64],
        dtypes: &[DataType],
        out: &mut Vec<String>,
    ) {
        let node = format!("recordings/{rid}/{name}");
        let array = match Array::open(self.zarr_store(), &format!("/{node}")) {
            Ok(array) => array,
            Err(e) => return out.push(format!("{node}: cannot open: {e}")),
        };
        if array.shape() != shape {
            out.push(format!(
                "{node}: shape {:?}, metadata says {shape:?}",
                array.shape()
            ));
            return;
        }
        if !dtypes.contains(array.data_type()) {
            out.push(format!(
                "{node}: unexpected data type {:?}",
                array.data_type()
            ));
            return;
        }
        let origin = vec![0; shape.len()];
        let one_chunk: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
        match array.chunk_shape(&origin) {
            Ok(chunk) if chunk.iter().map(|d| d.get()).eq(one_chunk.iter().copied()) => {}
            Ok(chunk) => out.push(format!(
                "{node}: chunk shape {chunk:?}, expected one chunk {one_chunk:?}"
            )),
            Err(e) => out.push(format!("{node}: {e}")),
        }
        if shape.contains(&0) {
            return; // an empty array has no chunk file
        }
        let file = self.zarr_store().key_to_fspath(&array.chunk_key(&origin));
        let size = match fs::metadata(&file) {
            Ok(m) => m.len(),
            Err(e) => return out.push(format!("{node}: chunk file {}: {e}", file.display())),
        };
        let raw = read_json(&self.path().join(&node).join("zarr.json"))
            .ok()
            .flatten()
            .is_some_and(|doc| is_raw(&doc));
        let item = array.data_type().fixed_size().unwrap_or(0) as u64; // ok: dtypes above are all fixed-size
        let expected = shape.iter().product::<u64>() * item;
        if raw && size != expected {
            out.push(format!(
                "{node}: chunk file {} has {size} bytes, expected {expected}",
                file.display()
            ));
        }
    }
}

fn check_index(
    t: &IndexTables,
    committed: &BTreeMap<String, RecordingMeta>,
    out: &mut Vec<String>,
) {
    let problems = t.problems();
    if !problems.is_empty() {
        out.extend(problems);
        return; // row-level checks below assume equal column lengths
    }
    if t.window_samples == 0 {
        out.push("index: window_samples is 0".to_owned());
    }
    let r = &t.recordings;
    let mut seen = BTreeSet::new();
    for (i, rid) in r.rid.iter().enumerate() {
        if !seen.insert(rid.as_str()) {
            out.push(format!("index/recordings row {i}: rid {rid} appears twice"));
        }
        match committed.get(rid) {
            None => out.push(format!(
                "index/recordings row {i}: {rid} is not a committed recording"
            )),
            Some(meta) if u64::try_from(r.n_samples[i]).ok() != Some(meta.n_samples) => {
                out.push(format!("index/recordings row {i}: {rid} has n_samples {} in the index, {} in recordings/{rid}", r.n_samples[i], meta.n_samples));
            }
            Some(_) => {}
        }
    }
    for rid in committed.keys().filter(|rid| !seen.contains(rid.as_str())) {
        out.push(format!(
            "recordings/{rid} is committed but missing from the index"
        ));
    }
    let w = &t.windows;
    let mut bad = Vec::new();
    for j in 0..w.start.len() {
        let rec = usize::try_from(w.recording[j])
            .ok()
            .filter(|&i| i < r.rid.len());
        let Some(i) = rec else {
            bad.push(format!(
                "index/windows row {j}: recording {} out of range",
                w.recording[j]
            ));
            continue;
        };
        let end = w.start[j].checked_add(t.window_samples as i64);
        if w.start[j] < 0 || end.is_none_or(|end| end > r.n_samples[i]) {
            bad.push(format!(
                "index/windows row {j}: start {} + {} samples exceeds {} samples of {}",
                w.start[j], t.window_samples, r.n_samples[i], r.rid[i]
            ));
        }
        if ![0, 1, 255].contains(&w.label[j]) {
            bad.push(format!(
                "index/windows row {j}: label {} is not 0, 1 or 255",
                w.label[j]
            ));
        }
        if !(0.0..=1.0).contains(&w.seizure_fraction[j]) {
            bad.push(format!(
                "index/windows row {j}: seizure_fraction {} outside [0, 1]",
                w.seizure_fraction[j]
            ));
        }
    }
    let more = bad.len().saturating_sub(MAX_WINDOW_PROBLEMS);
    out.extend(bad.into_iter().take(MAX_WINDOW_PROBLEMS));
    if more > 0 {
        out.push(format!("index/windows: {more} more problems"));
    }
}

#[cfg(test)]
mod tests {
    use super::is_raw;
    use serde_json::json;

    #[test]
    fn raw_means_little_endian_bytes_alone() {
        let bytes = |endian: &str| json!({"name": "bytes", "configuration": {"endian": endian}});
        assert!(is_raw(&json!({"codecs": [bytes("little")]})));
        assert!(is_raw(&json!({"codecs": [{"name": "bytes"}]})));
        assert!(!is_raw(&json!({"codecs": [bytes("big")]})));
        assert!(!is_raw(
            &json!({"codecs": [bytes("little"), {"name": "zstd"}]})
        ));
        assert!(!is_raw(&json!({})));
    }
}
