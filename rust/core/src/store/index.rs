//! The index tables under `index/`: columnar 1-D arrays, one chunk each,
//! rebuilt in full at the end of an ingest and swapped in atomically.
//!
//! Windows of recording row `i` are rows `window_offset[i] ..
//! window_offset[i] + n_windows[i]` of `windows`, so a reader selects a
//! recording's windows without a scan.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use zarrs::array::builder::ArrayBuilderFillValue;
use zarrs::array::{
    Array, ArrayBuilder, DataType, ElementOwned, FillValue, IntoArrayBytes, data_type,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

use super::commit::install;
use super::meta::INDEX_KEY;
use super::temporaries::{remove_tree, temp_path};
use super::{Store, StoreError, codec_options, read_json};

/// `index/recordings`: one row per committed recording.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingRows {
    /// Recording id (`recordings/<rid>`).
    pub rid: Vec<String>,
    /// Source path relative to the corpus root.
    pub path: Vec<String>,
    /// `train` / `dev` / `eval`, `""` when unknown.
    pub split: Vec<String>,
    /// Patient id, `""` when unknown.
    pub patient: Vec<String>,
    /// Session id, `""` when unknown.
    pub session: Vec<String>,
    /// Run, `""` when unknown.
    pub run: Vec<String>,
    /// The corpus the recording was read as (`tusz`, `chbmit`, ...), `""` in
    /// stores written before it.
    pub corpus: Vec<String>,
    /// The recording's start from its EDF header (`2016-01-01T18:28:27`),
    /// `""` when unknown.
    pub start_time: Vec<String>,
    /// Stored length in samples.
    pub n_samples: Vec<i64>,
    /// The source's sampling rate, Hz (NaN in stores written before it).
    pub fs_in: Vec<f64>,
    /// Whether the recording's annotation names the channels each seizure
    /// is seen on (rows in [`ChannelSeizureRows`]); false in stores written
    /// before it.
    pub channel_annotated: Vec<bool>,
    /// Number of window rows of this recording.
    pub n_windows: Vec<i64>,
    /// Row of its first window in `windows`.
    pub window_offset: Vec<i64>,
    /// Per recording, whether each channel (of the root's list) holds data:
    /// false for a channel stored as zeros because an optional electrode is
    /// missing. `index/recordings/channel_present`, bool `[recording,
    /// channel]`. Empty means every channel of every recording (stores
    /// written before it, test stores).
    pub channel_present: Vec<Vec<bool>>,
}

/// `index/windows`: one row per window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowRows {
    /// Row in `index/recordings`.
    pub recording: Vec<i32>,
    /// First sample.
    pub start: Vec<i64>,
    /// 0 background, 1 seizure, 255 unlabeled.
    pub label: Vec<u8>,
    /// Fraction of the window's samples labelled seizure.
    pub seizure_fraction: Vec<f32>,
    /// The window's seizure type code (`crate::labels::window_types`): 0
    /// background, 255 unlabeled, else the type most of its seizure samples carry.
    pub seizure_type: Vec<u8>,
}

/// `index/channel_seizures`: the seizures per channel of the recordings
/// whose annotation names channels (a TUSZ `.csv`), one row per seizure row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelSeizureRows {
    /// Row in `index/recordings`.
    pub recording: Vec<i32>,
    /// The channel as the annotation names it (`FP1-F7`).
    pub channel: Vec<String>,
    /// First stored sample inside.
    pub start: Vec<i64>,
    /// First stored sample past the end.
    pub stop: Vec<i64>,
    /// Type code.
    pub seizure_type: Vec<u8>,
}

/// `index/failures`: one row per source that could not be ingested.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailureRows {
    /// Source path relative to the corpus root.
    pub path: Vec<String>,
    /// Whether it failed or was skipped (`index/failures/kind`).
    pub kind: Vec<FailureKind>,
    /// Why.
    pub reason: Vec<String>,
}

impl FailureRows {
    /// Adds a row.
    pub fn push(&mut self, path: &str, kind: FailureKind, reason: &str) {
        self.path.push(path.to_owned());
        self.kind.push(kind);
        self.reason.push(reason.to_owned());
    }
}

/// Why a source is in `index/failures`, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Bad input: the file could not be read or its annotation is broken.
    Failed,
    /// Left out on purpose: a recording the config cannot use (a montage
    /// channel missing, too short).
    Skipped,
}

impl FailureKind {
    /// The stored name: `failed`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Failed, Self::Skipped]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// How a store written before `index/failures/kind` marked a skipped source:
/// its reason began with this. Read back in one place, [`Store::read_index`].
const LEGACY_SKIPPED_PREFIX: &str = "skipped: ";

impl RecordingRows {
    /// `channel_present` as one flat row-major `[recording, channel]` array
    /// and its width, every channel present when the column is empty.
    pub fn channel_present_matrix(&self, n_channels: usize) -> (Vec<bool>, usize) {
        match self.channel_present.first() {
            None => (vec![true; self.rid.len() * n_channels], n_channels),
            Some(row) => (self.channel_present.concat(), row.len()),
        }
    }
}

/// The three index tables plus the window geometry they were built with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexTables {
    /// Window length in samples.
    pub window_samples: u64,
    /// Window stride in samples.
    pub stride_samples: u64,
    /// Per recording.
    pub recordings: RecordingRows,
    /// Per window.
    pub windows: WindowRows,
    /// Per failed source.
    pub failures: FailureRows,
    /// Per seizure per channel.
    pub channel_seizures: ChannelSeizureRows,
}

impl IndexTables {
    /// Internal inconsistencies: unequal column lengths, recording ids that are
    /// not one folder name (a reader would follow them out of the store) or
    /// repeat, window rows that do not match `n_windows` / `window_offset` or
    /// reach outside their recording. Empty when consistent.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (r, w, f) = (&self.recordings, &self.windows, &self.failures);
        let n = r.rid.len();
        let lens = [
            n,
            r.path.len(),
            r.split.len(),
            r.patient.len(),
            r.session.len(),
            r.run.len(),
            r.corpus.len(),
            r.start_time.len(),
            r.n_samples.len(),
            r.fs_in.len(),
            r.channel_annotated.len(),
            r.n_windows.len(),
            r.window_offset.len(),
        ];
        if let Some(problem) = unequal("recordings", &lens) {
            out.push(problem);
            return out;
        }
        let present = &r.channel_present;
        if !present.is_empty()
            && (present.len() != n || present.iter().any(|row| row.len() != present[0].len()))
        {
            out.push(format!(
                "index/recordings/channel_present: not one row of equal length per recording ({} rows for {n} recordings)",
                present.len()
            ));
            return out;
        }
        let m = w.recording.len();
        let window_lens = [
            m,
            w.start.len(),
            w.label.len(),
            w.seizure_fraction.len(),
            w.seizure_type.len(),
        ];
        if let Some(problem) = unequal("windows", &window_lens) {
            out.push(problem);
            return out;
        }
        out.extend(unequal(
            "failures",
            &[f.path.len(), f.kind.len(), f.reason.len()],
        ));
        let mut seen = std::collections::HashSet::new();
        for (i, rid) in r.rid.iter().enumerate() {
            if let Err(e) = super::rid::validate(rid) {
                out.push(format!("index/recordings row {i}: {e}"));
            } else if !seen.insert(rid) {
                out.push(format!(
                    "index/recordings row {i}: recording id {rid} repeats"
                ));
            }
        }
        let c = &self.channel_seizures;
        let k = c.recording.len();
        let seizure_lens = [
            k,
            c.channel.len(),
            c.start.len(),
            c.stop.len(),
            c.seizure_type.len(),
        ];
        if let Some(problem) = unequal("channel_seizures", &seizure_lens) {
            out.push(problem);
        } else if let Some(j) = (0..k).find(|&j| {
            let n = usize::try_from(c.recording[j])
                .ok()
                .and_then(|i| r.n_samples.get(i));
            n.is_none_or(|&n| !(0 <= c.start[j] && c.start[j] < c.stop[j] && c.stop[j] <= n))
        }) {
            out.push(format!(
                "index/channel_seizures row {j}: samples {}..{} lie outside recording {}",
                c.start[j], c.stop[j], c.recording[j]
            ));
        }
        if !out.is_empty() {
            return out;
        }
        let window = i64::try_from(self.window_samples).unwrap_or(i64::MAX);
        let outside = (0..m).filter(|&j| {
            let n = usize::try_from(w.recording[j])
                .ok()
                .and_then(|k| r.n_samples.get(k));
            n.is_none_or(|&n| w.start[j] < 0 || w.start[j].saturating_add(window) > n)
        });
        for j in outside.take(5) {
            out.push(format!(
                "index/windows row {j}: start {} + {window} samples lies outside recording {}",
                w.start[j], w.recording[j]
            ));
        }
        for i in 0..n {
            let (offset, count) = (r.window_offset[i], r.n_windows[i]);
            let rows = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(count).ok())
                .and_then(|(o, c)| Some(o..o.checked_add(c)?));
            match rows.filter(|rows| rows.end <= m) {
                None => out.push(format!("index/recordings row {i} ({}): windows {offset}+{count} outside the {m} window rows", r.rid[i])),
                Some(rows) => {
                    if let Some(j) = rows.clone().find(|&j| usize::try_from(w.recording[j]).ok() != Some(i)) {
                        out.push(format!("index/windows row {j}: recording {} inside the windows of recording row {i}", w.recording[j]));
                    }
                }
            }
        }
        let total: i64 = r.n_windows.iter().sum();
        if usize::try_from(total).ok() != Some(m) {
            out.push(format!(
                "index: n_windows sum to {total}, but there are {m} window rows"
            ));
        }
        out
    }
}

/// `index/<table>: column lengths differ [...]` when the lengths of its columns
/// (in their declared order) are not all equal.
fn unequal(table: &str, lens: &[usize]) -> Option<String> {
    lens.windows(2)
        .any(|pair| pair[0] != pair[1])
        .then(|| format!("index/{table}: column lengths differ {lens:?}"))
}

/// The dimension of a table's rows, named for xarray (Zarr v3 `dimension_names`).
fn row_dimension(name: &str) -> &'static str {
    match name.split('/').nth(1) {
        Some("recordings") => "recording",
        Some("windows") => "window",
        Some("channel_seizures") => "channel_seizure",
        _ => "failure",
    }
}

fn column<'a>(
    store: &Arc<FilesystemStore>,
    dir: &Path,
    name: &str,
    len: usize,
    dtype: DataType,
    fill: impl Into<ArrayBuilderFillValue>,
    data: impl IntoArrayBytes<'a>,
) -> Result<(), StoreError> {
    table(store, dir, name, &[len], dtype, fill, data)
}

/// A one-chunk array of `shape` whose first dimension is the table's rows
/// and whose second, if any, the store's channels.
fn table<'a>(
    store: &Arc<FilesystemStore>,
    dir: &Path,
    name: &str,
    shape: &[usize],
    dtype: DataType,
    fill: impl Into<ArrayBuilderFillValue>,
    data: impl IntoArrayBytes<'a>,
) -> Result<(), StoreError> {
    let path = dir.join(name.trim_start_matches('/'));
    let err = |e: &dyn std::fmt::Display| StoreError::zarr(&path, e);
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let chunks: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
    let dims = [row_dimension(name), "channel"];
    let array = ArrayBuilder::new(shape.clone(), chunks, dtype, fill)
        .dimension_names(Some(dims[..shape.len()].iter().copied()))
        .build(store.clone(), name)
        .map_err(|e| err(&e))?;
    array.store_metadata().map_err(|e| err(&e))?;
    if shape.iter().all(|&d| d > 0) {
        array
            .store_chunk_opt(&vec![0; shape.len()], data, &codec_options())
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

fn strings(
    store: &Arc<FilesystemStore>,
    dir: &Path,
    name: &str,
    values: &[String],
) -> Result<(), StoreError> {
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    column(
        store,
        dir,
        name,
        values.len(),
        data_type::string(),
        "",
        &values[..],
    )
}

fn write_tree(dir: &Path, t: &IndexTables, n_channels: usize) -> Result<(), StoreError> {
    let store = Arc::new(FilesystemStore::new(dir).map_err(|e| StoreError::zarr(dir, e))?);
    let (r, w, f) = (&t.recordings, &t.windows, &t.failures);
    let kinds: Vec<String> = f.kind.iter().map(|k| k.as_str().to_owned()).collect();
    let text: [(&str, &[String]); 11] = [
        ("/recordings/rid", &r.rid),
        ("/recordings/path", &r.path),
        ("/recordings/split", &r.split),
        ("/recordings/patient", &r.patient),
        ("/recordings/session", &r.session),
        ("/recordings/run", &r.run),
        ("/recordings/corpus", &r.corpus),
        ("/recordings/start_time", &r.start_time),
        ("/failures/path", &f.path),
        ("/failures/kind", &kinds),
        ("/failures/reason", &f.reason),
    ];
    for (name, values) in text {
        strings(&store, dir, name, values)?;
    }
    column(
        &store,
        dir,
        "/recordings/fs_in",
        r.fs_in.len(),
        data_type::float64(),
        f64::NAN,
        &r.fs_in[..],
    )?;
    column(
        &store,
        dir,
        "/recordings/channel_annotated",
        r.channel_annotated.len(),
        data_type::bool(),
        FillValue::from(false),
        &r.channel_annotated[..],
    )?;
    let c = &t.channel_seizures;
    strings(&store, dir, "/channel_seizures/channel", &c.channel)?;
    column(
        &store,
        dir,
        "/channel_seizures/recording",
        c.recording.len(),
        data_type::int32(),
        0i32,
        &c.recording[..],
    )?;
    for (name, values) in [("start", &c.start), ("stop", &c.stop)] {
        column(
            &store,
            dir,
            &format!("/channel_seizures/{name}"),
            values.len(),
            data_type::int64(),
            0i64,
            &values[..],
        )?;
    }
    column(
        &store,
        dir,
        "/channel_seizures/type",
        c.seizure_type.len(),
        data_type::uint8(),
        0u8,
        &c.seizure_type[..],
    )?;
    for (name, values) in [
        ("n_samples", &r.n_samples),
        ("n_windows", &r.n_windows),
        ("window_offset", &r.window_offset),
    ] {
        column(
            &store,
            dir,
            &format!("/recordings/{name}"),
            values.len(),
            data_type::int64(),
            0i64,
            &values[..],
        )?;
    }
    let (present, n_channels) = r.channel_present_matrix(n_channels);
    table(
        &store,
        dir,
        "/recordings/channel_present",
        &[r.rid.len(), n_channels],
        data_type::bool(),
        FillValue::from(true),
        &present[..],
    )?;
    column(
        &store,
        dir,
        "/windows/recording",
        w.recording.len(),
        data_type::int32(),
        0i32,
        &w.recording[..],
    )?;
    column(
        &store,
        dir,
        "/windows/start",
        w.start.len(),
        data_type::int64(),
        0i64,
        &w.start[..],
    )?;
    column(
        &store,
        dir,
        "/windows/label",
        w.label.len(),
        data_type::uint8(),
        255u8,
        &w.label[..],
    )?;
    column(
        &store,
        dir,
        "/windows/type",
        w.seizure_type.len(),
        data_type::uint8(),
        255u8,
        &w.seizure_type[..],
    )?;
    column(
        &store,
        dir,
        "/windows/seizure_fraction",
        w.seizure_fraction.len(),
        data_type::float32(),
        0.0f32,
        &w.seizure_fraction[..],
    )?;

    let attrs = json!({
        "window_samples": t.window_samples,
        "stride_samples": t.stride_samples,
        "n_recordings": r.rid.len(),
        "n_windows": w.recording.len(),
        "n_failures": f.path.len(),
    });
    for table in ["/recordings", "/windows", "/failures", "/channel_seizures"] {
        let group = GroupBuilder::new()
            .build(store.clone(), table)
            .map_err(|e| StoreError::zarr(dir, e))?;
        group
            .store_metadata()
            .map_err(|e| StoreError::zarr(dir.join(&table[1..]), e))?;
    }
    let attributes = serde_json::Map::from_iter([(INDEX_KEY.to_owned(), attrs)]);
    let group = GroupBuilder::new()
        .attributes(attributes)
        .build(store, "/")
        .map_err(|e| StoreError::zarr(dir, e))?;
    group.store_metadata().map_err(|e| StoreError::zarr(dir, e))
}

impl Store {
    /// Replace `index/` with `tables`, atomically (temporary tree, rename).
    /// Does not touch `index.complete`: call [`Store::set_index_complete`] after.
    ///
    /// # Errors
    /// [`StoreError::InvalidIndex`] when [`IndexTables::problems`] finds any,
    /// I/O and zarrs errors.
    pub fn write_index(&self, tables: &IndexTables) -> Result<(), StoreError> {
        let problems = tables.problems();
        if !problems.is_empty() {
            return Err(StoreError::InvalidIndex {
                reason: problems.join("; "),
            });
        }
        let tmp = temp_path(self.path(), "index")?;
        let n_channels = self.root_meta().channels.len();
        let result = write_tree(&tmp, tables, n_channels)
            .and_then(|()| install(self.path(), &tmp, &self.path().join("index")));
        if result.is_err() {
            let _ = remove_tree(&tmp); // best effort; `clean_temporaries` gets the rest
        }
        result
    }

    /// Read the index tables, checked by [`IndexTables::problems`].
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] when there is no index, zarrs errors,
    /// [`StoreError::InvalidIndex`] naming each inconsistency.
    pub fn read_index(&self) -> Result<IndexTables, StoreError> {
        let index = self.path().join("index");
        // Links refused anywhere below: the index names what readers map.
        crate::nofollow::check_tree(self.path(), &index)?;
        let meta_path = index.join("zarr.json");
        let doc = read_json(&meta_path)?.ok_or_else(|| StoreError::NotAStore {
            path: self.path().to_owned(),
            reason: "no index/ (no ingest finished)".to_owned(),
        })?;
        let attrs = doc.get("attributes").and_then(|a| a.get(INDEX_KEY));
        let geometry = |key: &str| {
            attrs
                .and_then(|a| a.get(key))
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| StoreError::BadMetadata {
                    path: meta_path.clone(),
                    reason: format!("no {INDEX_KEY}.{key}"),
                })
        };
        let rid: Vec<String> = self.column("recordings/rid")?;
        let n = rid.len();
        let tables = IndexTables {
            window_samples: geometry("window_samples")?,
            stride_samples: geometry("stride_samples")?,
            recordings: RecordingRows {
                rid,
                path: self.column("recordings/path")?,
                split: self.column("recordings/split")?,
                patient: self.column("recordings/patient")?,
                session: self.column("recordings/session")?,
                run: self.text_or_empty("recordings/run", n)?,
                corpus: self.text_or_empty("recordings/corpus", n)?,
                start_time: self.text_or_empty("recordings/start_time", n)?,
                n_samples: self.column("recordings/n_samples")?,
                fs_in: self.column_or("recordings/fs_in", n, f64::NAN)?,
                channel_annotated: self.column_or("recordings/channel_annotated", n, false)?,
                n_windows: self.column("recordings/n_windows")?,
                window_offset: self.column("recordings/window_offset")?,
                channel_present: self.channel_present()?,
            },
            windows: WindowRows {
                recording: self.column("windows/recording")?,
                start: self.column("windows/start")?,
                seizure_type: match self.column("windows/type") {
                    Ok(types) => types,
                    // Written before types were stored: a seizure window is `seiz`.
                    Err(_) if !self.path().join("index/windows/type").exists() => {
                        self.column("windows/label")?
                    }
                    Err(e) => return Err(e),
                },
                label: self.column("windows/label")?,
                seizure_fraction: self.column("windows/seizure_fraction")?,
            },
            failures: self.failures()?,
            channel_seizures: if self.path().join("index/channel_seizures").exists() {
                ChannelSeizureRows {
                    recording: self.column("channel_seizures/recording")?,
                    channel: self.column("channel_seizures/channel")?,
                    start: self.column("channel_seizures/start")?,
                    stop: self.column("channel_seizures/stop")?,
                    seizure_type: self.column("channel_seizures/type")?,
                }
            } else {
                ChannelSeizureRows::default() // written before it
            },
        };
        // Never hand out an index that names paths outside the store or
        // windows outside their recording.
        let problems = tables.problems();
        if problems.is_empty() {
            Ok(tables)
        } else {
            Err(StoreError::InvalidIndex {
                reason: problems.join("; "),
            })
        }
    }

    /// `index/failures`; in a store written before its `kind` column, the kind
    /// read from the reason's prefix (the only place that prefix is read).
    fn failures(&self) -> Result<FailureRows, StoreError> {
        let path: Vec<String> = self.column("failures/path")?;
        let reason: Vec<String> = self.column("failures/reason")?;
        if !self.path().join("index/failures/kind").exists() {
            let mut rows = FailureRows::default();
            for (path, reason) in path.iter().zip(&reason) {
                match reason.strip_prefix(LEGACY_SKIPPED_PREFIX) {
                    Some(why) => rows.push(path, FailureKind::Skipped, why),
                    None => rows.push(path, FailureKind::Failed, reason),
                }
            }
            return Ok(rows);
        }
        let names: Vec<String> = self.column("failures/kind")?;
        let kind = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                FailureKind::parse(name).ok_or_else(|| StoreError::InvalidIndex {
                    reason: format!(
                        "index/failures/kind row {i}: {name:?} is neither \"failed\" nor \"skipped\""
                    ),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(FailureRows { path, kind, reason })
    }

    /// `recordings/channel_present` as rows; empty when every channel of
    /// every recording is present (and in stores written before the column).
    fn channel_present(&self) -> Result<Vec<Vec<bool>>, StoreError> {
        let name = "recordings/channel_present";
        if !self.path().join("index").join(name).exists() {
            return Ok(Vec::new());
        }
        let path = self.path().join("index").join(name);
        let array = Array::open(self.zarr_store(), &format!("/index/{name}"))
            .map_err(|e| StoreError::zarr(&path, e))?;
        let width = array.shape().get(1).copied().unwrap_or(0) as usize;
        let flat: Vec<bool> = self.column(name)?;
        if flat.iter().all(|&p| p) {
            return Ok(Vec::new());
        }
        Ok(flat.chunks(width.max(1)).map(<[bool]>::to_vec).collect())
    }

    /// A text column of `n` rows; `""` each in a store written before it.
    fn text_or_empty(&self, name: &str, n: usize) -> Result<Vec<String>, StoreError> {
        self.column_or(name, n, String::new())
    }

    /// A column of `n` rows; `absent` each in a store written before it.
    fn column_or<T: ElementOwned + Clone>(
        &self,
        name: &str,
        n: usize,
        absent: T,
    ) -> Result<Vec<T>, StoreError> {
        if self.path().join("index").join(name).exists() {
            self.column(name)
        } else {
            Ok(vec![absent; n])
        }
    }

    fn column<T: ElementOwned>(&self, name: &str) -> Result<Vec<T>, StoreError> {
        let path = self.path().join("index").join(name);
        let array = Array::open(self.zarr_store(), &format!("/index/{name}"))
            .map_err(|e| StoreError::zarr(&path, e))?;
        array
            .retrieve_array_subset::<Vec<T>>(&array.subset_all())
            .map_err(|e| StoreError::zarr(&path, e))
    }
}

#[cfg(test)]
mod tests;
