//! The attribute documents brainbrr keeps in `zarr.json` files: the root's
//! `brainbrr` object and each recording group's `brainbrr_recording` object.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;

/// The store format this module writes and reads.
pub const FORMAT: u32 = 1;

/// Root attribute key.
pub const ROOT_KEY: &str = "brainbrr";
/// Recording group attribute key; its presence is the commit marker.
pub const RECORDING_KEY: &str = "brainbrr_recording";
/// Attribute key of the `index` group.
pub const INDEX_KEY: &str = "brainbrr_index";

/// `attributes["brainbrr"]` of the root group.
///
/// The config is opaque here: the store compares it, hashes are computed by the
/// caller, and nothing in this module knows the preprocessing parameters but
/// which of them only shape the window index ([`crate::config::WINDOW_KEYS`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootMeta {
    /// Store format, [`FORMAT`].
    pub format: u32,
    /// The full preprocessing config, as a JSON object.
    pub config: Value,
    /// The config's hash (of what shapes the signals); recordings with
    /// another hash are never mixed in.
    pub config_hash: String,
    /// Hashes this store's recordings may carry for the same signals: the
    /// root's hash before the window keys left it (stores written before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_config_hashes: Vec<String>,
    /// Channel names, in the order of the signal rows.
    pub channels: Vec<String>,
    /// Sampling rate of the stored signals, Hz.
    pub fs: f64,
    /// Label value (as a string key, JSON objects need them) to name.
    pub label_names: BTreeMap<String, String>,
    /// Seizure type code (as a string key) to name, for the `type` arrays and
    /// the window index's `type` column. Empty in stores written before types.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub type_names: BTreeMap<String, String>,
    /// The same codes' SzCORE (HED-SCORE) names: the mapping between the two
    /// vocabularies. Empty in stores written before it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub szcore_names: BTreeMap<String, String>,
    /// The brainbrr version that created the store.
    pub version: String,
    /// Index state: `complete` plus whatever summary the ingest adds (counts, times).
    pub index: Value,
    /// Drawn anew when the store is created or overwritten: a reader that
    /// finds another id than it opened knows the store was replaced under it.
    /// Absent in stores written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

impl RootMeta {
    /// Root metadata for a new store: format 1, the standard label names, this
    /// crate's version, an index not yet complete.
    pub fn new(
        config: Value,
        config_hash: impl Into<String>,
        channels: Vec<String>,
        fs: f64,
    ) -> Self {
        let label_names = [("0", "bckg"), ("1", "seiz"), ("255", "unlabeled")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let type_names = crate::labels::TYPE_CODES
            .iter()
            .map(|&(code, name, _)| (code.to_string(), name.to_owned()))
            .collect();
        let szcore_names = crate::labels::SZCORE_NAMES
            .iter()
            .map(|&(code, name)| (code.to_string(), name.to_owned()))
            .collect();
        Self {
            format: FORMAT,
            config,
            config_hash: config_hash.into(),
            earlier_config_hashes: Vec::new(),
            channels,
            fs,
            label_names,
            type_names,
            szcore_names,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            index: serde_json::json!({ "complete": false }),
            store_id: None,
        }
    }

    /// The root's attributes read from its `zarr.json` document `doc`, the
    /// root of the store at `store` (a folder or a URL, for the errors).
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] without `brainbrr` attributes,
    /// [`StoreError::UnsupportedFormat`] for a format other than 1,
    /// [`StoreError::BadMetadata`].
    pub(crate) fn from_doc(doc: &Value, store: &Path) -> Result<Self, StoreError> {
        let attrs = doc
            .get("attributes")
            .and_then(|a| a.get(ROOT_KEY))
            .ok_or_else(|| StoreError::NotAStore {
                path: store.to_owned(),
                reason: "no \"brainbrr\" attribute in zarr.json".to_owned(),
            })?;
        let format = attrs.get("format").cloned().unwrap_or(Value::Null);
        if format.as_u64() != Some(u64::from(FORMAT)) {
            return Err(StoreError::UnsupportedFormat {
                path: store.to_owned(),
                found: format.to_string(),
            });
        }
        let bad = |reason: String| StoreError::BadMetadata {
            path: store.join("zarr.json"),
            reason,
        };
        let meta: Self = serde_json::from_value(attrs.clone()).map_err(|e| bad(e.to_string()))?;
        // Every reader divides by it (seconds from samples): refused here, once.
        if !(meta.fs > 0.0 && meta.fs.is_finite()) {
            return Err(bad(format!(
                "sampling rate \"fs\" is {} Hz, not a positive number",
                meta.fs
            )));
        }
        Ok(meta)
    }

    /// The attributes as compact JSON (for `brainbrr info` and the bindings).
    pub fn to_json(&self) -> String {
        // ok: a struct of strings, numbers and JSON values always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the index tables were rebuilt after the last ingest finished.
    pub fn index_complete(&self) -> bool {
        self.index
            .get("complete")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The settings a second ingest must share with this store, as one JSON
    /// value, so that [`json_diff`] names every difference: the config but
    /// its window keys (another window rebuilds the index only), the channels
    /// and the rate.
    pub(crate) fn identity(&self) -> Value {
        let mut config = self.config.clone();
        if let Value::Object(map) = &mut config {
            for key in crate::config::WINDOW_KEYS {
                map.remove(key);
            }
        }
        serde_json::json!({
            "config": config,
            "channels": self.channels,
            "fs": self.fs,
        })
    }

    /// Whether a recording preprocessed with config hash `hash` holds this
    /// store's signals.
    pub fn same_signals(&self, hash: &str) -> bool {
        self.config_hash == hash || self.earlier_config_hashes.iter().any(|h| h == hash)
    }

    /// Takes `requested`'s config and hash, which [`Self::identity`] found
    /// the same but for the window keys: the store's window becomes the
    /// requested one, and its earlier hash is kept for its recordings.
    pub(crate) fn rewindow(&mut self, requested: &Self) {
        if self.config_hash != requested.config_hash {
            let earlier = std::mem::replace(&mut self.config_hash, requested.config_hash.clone());
            if !self.earlier_config_hashes.contains(&earlier) {
                self.earlier_config_hashes.push(earlier);
            }
        }
        self.config.clone_from(&requested.config);
    }
}

/// A fresh store id: 128 bits of SHA-256 over the time, the process and the
/// path (unique without a random number generator).
pub(crate) fn new_store_id(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Sha256::new()
        .chain_update(now.to_le_bytes())
        .chain_update(std::process::id().to_le_bytes())
        .chain_update(path.as_os_str().as_encoded_bytes())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// What tells whether a source changed since its recording was committed.
#[derive(Clone, Debug)]
pub struct Fingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// The entity tag of an object (none for a local file).
    pub etag: Option<String>,
}

impl Fingerprint {
    /// Whether the source is the one `committed` was taken from: the same size
    /// and time, and the same entity tag where both have one (recordings
    /// committed before tags were kept have none, and are not all redone).
    pub fn unchanged_since(&self, committed: &Self) -> bool {
        self.size == committed.size
            && self.mtime_ns == committed.mtime_ns
            && match (&self.etag, &committed.etag) {
                (Some(now), Some(then)) => now == then,
                _ => true,
            }
    }
}

impl RecordingMeta {
    /// The fingerprint of the source this recording was committed from.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            size: self.size,
            mtime_ns: self.mtime_ns,
            etag: self.etag.clone(),
        }
    }
}

/// `attributes["brainbrr_recording"]` of `recordings/<rid>`: where the
/// recording came from (so a resume can tell whether the source changed) and
/// what was done to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// Source file, relative to the corpus root.
    pub source: String,
    /// Source size in bytes (resume fingerprint).
    pub size: u64,
    /// Source modification time, ns since the epoch (resume fingerprint).
    pub mtime_ns: i64,
    /// The source object's entity tag, for a source on object storage
    /// (resume fingerprint: listings give times to the second only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Hash of the config this recording was preprocessed with.
    pub config_hash: String,
    /// Input sampling rate, Hz.
    pub fs_in: f64,
    /// Input length, samples.
    pub n_in: u64,
    /// Stored sampling rate, Hz.
    pub fs: f64,
    /// Stored length, samples (the `signal` array is `[n_channels, n_samples]`).
    pub n_samples: u64,
    /// Stored channels.
    pub n_channels: u64,
    /// `train`, `dev` or `eval` in a TUSZ layout.
    pub split: Option<String>,
    /// Patient id, when the layout tells it.
    pub patient: Option<String>,
    /// Session id, when the layout tells it.
    pub session: Option<String>,
    /// Run, as the corpus names it. Absent in TUSZ and in stores written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The corpus the source was read as (`tusz`, `chbmit`, ...). Absent in
    /// stores written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<String>,
    /// The recording's start as its EDF header gives it, local time without a
    /// zone (`2016-01-01T18:28:27`); absent when unreadable and in stores
    /// written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Montage folder (`01_tcp_ar`, ...), when the layout tells it.
    pub montage: Option<String>,
    /// Annotation file used, relative to the corpus root; `None` means unlabeled.
    pub annotation: Option<String>,
    /// File the seizure types come from, relative to the corpus root, when it
    /// is not `annotation` (a `.csv` beside a `.csv_bi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_annotation: Option<String>,
    /// Whether per-sample labels come from an annotation (else all 255).
    pub labeled: bool,
    /// The seizures per channel, when the annotation names channels (a TUSZ
    /// `.csv`); absent otherwise and in stores written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_seizures: Option<Vec<crate::labels::ChannelSeizure>>,
    /// Non-fatal problems met while ingesting.
    pub warnings: Vec<String>,
    /// Electrodes interpolated because they were missing.
    pub interpolated: Vec<String>,
    /// Output channels stored as zeros because an optional electrode they
    /// need is missing (A1-T3 and T4-A2 of a TCP montage without A1/A2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
    /// The root's `store_id` when the recording was committed (set by the
    /// writer): a reader that opened another store id is refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

/// Every JSON path where `stored` and `requested` differ, as
/// `path: stored != requested` (`(absent)` for a missing key). Objects are
/// compared key by key, arrays of equal length element by element; anything
/// else is reported whole.
pub fn json_diff(stored: &Value, requested: &Value) -> Vec<String> {
    crate::json::diff(stored, requested)
        .into_iter()
        .map(|(path, a, b)| format!("{path}: {a} != {b}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entity_tags_count_where_both_sides_have_one() {
        let print = |mtime_ns, etag: Option<&str>| Fingerprint {
            size: 10,
            mtime_ns,
            etag: etag.map(str::to_owned),
        };
        assert!(print(1, Some("a")).unchanged_since(&print(1, Some("a"))));
        assert!(!print(1, Some("b")).unchanged_since(&print(1, Some("a"))));
        // Committed before tags were kept, or a local file: size and time decide.
        assert!(print(1, Some("b")).unchanged_since(&print(1, None)));
        assert!(!print(2, Some("b")).unchanged_since(&print(1, None)));
        assert!(print(1, None).unchanged_since(&print(1, None)));
    }

    #[test]
    fn new_root_is_format_1_and_incomplete() {
        let root = RootMeta::new(json!({}), "h", vec!["FP1".into()], 256.0);
        assert_eq!(root.format, FORMAT);
        assert!(!root.index_complete());
        assert_eq!(root.label_names["255"], "unlabeled");
    }
}
