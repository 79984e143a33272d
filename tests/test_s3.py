"""Object storage: a corpus in a bucket of a real S3-compatible server (moto's, on 127.0.0.1).

The ingest lists the bucket and stages each recording with the Rust core's
``object_store`` client; the store it builds must equal, array by array, the
one built from the same files on disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import read_array, read_column, run_cli, run_ingest, start_ingest, store_arrays
from tests.s3server import S3, s3, s3_endpoint  # noqa: F401  (fixtures)
from tests.test_crash import N_RECORDINGS, corpus  # noqa: F401  (fixture)


def assert_same_store(a: Path, b: Path, but: tuple[str, ...] = ()) -> None:
    """Every array of ``a`` equals the one of the same path in ``b`` (zarr-python reads both), but those named."""
    arrays_a, arrays_b = store_arrays(a), store_arrays(b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for name in sorted(set(arrays_a) - set(but)):
        x, y = read_array(a, name), read_array(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name


def test_ingest_from_a_bucket_equals_the_local_ingest(
    s3: S3, small_corpus_template: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, corpus)
    (corpus / "edf/train/broken.edf").write_bytes(b"0       not an EDF header")
    assert s3.upload_tree(corpus, "tusz") > 4

    local, local_summary = run_ingest(corpus, tmp_path / "local.zarr")
    remote, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert local.returncode == remote.returncode == 1, remote.stderr  # the broken file
    assert summary is not None and local_summary is not None
    assert summary["ingested"] == local_summary["ingested"] == 4
    # Failure reasons name where the file was read from.
    assert_same_store(tmp_path / "local.zarr", tmp_path / "remote.zarr", but=("index/failures/reason",))
    assert read_column(tmp_path / "remote.zarr", "index/recordings/path")[0].startswith("edf/")
    # The failure names the object, not the local copy it was read from.
    [(path, reason)] = summary["failed"]
    assert path == "edf/train/broken.edf"
    assert f"s3://{s3.bucket}/tusz/edf/train/broken.edf" in reason, reason
    assert ".brainbrr-tmp" not in reason
    # The staged copies are gone.
    assert not (tmp_path / "remote.zarr" / ".brainbrr-tmp").exists()

    # Resume compares the objects' sizes and times: nothing to redo.
    again, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert summary is not None and summary["current"] == 4 and summary["ingested"] == 0, again.stderr
    # A changed object is redone.
    client = s3.client()
    rel = "edf/train/" + next(p.name for p in sorted((corpus / "edf/train").rglob("*.edf")) if p.name != "broken.edf")
    key = next(k for k in s3.keys("tusz/") if k.endswith(rel.rsplit("/", 1)[1]))
    time.sleep(1.1)  # listings give times to the second
    client.copy_object(Bucket=s3.bucket, Key=key, CopySource={"Bucket": s3.bucket, "Key": key}, MetadataDirective="REPLACE")
    _, summary = run_ingest(s3.url("tusz"), tmp_path / "remote.zarr")
    assert summary is not None and summary["ingested"] == 1 and summary["current"] == 3


def test_an_object_rewritten_within_the_second_is_redone(
    s3: S3, small_corpus_template: Path, tmp_path: Path
) -> None:
    """Listings give times to the second: the entity tag tells a rewrite with the same size and time."""
    s3.upload_tree(small_corpus_template, "tusz")
    store = tmp_path / "remote.zarr"
    proc, summary = run_ingest(s3.url("tusz"), store)
    assert proc.returncode == 0 and summary is not None, proc.stderr
    client = s3.client()
    key = next(k for k in s3.keys("tusz/") if k.endswith(".edf"))
    rel = key.removeprefix("tusz/")
    group = next(
        g
        for g in (store / "recordings").iterdir()
        if g.is_dir() and json.loads((g / "zarr.json").read_text())["attributes"]["brainbrr_recording"]["source"] == rel
    )
    doc = json.loads((group / "zarr.json").read_text())
    assert doc["attributes"]["brainbrr_recording"]["etag"] == client.head_object(Bucket=s3.bucket, Key=key)["ETag"]
    # Other bytes, the same size; the recording's time set to the new object's, as when both
    # writes fall within one second.
    body = bytearray(client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    body[-1] ^= 1
    client.put_object(Bucket=s3.bucket, Key=key, Body=bytes(body))
    head = client.head_object(Bucket=s3.bucket, Key=key)
    doc["attributes"]["brainbrr_recording"]["mtime_ns"] = int(head["LastModified"].timestamp()) * 10**9
    (group / "zarr.json").write_text(json.dumps(doc))
    _, summary = run_ingest(s3.url("tusz"), store)
    assert summary is not None and summary["ingested"] == 1 and summary["current"] == 3, summary


def test_a_file_list_selects_objects(s3: S3, small_corpus_template: Path, tmp_path: Path) -> None:
    s3.upload_tree(small_corpus_template, "c")
    rels = sorted(k.removeprefix("c/") for k in s3.keys("c/") if k.endswith(".edf"))
    listed = tmp_path / "list.txt"
    listed.write_text(f"# two of them\n{rels[0]}\n{rels[2]}\n")
    proc, summary = run_ingest(s3.url("c"), tmp_path / "s.zarr", "--files", listed)
    assert proc.returncode == 0, proc.stderr
    assert summary is not None and summary["found"] == 2 and summary["ingested"] == 2
    listed.write_text("edf/none/such.edf\n")
    proc, _ = run_ingest(s3.url("c"), tmp_path / "t.zarr", "--files", listed)
    assert proc.returncode == 2
    assert f"s3://{s3.bucket}/c/edf/none/such.edf" in proc.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("s3://no-such-bucket/tusz", "s3://no-such-bucket/"),
        ("s3://", "no bucket name"),
        ("s3://b/a/../x", "'..'"),
    ],
)
def test_bad_urls_are_named(s3: S3, tmp_path: Path, url: str, says: str) -> None:
    proc = run_cli("brainbrr-ingest", url, "--out", tmp_path / "s.zarr")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: ") and says in line, line
    assert not (tmp_path / "s.zarr").exists()


# --- Training from a store on object storage ---------------------------------


@pytest.fixture
def remote_store(s3: S3, small_corpus_template: Path, tmp_path: Path) -> tuple[S3, Path, str]:
    """A store built locally and uploaded whole (as `aws s3 sync` would): (server, local store, its URL)."""
    store = tmp_path / "local.zarr"
    proc, _ = run_ingest(small_corpus_template, store)
    assert proc.returncode == 0, proc.stderr
    s3.upload_tree(store, "cache.zarr")
    return s3, store, s3.url("cache.zarr")


def test_a_remote_store_reads_as_the_local_one(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    import torch

    from brainbrr import ZarrWindowDataset

    _, store, url = remote_store
    cache = tmp_path / "cache"
    local = ZarrWindowDataset(store)
    remote = ZarrWindowDataset(url, cache_dir=cache)
    assert len(remote) == len(local) > 0 and remote.rids == local.rids
    # Only the root and the index were copied at open, and the recording it checks.
    [copy] = cache.glob("*/*")  # <bucket~prefix>/<store id>
    copied = {p.parent.name for p in copy.glob("recordings/*/zarr.json")}
    assert len(copied) == 1
    for i in range(len(local)):
        (xl, yl), (xr, yr) = local[i], remote[i]
        assert torch.equal(xl, xr) and int(yl) == int(yr)
    # Windows are views of a file in the cache, as for a local store.
    x, _ = remote[len(remote) - 1]
    base = remote._read("signal", int(remote._rec[len(remote) - 1]))
    assert isinstance(base, np.memmap) and Path(base.filename).is_relative_to(cache)
    assert x.data_ptr() >= base.ctypes.data
    batches_l = [x for x, _ in local.batches(8, shuffle=True, seed=1)]
    batches_r = [x for x, _ in remote.batches(8, shuffle=True, seed=1)]
    assert all(torch.equal(a, b) for a, b in zip(batches_l, batches_r, strict=True))
    # A second dataset on the same cache downloads nothing.
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("c/*") if p.is_file()}
    again = ZarrWindowDataset(url, cache_dir=cache)
    assert torch.equal(again[0][0], local[0][0])
    assert before == {p: p.stat().st_mtime_ns for p in cache.rglob("c/*") if p.is_file()}


def test_a_complete_remote_store_is_listed_once_per_root(
    remote_store: tuple[S3, Path, str], tmp_path: Path
) -> None:
    """Each DataLoader worker or DDP rank opens the store: after the first, with one request."""
    from brainbrr import ZarrWindowDataset

    s3, _, url = remote_store
    cache = tmp_path / "cache"
    lists = lambda reqs: [u for m, u in reqs if m == "GET" and "list-type=2" in u]  # noqa: E731
    first = s3.requests(lambda: ZarrWindowDataset(url, cache_dir=cache))
    assert lists(first)
    n = len(ZarrWindowDataset(url, cache_dir=cache))
    again = s3.requests(lambda: ZarrWindowDataset(url, cache_dir=cache))
    assert len(again) == 1 and again[0][0] == "GET" and again[0][1].endswith("/zarr.json"), again
    # Another root (every ingest rewrites it): listed again.
    client = s3.client()
    key = url.removeprefix(f"s3://{s3.bucket}/") + "/zarr.json"
    root = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    client.put_object(Bucket=s3.bucket, Key=key, Body=root + b"\n")
    third = s3.requests(lambda: ZarrWindowDataset(url, cache_dir=cache))
    assert lists(third)
    assert len(ZarrWindowDataset(url, cache_dir=cache)) == n


def test_dataloader_workers_share_the_cache(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    import torch
    from torch.utils.data import DataLoader

    from brainbrr import ZarrWindowDataset

    _, store, url = remote_store
    local = ZarrWindowDataset(store)
    remote = ZarrWindowDataset(url, cache_dir=tmp_path / "cache")
    got = torch.cat([x for x, _ in DataLoader(remote, batch_size=16, num_workers=2)])
    assert torch.equal(got, torch.stack([local[i][0] for i in range(len(local))]))


def test_a_damaged_object_is_never_served(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    from brainbrr import StoreError, ZarrWindowDataset

    s3, _, url = remote_store
    client = s3.client()
    ds = ZarrWindowDataset(url, cache_dir=tmp_path / "cache")
    rid = ds.rids[-1]
    key = f"cache.zarr/recordings/{rid}/signal/c/0/0"
    body = bytearray(client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    body[100] ^= 0xFF
    client.put_object(Bucket=s3.bucket, Key=key, Body=bytes(body))
    ds = ZarrWindowDataset(url, cache_dir=tmp_path / "cache2")
    last = next(i for i in range(len(ds)) if ds.info(i)["recording"] == rid)
    with pytest.raises(StoreError, match=rf"s3://{s3.bucket}/{key}: .*checksum"):
        ds[last]
    assert not any((tmp_path / "cache2").rglob(f"{rid}/signal/c/0/0"))


def test_the_cache_is_bounded_least_recently_used_first(
    remote_store: tuple[S3, Path, str], tmp_path: Path
) -> None:
    from brainbrr import ZarrWindowDataset

    _, store, url = remote_store
    cache = tmp_path / "cache"
    one = max(sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in (store / "recordings").iterdir())
    ds = ZarrWindowDataset(url, cache_dir=cache, cache_bytes=2 * one + 1)
    first = {ds.info(i)["recording"]: i for i in reversed(range(len(ds)))}
    held = lambda: sorted(p.name for p in next(cache.rglob("recordings")).iterdir() if p.is_dir())  # noqa: E731
    used = next(cache.rglob(".brainbrr-cache")) / "used"
    for n, (rid, i) in enumerate(first.items()):
        ds[i]
        # A use a while ago: past the grace period in which a recording is never evicted.
        os.utime(used / rid, ns=(n * 10**9, n * 10**9))
    # Four recordings read, room for two: the two used last are kept.
    assert held() == sorted(list(first)[-2:])


def test_eviction_goes_by_the_last_use_not_the_first(
    remote_store: tuple[S3, Path, str], tmp_path: Path
) -> None:
    """A recording a process keeps reading has its use recorded again (every few seconds), so it
    outlives one read once after it."""

    from brainbrr import ZarrWindowDataset
    from brainbrr.chunks import USE_RECORD_S

    _, store, url = remote_store
    cache = tmp_path / "cache"
    one = max(sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in (store / "recordings").iterdir())
    ds = ZarrWindowDataset(url, cache_dir=cache, cache_bytes=2 * one + 1)
    first = {ds.info(i)["recording"]: i for i in reversed(range(len(ds)))}
    (a, ia), (b, ib), (c, ic) = list(first.items())[:3]
    used = next(cache.rglob(".brainbrr-cache")) / "used"
    ds[ib], ds[ia]
    # Both first used long ago, a before b.
    os.utime(used / a, ns=(10**9, 10**9))
    os.utime(used / b, ns=(2 * 10**9, 2 * 10**9))
    time.sleep(USE_RECORD_S + 0.2)
    ds[ia]  # a is read again: its use is recorded now
    ds[ic]  # room for two: b, used last long ago, goes
    held = {p.name for p in next(cache.rglob("recordings")).iterdir() if p.is_dir()}
    assert a in held and c in held and b not in held, held
    # Use records are kept for listed recordings only: an id is never a path.
    ds._store().record_use(["../../../../../escape", "nowhere"])
    assert not (tmp_path / "escape").exists() and not (used / "nowhere").exists()


def test_pull_copies_a_whole_store(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    from tests.test_s3 import assert_same_store

    _, store, url = remote_store
    out = tmp_path / "pulled.zarr"
    proc = run_cli("brainbrr", "pull", url, out)
    assert proc.returncode == 0, proc.stderr
    assert_same_store(store, out)
    verify = run_cli("brainbrr", "verify", out)
    assert verify.returncode == 0 and ": OK (" in verify.stdout, verify.stdout
    again = run_cli("brainbrr", "pull", url, out)
    assert again.returncode == 0 and " 0.0 MB downloaded" in again.stdout, again.stdout
    other = tmp_path / "other.zarr"  # a folder holding another store
    other.mkdir()
    root = json.loads((store / "zarr.json").read_text())
    root["attributes"]["brainbrr"]["store_id"] = "another"
    (other / "zarr.json").write_text(json.dumps(root))
    elsewhere = run_cli("brainbrr", "pull", url, other)
    assert elsewhere.returncode == 2 and "pull into an empty folder" in elsewhere.stderr
    missing = run_cli("brainbrr", "pull", url + "-none", tmp_path / "x")
    assert missing.returncode == 2 and "no zarr.json" in missing.stderr, missing.stderr


def test_rewindowing_a_remote_store_reads_labels_only(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    from brainbrr import ZarrWindowDataset

    _, store, url = remote_store
    cache = tmp_path / "cache"
    local = ZarrWindowDataset(store, window_s=5, stride_s=5)
    remote = ZarrWindowDataset(url, cache_dir=cache, window_s=5, stride_s=5)
    assert np.array_equal(remote._start, local._start) and np.array_equal(remote._label, local._label)
    [copy] = cache.glob("*/*")
    # Every recording's labels and types, and the signal of the one checked at open only.
    assert len(list(copy.glob("recordings/*/label/c/0"))) == len(local.rids)
    assert len(list(copy.glob("recordings/*/signal/c/0/0"))) == 1


# --- Writing a store to object storage ---------------------------------------


def test_ingest_to_a_bucket_equals_the_local_store(s3: S3, small_corpus_template: Path, tmp_path: Path) -> None:
    from brainbrr import ZarrWindowDataset

    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, corpus)
    (corpus / "edf/train/broken.edf").write_bytes(b"0       not an EDF header")
    s3.upload_tree(corpus, "tusz")
    local, _ = run_ingest(corpus, tmp_path / "local.zarr")
    # From the bucket to the bucket, through a staging folder.
    stage = tmp_path / "stage"
    proc, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"), "--stage", stage)
    assert local.returncode == proc.returncode == 1, proc.stderr
    assert summary is not None and summary["ingested"] == 4
    keys = s3.keys("cache.zarr/")
    assert "cache.zarr/.brainbrr-lock" not in keys  # the lease is released
    assert not any(k.startswith("cache.zarr/.brainbrr-tmp") for k in keys)
    # The staging folder kept labels, not signals.
    assert list(stage.glob("store/recordings/*/label/c/0"))
    assert not list(stage.glob("store/recordings/*/signal/c/0/0"))
    # What a reader pulls is the local store, array by array.
    pulled = tmp_path / "pulled.zarr"
    assert run_cli("brainbrr", "pull", s3.url("cache.zarr"), pulled).returncode == 0
    assert_same_store(tmp_path / "local.zarr", pulled, but=("index/failures/reason",))
    ds = ZarrWindowDataset(s3.url("cache.zarr"), cache_dir=tmp_path / "cache")
    assert len(ds) == len(ZarrWindowDataset(tmp_path / "local.zarr"))

    # Resume from another machine's view (a new staging folder): nothing to redo.
    again, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"), "--stage", tmp_path / "stage2")
    assert summary is not None and summary["current"] == 4 and summary["ingested"] == 0, again.stderr
    # Another window rebuilds the index only, and readers see it.
    rewindowed, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"), "--window", "30")
    assert summary is not None and (summary["ingested"], summary["current"]) == (0, 4), rewindowed.stderr
    assert ZarrWindowDataset(s3.url("cache.zarr"), cache_dir=tmp_path / "cache").window_samples == 30 * 256
    # Another config is refused, naming the difference; --overwrite rebuilds.
    other, _ = run_ingest(s3.url("tusz"), s3.url("cache.zarr"), "--fs", "200")
    assert other.returncode == 2 and "target_fs" in other.stderr, other.stderr
    over, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"), "--fs", "200", "--overwrite")
    assert summary is not None and summary["ingested"] == 4, over.stderr
    assert ZarrWindowDataset(s3.url("cache.zarr"), cache_dir=tmp_path / "cache").fs == 200


def test_one_writer_per_bucket_store(s3: S3, small_corpus_template: Path, tmp_path: Path) -> None:
    import json as json_

    s3.upload_tree(small_corpus_template, "tusz")
    client = s3.client()
    # A live writer's lease: refused at once, naming it.
    lease = {"holder": "pid 1 on host elsewhere", "renewed_unix_s": int(time.time())}
    client.put_object(Bucket=s3.bucket, Key="cache.zarr/.brainbrr-lock", Body=json_.dumps(lease).encode())
    proc, _ = run_ingest(s3.url("tusz"), s3.url("cache.zarr"))
    assert proc.returncode == 2 and "pid 1 on host elsewhere" in proc.stderr, proc.stderr
    assert s3.keys("cache.zarr/") == ["cache.zarr/.brainbrr-lock"]
    # A lease not renewed for minutes (its writer was killed) is taken over.
    lease["renewed_unix_s"] -= 600
    client.put_object(Bucket=s3.bucket, Key="cache.zarr/.brainbrr-lock", Body=json_.dumps(lease).encode())
    proc, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"))
    assert proc.returncode == 0 and summary is not None and summary["ingested"] == 4, proc.stderr
    assert "cache.zarr/.brainbrr-lock" not in s3.keys("cache.zarr/")
    # The default staging folder (this user's, in the temporary folder) is removed at the end.
    stages = Path(tempfile.gettempdir()) / f"brainbrr-stage-{os.getuid()}"
    assert stages.is_dir() and stages.stat().st_mode & 0o777 == 0o700
    assert not [p for p in stages.iterdir() if s3.bucket in p.name]


def test_a_writer_killed_mid_upload_resumes(s3: S3, small_corpus_template: Path, tmp_path: Path) -> None:
    s3.upload_tree(small_corpus_template, "tusz")
    proc = start_ingest(s3.url("tusz"), s3.url("cache.zarr"), jobs=1)  # type: ignore[arg-type]
    deadline = time.monotonic() + 60
    while not any(k.endswith("/signal/c/0/0") for k in s3.keys("cache.zarr/recordings/")):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"no recording uploaded: {proc.communicate()}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    stages = Path(tempfile.gettempdir()) / f"brainbrr-stage-{os.getuid()}"
    killed = [p for p in stages.iterdir() if p.name.startswith(f"{proc.pid}@")]
    assert killed  # its own staging folder, left behind
    # Its lease is left behind: a re-run waits it out (here: it is made stale).
    client = s3.client()
    client.put_object(
        Bucket=s3.bucket, Key="cache.zarr/.brainbrr-lock", Body=b'{"holder": "killed", "renewed_unix_s": 0}'
    )
    again, summary = run_ingest(s3.url("tusz"), s3.url("cache.zarr"))
    assert again.returncode == 0 and summary is not None, again.stderr
    assert summary["current"] + summary["ingested"] == 4
    assert not any(p.exists() for p in killed)  # removed by the next writer on this machine
    local, _ = run_ingest(small_corpus_template, tmp_path / "local.zarr")
    pulled = tmp_path / "pulled.zarr"
    assert run_cli("brainbrr", "pull", s3.url("cache.zarr"), pulled).returncode == 0
    assert_same_store(tmp_path / "local.zarr", pulled)


# --- Hostile caches, buckets and kills (issue 20, cases 1, 3 and 9) ---------------


@pytest.mark.parametrize("planted", ["a link", "another user's folder"])
def test_a_shared_cache_never_leads_writes_or_evictions_elsewhere(
    remote_store: tuple[S3, Path, str], tmp_path: Path, planted: str
) -> None:
    """Another user of a shared cache folder plants the store's copy folder ahead of us."""
    from brainbrr import ZarrWindowDataset

    _, _, url = remote_store
    cache = tmp_path / "cache"
    ZarrWindowDataset(url, cache_dir=tmp_path / "probe")
    [probe] = (tmp_path / "probe").glob("*/*")  # <bucket~prefix>/<store id>, as predictable as the store id
    copy = cache / probe.relative_to(tmp_path / "probe")
    victim = tmp_path / "victim"
    for project in ("projectA", "projectB"):
        (victim / project).mkdir(parents=True)
        (victim / project / "thesis.tex").write_text("years of work")
    copy.mkdir(parents=True)
    if planted == "a link":
        (copy / "recordings").symlink_to(victim, target_is_directory=True)
    else:
        if os.geteuid() != 0:
            pytest.skip("making a folder of another user needs root")
        os.chown(copy.parent, 4242, 4242)
    with pytest.raises(PermissionError, match="not a folder of this user"):
        ds = ZarrWindowDataset(url, cache_dir=cache, cache_bytes=10**6)
        for i in range(len(ds)):
            ds[i]
    assert sorted(p.relative_to(victim).as_posix() for p in victim.rglob("*")) == [
        "projectA",
        "projectA/thesis.tex",
        "projectB",
        "projectB/thesis.tex",
    ]


def _damage_in_place(chunk: Path) -> bytes:
    """Flip a byte of ``chunk`` keeping its size and time, as a kill between a rename and
    its check, or a planted copy, would leave it; returns the original bytes."""
    before, st = chunk.read_bytes(), chunk.stat()
    damaged = bytearray(before)
    damaged[100] ^= 0xFF
    chunk.write_bytes(bytes(damaged))
    os.utime(chunk, ns=(st.st_atime_ns, st.st_mtime_ns))
    return before


def test_a_damaged_copy_in_the_cache_is_fetched_again_not_served(
    remote_store: tuple[S3, Path, str], tmp_path: Path
) -> None:
    import torch

    from brainbrr import ZarrWindowDataset

    _, store, url = remote_store
    cache = tmp_path / "cache"
    local = ZarrWindowDataset(store)
    first = ZarrWindowDataset(url, cache_dir=cache)
    for i in range(len(first)):
        first[i]
    chunks = sorted(cache.rglob("recordings/*/signal/c/0/0"))
    want = {c: _damage_in_place(c) for c in chunks}
    again = ZarrWindowDataset(url, cache_dir=cache)  # a new training run on the same cache
    for i in range(len(local)):
        assert torch.equal(again[i][0], local[i][0]), i
    assert all(c.read_bytes() == b for c, b in want.items())


def test_pull_never_keeps_a_damaged_chunk(remote_store: tuple[S3, Path, str], tmp_path: Path) -> None:
    s3, store, url = remote_store
    out = tmp_path / "pulled.zarr"
    assert run_cli("brainbrr", "pull", url, out).returncode == 0
    chunk = next(out.glob("recordings/*/signal/c/0/0"))
    want = _damage_in_place(chunk)
    again = run_cli("brainbrr", "pull", url, out)
    assert again.returncode == 0, again.stderr
    assert chunk.read_bytes() == want
    assert run_cli("brainbrr", "verify", out).returncode == 0
    # A damaged object: the pull fails naming it, and nothing is left under its name.
    key = f"cache.zarr/{chunk.relative_to(out).as_posix()}"
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key=key, Body=_flipped(want))
    fresh = tmp_path / "fresh.zarr"
    proc = run_cli("brainbrr", "pull", url, fresh)
    assert proc.returncode == 2 and key in proc.stderr and "checksum" in proc.stderr, proc.stderr
    assert not (fresh / chunk.relative_to(out)).exists()


def _flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[100] ^= 0xFF
    return bytes(out)


def test_pull_killed_at_random_points_then_rerun_equals_the_store(
    remote_store: tuple[S3, Path, str], tmp_path: Path
) -> None:
    import random
    import subprocess

    from tests.conftest import BIN

    _, store, url = remote_store
    out = tmp_path / "pulled.zarr"
    rng = random.Random(20)
    for _ in range(8):
        proc = subprocess.Popen([str(BIN / "brainbrr"), "pull", url, str(out)], stdout=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert run_cli("brainbrr", "pull", url, out).returncode == 0
    assert_same_store(store, out)
    assert run_cli("brainbrr", "verify", out).returncode == 0


@pytest.mark.parametrize("odd", ["notes//readme.txt", "notes/./readme.txt", "a/../b.txt"])
def test_one_odd_key_never_blocks_a_bucket(
    s3: S3, small_corpus_template: Path, tmp_path: Path, odd: str
) -> None:
    """A key that names no file: skipped with a warning in a source, refused by name in a store."""
    from brainbrr import BrainbrrError, ZarrWindowDataset

    s3.upload_tree(small_corpus_template, "tusz")
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key=f"tusz/{odd}", Body=b"stray")
    proc, summary = run_ingest(s3.url("tusz"), tmp_path / "s.zarr")
    assert proc.returncode == 0 and summary is not None, proc.stderr
    assert summary["ingested"] == 4
    assert [w for w in summary["warnings"] if odd in w[0]], summary["warnings"]
    # In a store: refused by name, by the dataset and by pull.
    s3.upload_tree(tmp_path / "s.zarr", "cache.zarr")
    client.put_object(Bucket=s3.bucket, Key=f"cache.zarr/{odd}", Body=b"stray")
    with pytest.raises(BrainbrrError, match=re.escape(odd)):
        ZarrWindowDataset(s3.url("cache.zarr"), cache_dir=tmp_path / "cache")
    pulled = run_cli("brainbrr", "pull", s3.url("cache.zarr"), tmp_path / "pulled")
    assert pulled.returncode == 2 and odd in pulled.stderr, pulled.stderr


# --- Issue 20 (10): the lease is fenced by the writer's own entity tag, not by clocks ---------

LOCK = "cache.zarr/.brainbrr-lock"


def _wait_for_markers(s3: S3, proc: Any, n: int) -> None:
    """Until ``proc`` (a writer) has published ``n`` recordings (their commit markers)."""
    deadline = time.monotonic() + 120
    while sum(k.count("/") == 3 and k.endswith("/zarr.json") for k in s3.keys("cache.zarr/recordings/")) < n:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"no recording published: {proc.communicate()}")
        time.sleep(0.02)


def _stale_lease_by_hand(s3: S3) -> None:
    """The lease as a writer whose clock runs minutes ahead sees it: not renewed for ages."""
    s3.client().put_object(Bucket=s3.bucket, Key=LOCK, Body=b'{"holder": "skewed", "renewed_unix_s": 0}')


def _holder(s3: S3) -> str:
    return str(json.loads(s3.client().get_object(Bucket=s3.bucket, Key=LOCK)["Body"].read())["holder"])


def _objects(s3: S3) -> dict[str, str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix="cache.zarr/")
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def _assert_verified(s3: S3, tmp_path: Path) -> None:
    pulled = tmp_path / "pulled.zarr"
    pull = run_cli("brainbrr", "pull", s3.url("cache.zarr"), pulled, timeout=300)
    assert pull.returncode == 0, pull.stderr
    verify = run_cli("brainbrr", "verify", pulled)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_writer_whose_lease_was_taken_over_publishes_nothing_more(
    s3: S3,
    corpus: Path,  # noqa: F811 - the crash test's fixture: 40 recordings, seconds to ingest
    tmp_path: Path,
) -> None:
    """Its lease made stale by hand (as clock skew would), a second writer takes it over
    while the first still runs. The first must stop at its next publish (exit 2, saying
    so), never delete the second's lease, and the store the second finishes verifies."""
    first = start_ingest(corpus, s3.url("cache.zarr"), jobs=1)  # type: ignore[arg-type]
    _wait_for_markers(s3, first, 2)
    _stale_lease_by_hand(s3)
    second = start_ingest(corpus, s3.url("cache.zarr"), jobs=1)  # type: ignore[arg-type]
    deadline = time.monotonic() + 60
    while not _holder(s3).startswith(f"pid {second.pid} "):
        assert second.poll() is None and time.monotonic() < deadline, second.communicate()
        time.sleep(0.02)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 2 and "took over this writer's lease" in err, err
    assert second.poll() is None, "the second writer should still be running"
    assert _holder(s3).startswith(f"pid {second.pid} "), "the first writer left the second's lease alone"
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    summary = json.loads(out)
    assert summary["ingested"] + summary["current"] == summary["recordings"] == N_RECORDINGS
    assert LOCK not in s3.keys("cache.zarr/")
    _assert_verified(s3, tmp_path)


def test_a_stalled_writer_publishes_nothing_after_losing_its_lease(
    s3: S3,
    corpus: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A writer stopped (SIGSTOP) past its lease: another writer takes over and finishes,
    a third holds the lease now. The stalled one, resumed, publishes nothing (not one
    object), deletes no lease, and exits 2 saying why."""
    first = start_ingest(corpus, s3.url("cache.zarr"), jobs=1)  # type: ignore[arg-type]
    _wait_for_markers(s3, first, 2)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        _stale_lease_by_hand(s3)
        second, summary = run_ingest(corpus, s3.url("cache.zarr"))  # type: ignore[arg-type]
        assert second.returncode == 0 and summary is not None, second.stderr
        live = {"holder": "pid 1 on host elsewhere", "renewed_unix_s": int(time.time())}
        s3.client().put_object(Bucket=s3.bucket, Key=LOCK, Body=json.dumps(live).encode())
        before = _objects(s3)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 2 and "took over this writer's lease" in err, err
    assert _objects(s3) == before
    s3.client().delete_object(Bucket=s3.bucket, Key=LOCK)
    _assert_verified(s3, tmp_path)
