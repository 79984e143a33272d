//! Copies of a store published to a bucket in memory (`remote::memory`):
//! metadata before chunks, every chunk checked by its CRC-32C, a damaged copy
//! fetched again, a download that fails its check never left under its name.

use std::sync::Arc;
use std::time::SystemTime;

use super::*;
use crate::remote::memory;
use crate::store::Store;
use crate::store::publish::tests::{Temp, URL, ingest, labels, writer};

const CHUNK: &str = "recordings/r1/signal/c/0/0";

/// A bucket holding a store of recordings `r1` and `r2`, published as an ingest does.
fn published(name: &str) -> (Bucket, Arc<object_store::memory::InMemory>) {
    let tmp = Temp::new(&format!("{name}-stage"));
    let (bucket, memory) = memory::bucket(URL);
    let p = writer(&bucket, &tmp.0).expect("writer");
    ingest(&p, &["r1", "r2"]).expect("ingest");
    (bucket, memory)
}

fn put(bucket: &Bucket, memory: &object_store::memory::InMemory, rel: &str, bytes: Vec<u8>) {
    use object_store::ObjectStore;
    let key = object_store::path::Path::parse(bucket.url().key(rel)).expect("key");
    bucket
        .block_on(memory.put(&key, bytes.into()))
        .expect("put");
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            } else if e.file_name().to_string_lossy().ends_with(".part") {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn a_pull_copies_the_store_and_then_only_what_changed() {
    let (bucket, _memory) = published("pull");
    let out = Temp::new("pull-out");
    let first = pull_bucket(&bucket, &out.0).expect("pull");
    let objects = list_store(&bucket).expect("list");
    assert_eq!(first.objects, objects.len());
    assert_eq!(first.bytes, objects.iter().map(|o| o.size).sum::<u64>());
    for o in &objects {
        let rel = bucket.url().rel(&o.key).expect("below");
        let local = fs::read(out.0.join(rel)).expect("copied");
        assert_eq!(Some(local), bucket.get(&o.key).expect("get"), "{rel}");
    }
    let store = Store::open(&out.0).expect("a store");
    assert_eq!(store.read_labels("r2").expect("labels"), labels());
    // Present, current and checked: nothing is downloaded again.
    assert_eq!(pull_bucket(&bucket, &out.0).expect("again").bytes, 0);
}

#[test]
fn a_damaged_copy_of_a_chunk_is_found_and_fetched_again() {
    let (bucket, _memory) = published("damaged-copy");
    let out = Temp::new("damaged-copy-out");
    pull_bucket(&bucket, &out.0).expect("pull");
    let path = out.0.join(CHUNK);
    let good = fs::read(&path).expect("chunk");
    let mtime = fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    // Same size and modification time: only the checksum tells.
    let mut bad = good.clone();
    bad[0] ^= 0xff;
    fs::write(&path, &bad).expect("damage");
    fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(mtime))
        .expect("mtime back");
    let again = pull_bucket(&bucket, &out.0).expect("pull again");
    assert_eq!(again.bytes, good.len() as u64, "only the damaged chunk");
    assert_eq!(fs::read(&path).expect("chunk"), good);
}

#[test]
fn a_chunk_damaged_in_the_bucket_is_refused_and_never_takes_its_name() {
    let (bucket, memory) = published("damaged-remote");
    let good = bucket
        .get(&bucket.url().key(CHUNK))
        .expect("get")
        .expect("chunk");
    let mut bad = good.clone();
    bad[1] ^= 0xff;
    put(&bucket, &memory, CHUNK, bad);
    // Into an empty folder: the array's metadata comes first, so the chunk is checked.
    let out = Temp::new("damaged-remote-out");
    match pull_bucket(&bucket, &out.0) {
        Err(StoreError::Mismatch { path, reason }) => {
            assert_eq!(
                path,
                PathBuf::from(bucket.url().of_key(&bucket.url().key(CHUNK)))
            );
            assert!(
                reason.contains("checksum") || reason.contains("CRC"),
                "{reason}"
            );
        }
        other => panic!("a damaged chunk was accepted: {other:?}"),
    }
    assert!(!out.0.join(CHUNK).exists() && leftovers(&out.0).is_empty());
    assert!(out.0.join("recordings/r1/signal/zarr.json").is_file());
    assert!(
        !out.0.join("zarr.json").exists(),
        "no root until the pull completes"
    );
}

#[test]
fn a_mirror_copies_the_index_first_and_each_recording_when_read() {
    let (bucket, _memory) = published("mirror");
    let cache = Temp::new("mirror-cache");
    let (mirror, dir) = Mirror::open_bucket(bucket.clone(), &cache.0, None).expect("open");
    assert!(dir.join("zarr.json").is_file() && dir.join("index/zarr.json").is_file());
    assert!(
        !dir.join("recordings/r1").exists(),
        "recordings on first read"
    );
    mirror.ensure("r1", &["label"]).expect("ensure");
    assert!(dir.join("recordings/r1/label/c/0").is_file());
    assert!(
        !dir.join("recordings/r1/signal/c").exists(),
        "only the arrays asked for"
    );
    assert_eq!(
        Store::open(&dir)
            .expect("open")
            .read_labels("r1")
            .expect("labels"),
        labels()
    );
    mirror.ensure("r1", &["signal"]).expect("ensure");
    let chunk = fs::read(dir.join(CHUNK)).expect("chunk");
    assert_eq!(
        Some(chunk),
        bucket.get(&bucket.url().key(CHUNK)).expect("get")
    );
    let used = dir.join(CACHE_DIR).join("used").join("r1");
    let since = fs::metadata(&used)
        .and_then(|m| m.modified())
        .expect("use recorded");
    assert!(since <= SystemTime::now());
    assert!(matches!(
        mirror.ensure("nope", &["signal"]),
        Err(StoreError::NotCommitted { .. })
    ));
}
