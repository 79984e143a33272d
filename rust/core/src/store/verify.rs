//! `Store::verify`: every committed recording against the root and its
//! metadata, every chunk against its checksum, and the index against a rebuild
//! from the stored labels. Problems are collected as sentences, never raised:
//! a damaged store must still produce a full report.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::Value;
use zarrs::array::data_type;

use super::index::IndexTables;
use super::read::codec_layout;
use super::recording::{list_dirs, read_recording_meta};
use super::{RecordingMeta, Store, own_dir, read_json};
use crate::labels::{WindowSpec, recording_index};

/// At most this many window-row problems are listed one by one.
const MAX_WINDOW_PROBLEMS: usize = 20;

/// What [`Store::verify`] checked and found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Committed recordings checked.
    pub recordings: usize,
    /// Window rows checked against a rebuild from the stored labels.
    pub windows: usize,
    /// Chunks whose CRC-32C was recomputed and compared.
    pub checksummed: usize,
    /// Bytes read to do so.
    pub checksummed_bytes: u64,
    /// Chunks without a checksum (written before brainbrr stored them).
    pub unchecksummed: usize,
    /// One sentence per problem; empty when the store is sound.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What checking one recording found.
#[derive(Default)]
struct RecordingCheck {
    checksummed: usize,
    checksummed_bytes: u64,
    unchecksummed: usize,
    problems: Vec<String>,
}

impl Store {
    /// Check the store on `jobs` threads (0: one per core); see [`VerifyReport`].
    /// Never fails: every error met is a problem in the report.
    pub fn verify(&self, jobs: usize) -> VerifyReport {
        let mut report = VerifyReport::default();
        match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            Ok(pool) => pool.install(|| self.verify_all(&mut report)),
            Err(_) => self.verify_all(&mut report),
        }
        report
    }

    fn verify_all(&self, report: &mut VerifyReport) {
        let out = &mut report.problems;
        if !self.root_meta().index_complete() {
            out.push("index not complete: an ingest is running or was interrupted".to_owned());
        }
        let recordings = own_dir(self.path(), "recordings");
        let dirs = match recordings
            .as_ref()
            .map(|dir| (dir.join("zarr.json").is_file(), dir))
        {
            Err(e) => return out.push(e.to_string()),
            Ok((false, _)) => {
                return out
                    .push("recordings: no such group (the store holds no recording)".to_owned());
            }
            Ok((true, dir)) => match list_dirs(dir) {
                Ok(dirs) => dirs,
                Err(e) => return out.push(e.to_string()),
            },
        };
        let mut committed = BTreeMap::new();
        for (rid, dir) in dirs {
            match read_recording_meta(&dir) {
                Err(e) => out.push(e.to_string()),
                Ok(None) => out.push(format!("recordings/{rid}: not committed (no brainbrr_recording attribute); the next ingest removes it")),
                Ok(Some(meta)) => {
                    committed.insert(rid, meta);
                }
            }
        }
        let checks: Vec<RecordingCheck> = committed
            .par_iter()
            .map(|(rid, meta)| self.check_recording(rid, meta))
            .collect();
        for c in checks {
            report.checksummed += c.checksummed;
            report.checksummed_bytes += c.checksummed_bytes;
            report.unchecksummed += c.unchecksummed;
            report.problems.extend(c.problems);
        }
        report.recordings = committed.len();
        match self.read_index() {
            Err(e) => report.problems.push(format!("index: {e}")),
            Ok(tables) => {
                report.windows = tables.windows.start.len();
                self.check_index(&tables, &committed, &mut report.problems);
            }
        }
    }

    fn check_recording(&self, rid: &str, meta: &RecordingMeta) -> RecordingCheck {
        let mut check = RecordingCheck::default();
        let out = &mut check.problems;
        let root = self.root_meta();
        let node = format!("recordings/{rid}");
        if meta.n_channels != root.channels.len() as u64 {
            out.push(format!(
                "{node}: {} channels, the store's channel list has {}",
                meta.n_channels,
                root.channels.len()
            ));
        }
        if !root.same_signals(&meta.config_hash) {
            out.push(format!(
                "{node}: config hash {} differs from the store's {}",
                meta.config_hash, root.config_hash
            ));
        }
        if meta.fs.to_bits() != root.fs.to_bits() {
            out.push(format!(
                "{node}: sampled at {} Hz, the store says {} Hz",
                meta.fs, root.fs
            ));
        }
        let (c, n) = (meta.n_channels, meta.n_samples);
        let mut arrays = vec![
            ("signal", vec![c, n], self.signal_dtype()),
            ("label", vec![n], data_type::uint8()),
        ];
        // Seizure types: in every recording written since they are stored.
        if self.recording_dir(rid).join("type").exists() {
            arrays.push(("type", vec![n], data_type::uint8()));
        }
        for (name, shape, dtype) in arrays {
            let codecs = self.check_codecs(rid, name);
            let chunk = match codecs.and_then(|()| self.checked_chunk(rid, name, &shape, &[dtype]))
            {
                Ok(chunk) => chunk,
                Err(problem) => {
                    out.push(problem);
                    continue;
                }
            };
            match Self::check_checksum(&chunk) {
                Ok(true) => {
                    check.checksummed += 1;
                    check.checksummed_bytes += chunk.data_bytes;
                }
                Ok(false) if chunk.data_bytes > 0 => check.unchecksummed += 1,
                Ok(false) => {}
                Err(problem) => out.push(format!("{node}/{name}: {problem}")),
            }
        }
        check
    }

    /// The codec chain is one brainbrr writes: `bytes` little-endian (1-byte
    /// types: no endian), then optionally zstd (signals), then optionally `crc32c`.
    fn check_codecs(&self, rid: &str, name: &str) -> Result<(), String> {
        let node = format!("recordings/{rid}/{name}");
        let doc = read_json(&self.path().join(&node).join("zarr.json"))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{node}: no zarr.json"))?;
        let names: Vec<&str> = doc
            .get("codecs")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(|c| c.get("name")?.as_str()).collect())
            .unwrap_or_default();
        let (raw, _) = codec_layout(&doc);
        let known = raw
            || (name == "signal"
                && matches!(
                    names.as_slice(),
                    ["bytes", "zstd"] | ["bytes", "zstd", "crc32c"]
                ));
        let endian_ok = doc
            .get("codecs")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("configuration"))
            .and_then(|c| c.get("endian"))
            .and_then(Value::as_str)
            .is_none_or(|e| e == "little");
        if known && endian_ok {
            Ok(())
        } else {
            Err(format!(
                "{node}: codec chain {names:?} is not one brainbrr writes (bytes little-endian, optionally zstd, then crc32c)"
            ))
        }
    }

    fn check_index(
        &self,
        t: &IndexTables,
        committed: &BTreeMap<String, RecordingMeta>,
        out: &mut Vec<String>,
    ) {
        let config = &self.root_meta().config;
        let seconds = |key: &str| config.get(key).and_then(Value::as_f64);
        let spec = match (seconds("window_s"), seconds("stride_s")) {
            (Some(window_s), Some(stride_s)) => WindowSpec { window_s, stride_s },
            _ => {
                return out.push(
                    "root config: no window_s/stride_s to rebuild the windows with".to_owned(),
                );
            }
        };
        match spec.samples(self.root_meta().fs) {
            Ok((w, s)) if (w as u64, s as u64) == (t.window_samples, t.stride_samples) => {}
            Ok((w, s)) => out.push(format!(
                "index: windows of {} samples every {}, the config says {w} every {s}",
                t.window_samples, t.stride_samples
            )),
            Err(e) => out.push(format!("root config: {e}")),
        }
        let r = &t.recordings;
        let indexed: std::collections::HashSet<&String> = r.rid.iter().collect();
        for rid in committed.keys().filter(|rid| !indexed.contains(rid)) {
            out.push(format!(
                "recordings/{rid} is committed but missing from the index"
            ));
        }
        for (i, path) in r.path.iter().enumerate() {
            if let Some(why) = escapes(path) {
                out.push(format!(
                    "index/recordings row {i}: path {path:?} {why}: files written at it (events, reports) would land outside their folder"
                ));
            }
        }
        let c = &t.channel_seizures;
        let mut per_channel: BTreeMap<i32, Vec<crate::labels::ChannelSeizure>> = BTreeMap::new();
        for j in 0..c.recording.len() {
            per_channel
                .entry(c.recording[j])
                .or_default()
                .push(crate::labels::ChannelSeizure {
                    channel: c.channel[j].clone(),
                    start: c.start[j] as u64, // ok: `problems` checked 0 <= start < stop
                    stop: c.stop[j] as u64,
                    code: c.seizure_type[j],
                });
        }
        // Each recording's rows against the windows rebuilt from its stored
        // labels, and its channel seizures against its metadata's.
        let bad: Vec<String> = r
            .rid
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, rid)| {
                let Some(meta) = committed.get(rid) else {
                    return vec![format!("index/recordings row {i}: {rid} is not a committed recording")];
                };
                if u64::try_from(r.n_samples[i]).ok() != Some(meta.n_samples) {
                    return vec![format!("index/recordings row {i}: {rid} has n_samples {} in the index, {} in recordings/{rid}", r.n_samples[i], meta.n_samples)];
                }
                let indexed = r.channel_annotated[i].then(|| per_channel.get(&(i as i32)).cloned().unwrap_or_default());
                if indexed != meta.channel_seizures {
                    return vec![format!("index/channel_seizures: the rows of {rid} (row {i}) differ from recordings/{rid}'s channel_seizures")];
                }
                let rebuilt = self.read_labels(rid).and_then(|labels| Ok((self.read_types(rid)?, labels))).map_err(|e| e.to_string()).and_then(|(types, labels)| {
                    recording_index(&labels, &types, meta.fs, &spec).map_err(|e| e.to_string())
                });
                let (rebuilt, codes) = match rebuilt {
                    Ok(r) => (r.windows, r.types),
                    Err(e) => return vec![format!("recordings/{rid}/label: {e}")],
                };
                let offset = usize::try_from(r.window_offset[i]).unwrap_or(0); // ok: `problems` checked the offsets
                let w = &t.windows;
                let mut bad = Vec::new();
                if rebuilt.len() as i64 != r.n_windows[i] {
                    bad.push(format!("index/recordings row {i}: {rid} has {} windows in the index, {} rebuilt from its labels", r.n_windows[i], rebuilt.len()));
                }
                for (k, (want, code)) in rebuilt.iter().zip(&codes).enumerate().take(usize::try_from(r.n_windows[i]).unwrap_or(0)) {
                    let j = offset + k;
                    let got = (w.start[j], w.label[j], w.seizure_fraction[j].to_bits(), w.seizure_type[j]);
                    if got != (want.start as i64, want.label, want.seizure_fraction.to_bits(), *code) {
                        bad.push(format!(
                            "index/windows row {j} ({rid}): start {} label {} fraction {} type {}, rebuilt from the labels: start {} label {} fraction {} type {code}",
                            w.start[j], w.label[j], w.seizure_fraction[j], w.seizure_type[j], want.start, want.label, want.seizure_fraction
                        ));
                    }
                }
                bad
            })
            .collect();
        let more = bad.len().saturating_sub(MAX_WINDOW_PROBLEMS);
        out.extend(bad.into_iter().take(MAX_WINDOW_PROBLEMS));
        if more > 0 {
            out.push(format!("index/windows: {more} more problems"));
        }
    }
}

/// Why an index path, relative to the corpus, could lead out of a folder it
/// is joined to: absolute, or with a `..` segment. `None` when it cannot.
fn escapes(path: &str) -> Option<&'static str> {
    let p = std::path::Path::new(path);
    if p.has_root() {
        Some("is absolute")
    } else if p
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        Some("has a '..' segment")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{codec_layout, escapes};

    #[test]
    fn index_paths_that_leave_their_folder_are_found() {
        assert_eq!(escapes("edf/train/p/s/x.edf"), None);
        assert_eq!(escapes("a..b/x.edf"), None);
        assert_eq!(escapes("/abs/y.edf"), Some("is absolute"));
        assert_eq!(escapes("../../x.edf"), Some("has a '..' segment"));
        assert_eq!(escapes("a/../../x.edf"), Some("has a '..' segment"));
    }
    use serde_json::json;

    #[test]
    fn raw_means_little_endian_bytes_then_at_most_a_checksum() {
        let bytes = |endian: &str| json!({"name": "bytes", "configuration": {"endian": endian}});
        let crc = json!({"name": "crc32c"});
        assert_eq!(
            codec_layout(&json!({"codecs": [bytes("little")]})),
            (true, false)
        );
        assert_eq!(
            codec_layout(&json!({"codecs": [{"name": "bytes"}, crc]})),
            (true, true)
        );
        assert_eq!(
            codec_layout(&json!({"codecs": [bytes("big"), crc]})),
            (false, true)
        );
        assert_eq!(
            codec_layout(&json!({"codecs": [bytes("little"), {"name": "zstd"}, crc]})),
            (false, true)
        );
        assert_eq!(
            codec_layout(&json!({"codecs": [bytes("little"), {"name": "zstd"}]})),
            (false, false)
        );
        assert_eq!(codec_layout(&json!({})), (false, false));
    }
}
