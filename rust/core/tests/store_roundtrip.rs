//! The store layer end to end: write, read back, verify, corrupt, refuse a
//! foreign config, write concurrently, clean up after a crash.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use brainbrr_core::store::{
    FailureKind, IndexTables, RecordingMeta, RootMeta, Signal, SignalData, Store, StoreError,
};
use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

const CHANNELS: usize = 3;
const WINDOW: u64 = 10;
const STRIDE: u64 = 5;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("brainbrr-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }
    fn store(&self) -> PathBuf {
        self.0.join("cache.zarr")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn root(band_hi: f64) -> RootMeta {
    // The window geometry `verify` rebuilds the index with: WINDOW and STRIDE samples at 256 Hz.
    let config = json!({
        "dsp": {"band": [0.5, band_hi], "fs": 256.0},
        "window_s": WINDOW as f64 / 256.0,
        "stride_s": STRIDE as f64 / 256.0,
    });
    let channels = (0..CHANNELS).map(|i| format!("ch{i}")).collect();
    RootMeta::new(config, format!("hash-{band_hi}"), channels, 256.0)
}

fn meta(root: &RootMeta, n: u64, labeled: bool) -> RecordingMeta {
    RecordingMeta {
        source: format!("train/p1/s1/rec_{n}.edf"),
        size: 1000 + n,
        mtime_ns: 1_700_000_000_000_000_000,
        etag: None,
        config_hash: root.config_hash.clone(),
        fs_in: 250.0,
        n_in: n,
        fs: 256.0,
        n_samples: n,
        n_channels: CHANNELS as u64,
        split: Some("train".into()),
        patient: Some("p1".into()),
        session: None,
        run: None,
        corpus: None,
        start_time: None,
        montage: Some("01_tcp_ar".into()),
        annotation: labeled.then(|| "train/p1/s1/rec.csv_bi".into()),
        type_annotation: None,
        labeled,
        // Seen on one channel, in a labeled recording long enough.
        channel_seizures: (labeled && n >= 9).then(|| {
            vec![brainbrr_core::labels::ChannelSeizure {
                channel: "FP1-F7".into(),
                start: 3,
                stop: 9,
                code: 2,
            }]
        }),
        warnings: vec![],
        interpolated: vec!["FZ".into()],
        absent: Vec::new(),
        store_id: root.store_id.clone(),
    }
}

fn signal(n: u64, seed: f32) -> Vec<f32> {
    (0..CHANNELS as u64 * n)
        .map(|i| seed + i as f32 * 0.25 - 3.0)
        .collect()
}

fn labels(n: u64) -> Vec<u8> {
    (0..n).map(|i| u8::from(i % 17 < 5)).collect()
}

/// Windows every STRIDE samples over each committed recording, labels from the per-sample labels.
fn build_index(store: &Store) -> IndexTables {
    let mut t = IndexTables {
        window_samples: WINDOW,
        stride_samples: STRIDE,
        ..Default::default()
    };
    t.failures
        .push("train/bad.edf", FailureKind::Failed, "not an EDF file");
    t.failures
        .push("train/short.edf", FailureKind::Skipped, "too short");
    for (row, (rid, m)) in store.committed().unwrap().into_iter().enumerate() {
        let y = store.read_labels(&rid).unwrap();
        let r = &mut t.recordings;
        r.window_offset.push(t.windows.start.len() as i64);
        let mut count = 0;
        let mut start = 0;
        while start + WINDOW <= m.n_samples {
            let w = &y[start as usize..(start + WINDOW) as usize];
            let seiz = w.iter().filter(|&&v| v == 1).count();
            t.windows.recording.push(row as i32);
            t.windows.start.push(start as i64);
            t.windows.label.push(if w.contains(&255) {
                255
            } else {
                u8::from(seiz > 0)
            });
            t.windows.seizure_fraction.push(seiz as f32 / WINDOW as f32);
            // `commit` stores the labels as types: a seizure window is `seiz`.
            t.windows
                .seizure_type
                .push(*t.windows.label.last().unwrap());
            count += 1;
            start += STRIDE;
        }
        r.rid.push(rid);
        r.path.push(m.source);
        r.split.push(m.split.unwrap_or_default());
        r.patient.push(m.patient.unwrap_or_default());
        r.session.push(m.session.unwrap_or_default());
        r.run.push(m.run.unwrap_or_default());
        r.corpus.push(m.corpus.unwrap_or_default());
        r.start_time.push(m.start_time.unwrap_or_default());
        r.n_samples.push(m.n_samples as i64);
        r.fs_in.push(m.fs_in);
        r.channel_annotated.push(m.channel_seizures.is_some());
        for c in m.channel_seizures.iter().flatten() {
            let t = &mut t.channel_seizures;
            t.recording.push(row as i32);
            t.channel.push(c.channel.clone());
            t.start.push(c.start as i64);
            t.stop.push(c.stop as i64);
            t.seizure_type.push(c.code);
        }
        r.n_windows.push(count);
    }
    t
}

/// A store with four recordings: float32, empty, float16, all fill values.
fn sample_store(dir: &Path) -> Store {
    let root = root(120.0);
    let mut store = Store::create(dir, root.clone()).unwrap();
    store
        .write_recording(
            "a",
            &meta(&root, 100, true),
            SignalData::F32(&signal(100, 1.0)),
            &labels(100),
        )
        .unwrap();
    store
        .write_recording("b_empty", &meta(&root, 0, true), SignalData::F32(&[]), &[])
        .unwrap();
    store
        .write_recording(
            "c",
            &meta(&root, 50, true),
            SignalData::F32(&signal(50, 2.0)),
            &labels(50),
        )
        .unwrap();
    store
        .write_recording(
            "d_fill",
            &meta(&root, 30, false),
            SignalData::F32(&[0.0; CHANNELS * 30]),
            &[255; 30],
        )
        .unwrap();
    let index = build_index(&store);
    store.write_index(&index).unwrap();
    store
        .set_index_complete(true, json!({"recordings": 4}))
        .unwrap();
    store
}

#[test]
fn roundtrip_and_verify() {
    let tmp = TempDir::new("roundtrip");
    let store = sample_store(&tmp.store());
    let report = store.verify(1);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.recordings, report.windows), (4, 19 + 9 + 5));

    let reopened = Store::open(tmp.store()).unwrap();
    assert_eq!(reopened.root_meta(), store.root_meta());
    assert!(reopened.root_meta().index_complete());
    assert_eq!(reopened.root_meta().index["recordings"], 4);
    let committed = reopened.committed().unwrap();
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        ["a", "b_empty", "c", "d_fill"]
    );
    assert_eq!(committed["a"], meta(store.root_meta(), 100, true));
    assert_eq!(reopened.read_index().unwrap(), build_index(&reopened));

    assert_eq!(
        reopened.read_signal("a").unwrap(),
        Signal::F32(signal(100, 1.0))
    );
    assert_eq!(reopened.read_labels("a").unwrap(), labels(100));
    assert_eq!(
        reopened.read_signal("b_empty").unwrap(),
        Signal::F32(vec![])
    );
    assert_eq!(reopened.read_labels("d_fill").unwrap(), vec![255; 30]);

    // Zero-copy contract: the chunk file is the raw little-endian samples,
    // then the crc32c codec's checksum of them.
    let chunk = reopened.chunk_path("a", "signal").unwrap();
    assert!(
        chunk.ends_with("recordings/a/signal/c/0/0"),
        "{}",
        chunk.display()
    );
    let raw: Vec<u8> = signal(100, 1.0)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mut with_crc = raw.clone();
    with_crc.extend(crc32c::crc32c(&raw).to_le_bytes());
    assert_eq!(fs::read(&chunk).unwrap(), with_crc);
    assert_eq!(
        fs::read(reopened.chunk_path("d_fill", "label").unwrap()).unwrap()[..30],
        [255; 30]
    );
    assert!(!reopened.chunk_path("b_empty", "signal").unwrap().exists());
    assert!(matches!(
        reopened.chunk_path("nope", "signal"),
        Err(StoreError::NotCommitted { .. })
    ));
    assert!(matches!(
        reopened.chunk_path("../a", "signal"),
        Err(StoreError::InvalidRid { .. })
    ));
}

/// A store written before `index/failures/kind` marked a skip by a `skipped: `
/// prefix of its reason: read back as a skip without it, and verified sound.
#[test]
fn failures_without_a_kind_column_are_read_from_the_prefix() {
    let tmp = TempDir::new("legacy_failures");
    let store = sample_store(&tmp.store());
    let mut legacy = build_index(&store);
    legacy.failures = Default::default();
    legacy
        .failures
        .push("train/bad.edf", FailureKind::Failed, "not an EDF file");
    legacy
        .failures
        .push("train/short.edf", FailureKind::Failed, "skipped: too short");
    store.write_index(&legacy).unwrap();
    fs::remove_dir_all(tmp.store().join("index/failures/kind")).unwrap();
    assert_eq!(store.read_index().unwrap(), build_index(&store));
    let report = store.verify(1);
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn verify_reports_each_corruption() {
    let tmp = TempDir::new("corrupt");
    let mut store = sample_store(&tmp.store());
    let mut index = build_index(&store);
    fs::remove_file(store.chunk_path("a", "signal").unwrap()).unwrap();
    let label = store.chunk_path("c", "label").unwrap();
    fs::File::options()
        .write(true)
        .open(&label)
        .unwrap()
        .set_len(7)
        .unwrap();
    // Drop d_fill (the last row) from the index and change c's length.
    let r = &mut index.recordings;
    let dropped = r.n_windows.pop().unwrap() as usize;
    for col in [
        &mut r.rid,
        &mut r.path,
        &mut r.split,
        &mut r.patient,
        &mut r.session,
        &mut r.run,
        &mut r.corpus,
        &mut r.start_time,
    ] {
        col.pop();
    }
    r.n_samples.pop();
    r.fs_in.pop();
    r.channel_annotated.pop();
    r.window_offset.pop();
    r.n_samples[2] = 51;
    let w = &mut index.windows;
    let keep = w.start.len() - dropped;
    w.recording.truncate(keep);
    w.start.truncate(keep);
    w.label.truncate(keep);
    w.seizure_fraction.truncate(keep);
    w.seizure_type.truncate(keep);
    // A window running past the end of its recording is refused by the
    // writer and, written anyway, by every reader of the index.
    let mut past_end = index.clone();
    *past_end.windows.start.last_mut().unwrap() = 45;
    assert!(matches!(
        store.write_index(&past_end),
        Err(StoreError::InvalidIndex { .. })
    ));
    index.channel_seizures.stop[0] -= 1;
    store.write_index(&index).unwrap();
    store.set_index_complete(false, json!(null)).unwrap();

    let problems = store.verify(1).problems;
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        has("index/channel_seizures: the rows of a (row 0) differ"),
        "{problems:#?}"
    );
    assert!(has("recordings/a/signal: chunk file"), "{problems:#?}");
    assert!(
        has("recordings/c/label: chunk file") && has("has 7 bytes, expected 54"),
        "{problems:#?}"
    );
    assert!(
        has("recordings/d_fill is committed but missing from the index"),
        "{problems:#?}"
    );
    assert!(
        has("c has n_samples 51 in the index, 50 in recordings/c"),
        "{problems:#?}"
    );
    assert!(has("index not complete"), "{problems:#?}");
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn float16_stores_round_trip_and_refuse_other_dtypes() {
    let tmp = TempDir::new("f16");
    let mut root = root(120.0);
    root.config["dtype"] = json!("float16");
    let store = Store::create(tmp.store(), root.clone()).unwrap();
    let bits: Vec<u16> = (0..CHANNELS * 50).map(|i| 0x3c00 + i as u16).collect(); // 1.0, 1.0009765625, ...
    let m = meta(&root, 50, true);
    store
        .write_recording("h", &m, SignalData::F16(&bits), &labels(50))
        .unwrap();
    let Signal::F16(read) = store.read_signal("h").unwrap() else {
        panic!("h is float16")
    };
    assert_eq!(read, bits);
    let chunk = store.chunk_path("h", "signal").unwrap();
    assert_eq!(
        fs::metadata(&chunk).unwrap().len(),
        (CHANNELS * 50 * 2 + 4) as u64
    );
    assert!(store.recording_chunks("h", 50, None).is_ok());
    // A float32 recording in a float16 store is never served.
    store
        .write_recording("f", &m, SignalData::F32(&signal(50, 0.0)), &labels(50))
        .unwrap();
    let err = store.recording_chunks("f", 50, None).unwrap_err();
    assert!(
        err.to_string().contains("recordings/f/signal: data type"),
        "{err}"
    );
    assert!(
        store
            .verify(1)
            .problems
            .iter()
            .any(|p| p.contains("recordings/f/signal: data type"))
    );
}

#[test]
fn invalid_index_is_refused() {
    let tmp = TempDir::new("badindex");
    let store = sample_store(&tmp.store());
    let mut index = build_index(&store);
    index.recordings.n_windows[0] += 1;
    let err = store.write_index(&index).unwrap_err();
    assert!(matches!(err, StoreError::InvalidIndex { .. }), "{err}");
    assert!(store.verify(1).is_ok(), "the previous index stays");
}

fn hash_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.clone(),
                    Sha256::digest(fs::read(&path).unwrap()).to_vec(),
                );
            }
        }
    }
    out
}

#[test]
fn config_mismatch_is_refused_and_store_untouched() {
    let tmp = TempDir::new("mismatch");
    drop(sample_store(&tmp.store()));
    let before = hash_tree(&tmp.store());
    let err = Store::open_or_create(tmp.store(), root(100.0), false, false).unwrap_err();
    let StoreError::ConfigMismatch { differences, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(differences, &["config.dsp.band[1]: 120.0 != 100.0"]);
    assert!(err.to_string().contains("config.dsp.band[1]"));
    assert_eq!(hash_tree(&tmp.store()), before);

    // The same config opens the store as it is; overwrite rebuilds it empty.
    let same = Store::open_or_create(tmp.store(), root(120.0), false, false).unwrap();
    assert_eq!(same.committed().unwrap().len(), 4);
    drop(same); // releases the writer lock and removes its record
    assert_eq!(hash_tree(&tmp.store()), before);
    let fresh = Store::open_or_create(tmp.store(), root(100.0), true, false).unwrap();
    assert!(fresh.committed().unwrap().is_empty());
    assert_eq!(
        Store::open(tmp.store()).unwrap().root_meta().config_hash,
        "hash-100"
    );
}

#[test]
fn another_window_opens_the_store_and_keeps_its_recordings() {
    let tmp = TempDir::new("rewindow");
    drop(sample_store(&tmp.store()));
    // A store written before the window keys left the hash: its hash covered them.
    let mut requested = root(120.0);
    requested.config["window_s"] = json!(30.0);
    requested.config_hash = "signals-120".to_owned();
    let mut store = Store::open_or_create(tmp.store(), requested, false, false).unwrap();
    store.set_index_complete(false, json!({})).unwrap();
    drop(store);
    let store = Store::open(tmp.store()).unwrap();
    let root = store.root_meta();
    assert_eq!(root.config["window_s"], json!(30.0));
    assert_eq!(
        (root.config_hash.as_str(), &root.earlier_config_hashes[..]),
        ("signals-120", &["hash-120".to_owned()][..])
    );
    let committed = store.committed().unwrap();
    assert_eq!(committed.len(), 4);
    assert!(
        committed
            .values()
            .all(|m| root.same_signals(&m.config_hash))
    );
    assert!(!root.same_signals("hash-100"));
}

#[test]
fn open_and_create_refuse_what_is_not_theirs() {
    let tmp = TempDir::new("refuse");
    let other = tmp.0.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("thesis.tex"), b"keep me").unwrap();
    assert!(matches!(
        Store::open(&other),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(matches!(
        Store::create(&other, root(1.0)),
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        Store::open_or_create(&other, root(1.0), true, false),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(other.join("thesis.tex").exists());

    let store = Store::create(tmp.store(), root(1.0)).unwrap();
    let text = fs::read_to_string(tmp.store().join("zarr.json")).unwrap();
    fs::write(
        tmp.store().join("zarr.json"),
        text.replace("\"format\": 1", "\"format\": 2"),
    )
    .unwrap();
    assert!(matches!(
        Store::open(tmp.store()),
        Err(StoreError::UnsupportedFormat { .. })
    ));

    let m = meta(store.root_meta(), 10, true);
    let err = store
        .write_recording("x", &m, SignalData::F32(&[0.0; 5]), &[0; 10])
        .unwrap_err();
    assert!(matches!(err, StoreError::ShapeMismatch { .. }), "{err}");
    for rid in ["", ".hidden", "__x", "a/b", "é"] {
        let err = store
            .write_recording(rid, &m, SignalData::F32(&[0.0; 30]), &[0; 10])
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidRid { .. }), "{rid}: {err}");
    }
    // Nothing left but the writer lock holder's record, which goes with the lock.
    let left: Vec<_> = fs::read_dir(tmp.store().join(".brainbrr-tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["writer"]);
    drop(store);
    assert!(!tmp.store().join(".brainbrr-tmp").exists());
}

#[test]
fn concurrent_writes_and_replace() {
    let tmp = TempDir::new("concurrent");
    let root = root(120.0);
    let mut store = Store::create(tmp.store(), root.clone()).unwrap();
    (0..48u64).into_par_iter().for_each(|i| {
        let n = 20 + i;
        store
            .write_recording(
                &format!("r{i:03}"),
                &meta(&root, n, true),
                SignalData::F32(&signal(n, i as f32)),
                &labels(n),
            )
            .unwrap();
    });
    // Re-ingest of a changed source replaces the recording.
    store
        .write_recording(
            "r005",
            &meta(&root, 12, true),
            SignalData::F32(&signal(12, 9.0)),
            &labels(12),
        )
        .unwrap();
    let committed = store.committed().unwrap();
    assert_eq!(committed.len(), 48);
    assert_eq!(committed["r005"].n_samples, 12);
    assert_eq!(
        store.read_signal("r047").unwrap(),
        Signal::F32(signal(67, 47.0))
    );
    assert_eq!(
        store.read_signal("r005").unwrap(),
        Signal::F32(signal(12, 9.0))
    );
    store.write_index(&build_index(&store)).unwrap();
    store.set_index_complete(true, json!({})).unwrap();
    assert!(store.verify(1).is_ok(), "{:?}", store.verify(1).problems);
    assert!(
        store.clean_temporaries().unwrap().is_empty(),
        "no temporaries left behind"
    );
    assert!(store.remove_recording("r005").unwrap());
    assert!(!store.remove_recording("r005").unwrap());
    assert!(
        store
            .verify(1)
            .problems
            .iter()
            .any(|p| p.contains("r005 is not a committed recording"))
    );
}

#[test]
fn clean_temporaries_removes_crash_leftovers() {
    let tmp = TempDir::new("clean");
    let store = sample_store(&tmp.store());
    let leftover = tmp.store().join(".brainbrr-tmp/e.123.0");
    fs::create_dir_all(leftover.join("signal/c/0")).unwrap();
    fs::write(leftover.join("signal/c/0/0"), [0u8; 12]).unwrap();
    let half = tmp.store().join("recordings/f_half");
    fs::create_dir_all(half.join("label")).unwrap();
    let unmarked = tmp.store().join("recordings/g_unmarked");
    fs::create_dir_all(&unmarked).unwrap();
    fs::write(
        unmarked.join("zarr.json"),
        br#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#,
    )
    .unwrap();
    assert!(
        store
            .verify(1)
            .problems
            .iter()
            .any(|p| p.contains("recordings/f_half: not committed"))
    );

    let mut removed = store.clean_temporaries().unwrap();
    removed.sort();
    assert_eq!(removed, [leftover, half, unmarked]);
    assert_eq!(store.committed().unwrap().len(), 4);
    assert!(store.verify(1).is_ok(), "{:?}", store.verify(1).problems);
}

#[test]
fn zstd_signals_round_trip_or_are_refused() {
    use brainbrr_core::store::SignalCodec;
    let tmp = TempDir::new("zstd");
    let root = root(120.0);
    let store = Store::create(tmp.store(), root.clone())
        .unwrap()
        .with_signal_codec(SignalCodec::Zstd { level: 3 });
    let x = vec![0.5f32; CHANNELS * 400];
    let written = store.write_recording(
        "z",
        &meta(&root, 400, true),
        SignalData::F32(&x),
        &labels(400),
    );
    if cfg!(feature = "zstd") {
        written.unwrap();
        assert_eq!(store.read_signal("z").unwrap(), Signal::F32(x));
        let size = fs::metadata(store.chunk_path("z", "signal").unwrap())
            .unwrap()
            .len();
        assert!(size < (CHANNELS * 400) as u64, "compressed to {size} bytes");
        let problems = store.verify(1).problems;
        assert!(
            problems.iter().all(|p| !p.contains("recordings/z")),
            "{problems:#?}"
        );
    } else {
        assert!(
            matches!(written, Err(StoreError::Unsupported { .. })),
            "{written:?}"
        );
        assert!(store.committed().unwrap().is_empty());
    }
}

#[test]
fn writer_takes_rows_in_any_order_and_commits_only_complete_recordings() {
    use brainbrr_core::config::Dtype;
    let tmp = TempDir::new("writer");
    let root = root(120.0);
    let store = Store::create(tmp.store(), root.clone()).unwrap();
    let n = 50u64;
    let x = signal(n, 1.0);
    let rows: Vec<&[f32]> = x.chunks(n as usize).collect();
    // Temporaries besides the writer lock holder's record.
    let temporaries = || {
        fs::read_dir(tmp.store().join(".brainbrr-tmp")).map_or(0, |d| {
            d.filter(|e| e.as_ref().unwrap().file_name() != "writer")
                .count()
        })
    };

    // Rows as a pipeline produces them: not in order.
    let mut w = store
        .begin_recording("r", &meta(&root, n, true), Dtype::Float32)
        .unwrap();
    for row in [2, 0, 1] {
        w.write_row(row, SignalData::F32(rows[row])).unwrap();
    }
    assert!(
        store.committed().unwrap().is_empty(),
        "nothing visible before the commit"
    );
    w.commit(&labels(n)).unwrap();
    assert_eq!(store.read_signal("r").unwrap(), Signal::F32(x.clone()));
    let chunk = store.chunk_path("r", "signal").unwrap();
    // Rows written out of order: the chunk checksum, combined from the rows',
    // still holds (zarrs checked it in `read_signal`).
    assert_eq!(
        fs::metadata(chunk).unwrap().len(),
        CHANNELS as u64 * n * 4 + 4
    );

    // A row never written: refused, the committed version untouched.
    let mut w = store
        .begin_recording("r", &meta(&root, n, true), Dtype::Float32)
        .unwrap();
    w.write_row(0, SignalData::F32(&[7.0; 50])).unwrap();
    w.write_row(2, SignalData::F32(&[7.0; 50])).unwrap();
    let err = w.commit(&labels(n)).unwrap_err();
    assert!(err.to_string().contains("1 rows never written"), "{err}");
    assert_eq!(store.read_signal("r").unwrap(), Signal::F32(x.clone()));

    // Wrong row, length or dtype.
    let mut w = store
        .begin_recording("s", &meta(&root, n, true), Dtype::Float16)
        .unwrap();
    for (row, data) in [
        (3, SignalData::F16(&[0; 50])),
        (0, SignalData::F16(&[0; 49])),
        (0, SignalData::F32(rows[0])),
    ] {
        let err = w.write_row(row, data).unwrap_err();
        assert!(matches!(err, StoreError::ShapeMismatch { .. }), "{err}");
    }
    assert_eq!(temporaries(), 1);
    // Abandoned (an error, Ctrl-C): dropped, its temporary goes with it.
    drop(w);
    assert_eq!(temporaries(), 0);
    assert_eq!(store.committed().unwrap().len(), 1);
}

#[test]
fn an_interrupted_create_is_created_again() {
    // What a kill between the `recordings` group and the root leaves.
    let tmp = TempDir::new("interrupted");
    let store = tmp.store();
    fs::create_dir_all(store.join("recordings")).unwrap();
    fs::write(
        store.join("recordings/zarr.json"),
        br#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#,
    )
    .unwrap();
    fs::create_dir_all(store.join(".brainbrr-tmp/x.1.0")).unwrap();
    let created = Store::open_or_create(&store, root(1.0), false, false).unwrap();
    assert!(created.committed().unwrap().is_empty());
    drop(created);
    assert!(Store::open(&store).is_ok());
    // A `recordings` folder with anything else in it is not ours to take over.
    let other = tmp.0.join("other");
    fs::create_dir_all(other.join("recordings/data")).unwrap();
    assert!(Store::open_or_create(&other, root(1.0), false, false).is_err());
}

#[test]
fn a_writer_whose_temporary_was_removed_commits_nothing() {
    // Issue 20 (4): the task of a distributed ingest still writing when the
    // lock holder removed the temporaries (its run had ended). Its later
    // arrays recreate the folder: what is left must not become a recording.
    use brainbrr_core::config::Dtype;
    let tmp = TempDir::new("removed-temporary");
    let root = root(120.0);
    let store = Store::create(tmp.store(), root.clone()).unwrap();
    let n = 50u64;
    let x = signal(n, 1.0);
    let mut w = store
        .begin_recording("r", &meta(&root, n, true), Dtype::Float32)
        .unwrap();
    for (row, samples) in x.chunks(n as usize).enumerate() {
        w.write_row(row, SignalData::F32(samples)).unwrap();
    }
    assert_eq!(store.clean_temporaries().unwrap().len(), 1);
    let err = w.commit(&labels(n)).unwrap_err().to_string();
    assert!(
        err.contains("recording r not committed") && err.contains("signal"),
        "{err}"
    );
    assert!(store.committed().unwrap().is_empty());
    assert!(!store.recording_dir("r").exists());
    assert!(
        store.clean_temporaries().unwrap().is_empty(),
        "nothing left"
    );
}
