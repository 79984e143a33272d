//! The publisher and its lease on a bucket in memory (`remote::memory`):
//! what reaches the bucket, in which order, and which writer may write.

use std::collections::BTreeMap;

use object_store::ObjectStore;
use serde_json::json;

use super::*;
use crate::remote::memory;
use crate::store::{IndexTables, RecordingMeta, SignalData, Store};

/// A fresh folder under the system's temporary folder, removed on drop.
pub(in crate::store) struct Temp(pub PathBuf);

impl Temp {
    pub(in crate::store) fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "brainbrr-remote-test-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(in crate::store) const URL: &str = "s3://bucket/corpus/store";
const N: u64 = 40;

fn root() -> RootMeta {
    let config = json!({"window_s": 10.0 / 256.0, "stride_s": 5.0 / 256.0});
    RootMeta::new(config, "hash-1", vec!["a".into(), "b".into()], 256.0)
}

/// The per-sample labels every test recording has.
pub(in crate::store) fn labels() -> Vec<u8> {
    (0..N).map(|i| u8::from(i % 7 < 2)).collect()
}

fn write(store: &Store, rid: &str) -> Result<(), StoreError> {
    let meta = RecordingMeta {
        source: format!("train/{rid}.edf"),
        size: 1000,
        mtime_ns: 1_700_000_000_000_000_000,
        etag: Some("\"e1\"".into()),
        config_hash: store.root_meta().config_hash.clone(),
        fs_in: 256.0,
        n_in: N,
        fs: 256.0,
        n_samples: N,
        n_channels: 2,
        split: Some("train".into()),
        patient: None,
        session: None,
        run: None,
        corpus: None,
        start_time: None,
        montage: None,
        annotation: None,
        type_annotation: None,
        labeled: true,
        channel_seizures: None,
        warnings: vec![],
        interpolated: vec![],
        absent: vec![],
        store_id: store.root_meta().store_id.clone(),
    };
    let signal: Vec<f32> = (0..2 * N).map(|i| i as f32 * 0.5).collect();
    store.write_recording(rid, &meta, SignalData::F32(&signal), &labels())
}

/// What an ingest does with a publisher: the root (index incomplete), each
/// recording as it is committed, then the index and the root.
pub(in crate::store) fn ingest(p: &Publisher, rids: &[&str]) -> Result<(), StoreError> {
    let mut store = Store::open_or_create(p.stage(), root(), false, false)?;
    store.set_index_complete(false, Value::Null)?;
    p.publish_root()?;
    for rid in rids {
        write(&store, rid)?;
        p.publish_recording(rid)?;
    }
    store.write_index(&IndexTables {
        window_samples: 10,
        stride_samples: 5,
        ..IndexTables::default()
    })?;
    store.set_index_complete(true, Value::Null)?;
    p.publish_index()
}

/// A writer of the store at [`URL`] in `bucket`, staging in `stage`.
pub(in crate::store) fn writer(bucket: &Bucket, stage: &Path) -> Result<Publisher, StoreError> {
    Publisher::open_bucket(bucket.clone(), Some(stage), false, false)
}

/// Each object of the store, by its key relative to the store, with its
/// entity tag as a number: the in-memory store counts its writes, so the
/// tags give the order the objects were written in.
fn written(bucket: &Bucket) -> BTreeMap<String, u64> {
    let url = bucket.url();
    bucket
        .list(&url.dir())
        .expect("listing")
        .into_iter()
        .map(|o| {
            let tag = o.etag.as_deref().and_then(|t| t.parse().ok()).expect("tag");
            (url.rel(&o.key).expect("below").to_owned(), tag)
        })
        .collect()
}

fn lease_record(bucket: &Bucket) -> Option<(String, Value)> {
    let key = bucket.url().key(LOCK);
    let (tag, body) = bucket.block_on(bucket.get_tagged(&key)).expect("get")?;
    Some((tag, serde_json::from_slice(&body).expect("json")))
}

#[test]
fn recordings_go_arrays_first_then_their_marker_and_the_root_goes_last() {
    let tmp = Temp::new("order");
    let (bucket, _) = memory::bucket(URL);
    let p = writer(&bucket, &tmp.0).expect("writer");
    ingest(&p, &["r1", "r2"]).expect("ingest");
    let tags = written(&bucket);
    for rid in ["r1", "r2"] {
        let dir = format!("recordings/{rid}/");
        let marker = tags[&format!("{dir}zarr.json")];
        let arrays: Vec<u64> = tags
            .iter()
            .filter(|(k, _)| k.starts_with(&dir) && **k != format!("{dir}zarr.json"))
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            arrays.len(),
            8,
            "{rid}: 4 arrays and their chunks: {tags:?}"
        );
        assert!(arrays.iter().all(|t| *t < marker), "{rid}: {tags:?}");
        // Published means gone from the stage: the local disk holds what is in flight.
        assert!(!p.stage().join(&dir).join("signal/c").exists());
        assert!(p.stage().join(&dir).join("label/c/0").is_file());
    }
    let index_last = tags
        .iter()
        .filter(|(k, _)| k.starts_with("index/"))
        .map(|(_, t)| *t)
        .max()
        .expect("index published");
    let root = tags["zarr.json"];
    assert!(index_last < tags["recordings/zarr.json"] && tags["recordings/zarr.json"] < root);
    let store: Vec<_> = tags.iter().filter(|(k, _)| *k != LOCK).collect();
    assert!(
        store.iter().all(|(_, t)| **t <= root),
        "root last: {tags:?}"
    );
    assert!(!tags.keys().any(|k| k.contains(super::super::TMP_DIR)));
    // The bucket holds the files of a local store, byte for byte.
    let url = bucket.url();
    for rel in [
        "zarr.json",
        "recordings/r1/zarr.json",
        "recordings/r1/label/c/0",
    ] {
        let remote = bucket.get(&url.key(rel)).expect("get").expect("present");
        assert_eq!(
            remote,
            fs::read(p.stage().join(rel)).expect("staged"),
            "{rel}"
        );
    }
}

#[test]
fn the_lease_is_a_conditional_put_renewed_on_its_own_tag() {
    let (tmp_a, tmp_b) = (Temp::new("lease-a"), Temp::new("lease-b"));
    let (bucket, _) = memory::bucket(URL);
    let a = writer(&bucket, &tmp_a.0).expect("writer");
    let (tag, record) = lease_record(&bucket).expect("lease taken");
    assert_eq!(record["holder"], crate::process::holder());
    match writer(&bucket, &tmp_b.0) {
        Err(StoreError::Locked { holder, .. }) => {
            assert!(holder.contains(&crate::process::holder()), "{holder}");
            assert!(
                holder.contains("s3://bucket/corpus/store/.brainbrr-lock"),
                "{holder}"
            );
        }
        other => panic!("a second writer got {other:?}"),
    }
    ingest(&a, &["r1"]).expect("publish");
    let (renewed, _) = lease_record(&bucket).expect("still held");
    assert_ne!(tag, renewed, "each publish renews the lease (If-Match)");
    drop(a);
    assert!(
        lease_record(&bucket).is_none(),
        "released when its writer ends"
    );
    drop(writer(&bucket, &tmp_b.0).expect("free again"));
}

#[test]
fn a_lease_taken_over_after_it_expired_fences_its_old_writer() {
    let (tmp_a, tmp_b) = (Temp::new("fence-a"), Temp::new("fence-b"));
    let (bucket, memory) = memory::bucket(URL);
    let a = writer(&bucket, &tmp_a.0).expect("writer");
    ingest(&a, &["r1"]).expect("ingest");
    let staged = Store::open_or_create(a.stage(), root(), false, false).expect("stage");
    write(&staged, "r2").expect("write");
    // `a` stalls past the lease: its record, as it last renewed it, ages.
    let stale = json!({"holder": "pid 1 on host gone", "renewed_unix_s": now_s() - LEASE_S - 1});
    let key = object_store::path::Path::parse(bucket.url().key(LOCK)).expect("key");
    bucket
        .block_on(memory.put(&key, stale.to_string().into_bytes().into()))
        .expect("age");
    let b = writer(&bucket, &tmp_b.0).expect("a stale lease is taken over");
    let (b_tag, _) = lease_record(&bucket).expect("held by b");
    let before = written(&bucket);
    match a.publish_recording("r2") {
        Err(StoreError::Locked { holder, .. }) => assert!(holder.contains("took over"), "{holder}"),
        other => panic!("a fenced writer published: {other:?}"),
    }
    assert!(matches!(
        a.unpublish_recording("r1"),
        Err(StoreError::Locked { .. })
    ));
    let mut after = written(&bucket);
    after.remove(LOCK);
    let mut expected = before.clone();
    expected.remove(LOCK);
    assert_eq!(
        after, expected,
        "nothing written or deleted by the fenced writer"
    );
    drop(staged);
    drop(a);
    assert_eq!(
        lease_record(&bucket).map(|(t, _)| t),
        Some(b_tag),
        "b's lease kept"
    );
    drop(b);
    assert!(lease_record(&bucket).is_none());
}

#[test]
fn a_second_writer_resumes_from_the_bucket_and_drops_what_a_killed_one_left() {
    let (tmp_a, tmp_b) = (Temp::new("resume-a"), Temp::new("resume-b"));
    let (bucket, memory) = memory::bucket(URL);
    let a = writer(&bucket, &tmp_a.0).expect("writer");
    ingest(&a, &["r1", "r2"]).expect("ingest");
    drop(a);
    // A writer killed while it uploaded r3: arrays without their marker.
    let orphan = bucket.url().key("recordings/r3/signal/c/0/0");
    let key = object_store::path::Path::parse(&orphan).expect("key");
    bucket
        .block_on(memory.put(&key, b"partial".to_vec().into()))
        .expect("put");
    let first = written(&bucket);

    let b = writer(&bucket, &tmp_b.0).expect("resume");
    assert!(
        bucket.get(&orphan).expect("get").is_none(),
        "the orphan is deleted"
    );
    let staged = Store::open(b.stage()).expect("staged store");
    let committed = staged.committed().expect("committed");
    assert_eq!(committed.keys().collect::<Vec<_>>(), ["r1", "r2"]);
    assert_eq!(committed["r1"].source, "train/r1.edf");
    assert_eq!(committed["r1"].etag.as_deref(), Some("\"e1\""));
    assert_eq!(staged.read_labels("r2").expect("labels"), labels());
    assert!(
        !b.stage().join("recordings/r1/signal/c").exists(),
        "signals stay remote"
    );
    drop(staged);

    ingest(&b, &["r4"]).expect("second ingest");
    let second = written(&bucket);
    for (rel, tag) in first.iter().filter(|(k, _)| k.starts_with("recordings/r")) {
        if !rel.starts_with("recordings/r3/") {
            assert_eq!(second.get(rel), Some(tag), "{rel} not published again");
        }
    }
    assert!(second.contains_key("recordings/r4/zarr.json"));
    assert!(second["zarr.json"] > first["zarr.json"]);
}

#[test]
fn a_delegate_publishes_under_its_writers_lease_and_never_deletes() {
    let (tmp_w, tmp_d) = (Temp::new("deleg-w"), Temp::new("deleg-d"));
    let (bucket, _) = memory::bucket(URL);
    let w = writer(&bucket, &tmp_w.0).expect("writer");
    ingest(&w, &["r1"]).expect("ingest");
    let d = Publisher::delegate_bucket(bucket.clone(), &tmp_d.0).expect("delegate");
    assert!(w.is_writer() && !d.is_writer());
    let staged = Store::open_or_create(d.stage(), root(), false, false).expect("stage");
    write(&staged, "r5").expect("write");
    d.publish_recording("r5").expect("a delegate publishes");
    assert!(matches!(
        d.unpublish_recording("r5"),
        Err(StoreError::Locked { .. })
    ));
    w.refresh().expect("refresh");
    let mine = Store::open(w.stage()).expect("writer's stage");
    assert!(mine.committed().expect("committed").contains_key("r5"));
    w.unpublish_recording("r5").expect("the writer deletes");
    assert!(
        !written(&bucket)
            .keys()
            .any(|k| k.starts_with("recordings/r5/"))
    );
}
