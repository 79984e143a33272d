"""The distributed ingest on a real Dask cluster (two worker processes), with real kills.

The store a Dask run builds must equal, array by array and attribute by
attribute, the one a local run builds (store ids and per-run timings aside):
after a clean run, after a worker killed mid-task (its task is retried
elsewhere), and after the driver killed with SIGKILL and re-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import distributed
import pytest

import brainbrr._native as native
from brainbrr.errors import IngestError, StoreError, StrictStop
from brainbrr.ingest import Event, Indexing, Recording, Started, Summary, _batch_result, batches, ingest
from brainbrr.preprocessing import PreprocessConfig
from tests.conftest import BIN, TuszCorpus, read_array, read_attrs, run_cli, run_ingest, store_arrays
from tests.s3server import S3, s3, s3_endpoint  # noqa: F401 - fixtures
from tests.test_crash import (  # noqa: F401 - fixtures: the crash test's corpus and its uninterrupted store
    N_RECORDINGS,
    assert_committed_intact,
    assert_same_store,
    committed,
    corpus,
    reference,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c


def test_batches_split_bytes_evenly_largest_first() -> None:
    queue = [(f"r{i}", b) for i, b in enumerate([100, 60, 30, 10, 10, 10, 5, 5, 5, 5])]
    out = batches(queue, threads=1)
    assert [x for b in out for x in b] == queue, "every recording once, in queue order"
    # 4 tasks per thread: a share of 240/4 bytes; a larger recording is alone.
    assert [sum(b for _, b in batch) for batch in out] == [100, 60, 60, 20]
    assert batches([], threads=4) == []


def test_dask_store_equals_local_store(corpus: Path, reference: Path, tmp_path: Path, client: Any) -> None:
    store = tmp_path / "dask.zarr"
    events: list[Event] = []
    summary = ingest(corpus, store, client=client, progress=events.append)
    assert (summary.ingested, summary.failed, summary.recordings) == (N_RECORDINGS, (), N_RECORDINGS)
    assert isinstance(events[0], Started) and isinstance(events[-1], Indexing)
    assert sorted(e.path for e in events if isinstance(e, Recording)) == sorted(
        p.relative_to(corpus).as_posix() for p in corpus.rglob("*.edf")
    )
    assert_same_store(store, reference)
    # Resumed: nothing to do.
    again = ingest(corpus, store, client=client)
    assert (again.ingested, again.current) == (0, N_RECORDINGS)
    # A worker that only ingests needs no torch (issue 24: it is an extra).
    assert client.run(lambda: "torch" in sys.modules) == dict.fromkeys(client.run(lambda: 0), False)


def test_failures_and_skips_as_in_a_local_run(tusz_corpus: TuszCorpus, tmp_path: Path, client: Any) -> None:
    """Every bad-input kind: the same outcomes and reasons, the same arrays and index tables."""
    proc, local = run_ingest(tusz_corpus.root, tmp_path / "local.zarr")
    assert proc.returncode == 1 and local is not None, proc.stderr
    store = tmp_path / "dask.zarr"
    summary = ingest(tusz_corpus.root, store, client=client).to_dict()
    for key in ("found", "ingested", "skipped", "failed", "warnings", "recordings", "windows", "splits"):
        assert summary[key] == local[key], key
    got, want = store_arrays(store), store_arrays(tmp_path / "local.zarr")
    assert sorted(got) == sorted(want)
    for name in got:
        x, y = read_array(store, name), read_array(tmp_path / "local.zarr", name)
        assert x.dtype == y.dtype and x.tolist() == y.tolist(), name
    with pytest.raises(StrictStop, match=r"stopped at the first failure \(strict\)"):
        ingest(tusz_corpus.root, tmp_path / "strict.zarr", client=client, strict=True)
    assert read_attrs(tmp_path / "strict.zarr")["brainbrr"]["index"]["complete"] is False


def test_worker_killed_mid_task_is_retried(corpus: Path, reference: Path, tmp_path: Path, client: Any) -> None:
    store = tmp_path / "cache.zarr"
    kill_a_worker_mid_task(client, lambda: ingest(corpus, store, client=client), lambda: len(committed(store)) >= 2)
    assert_same_store(store, reference)


def kill_a_worker_mid_task(client: Any, run: Callable[[], Summary], started: Callable[[], bool]) -> int:
    """Run the ingest ``run`` on a thread, SIGKILL a worker holding a task once ``started()``
    (recordings are being written), and check the run completes; returns the killed worker's pid."""
    pids = client.run(os.getpid)
    result: list[Summary] = []
    driver = threading.Thread(target=lambda: result.append(run()))
    driver.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and driver.is_alive() and time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if keys]
        if busy and started():
            victim = busy[0]
        time.sleep(0.01)
    assert victim is not None, "the ingest ended before a worker could be killed"
    os.kill(pids[victim], signal.SIGKILL)
    driver.join(timeout=300)
    assert not driver.is_alive()
    [summary] = result
    assert (summary.ingested, summary.failed, summary.recordings) == (N_RECORDINGS, (), N_RECORDINGS)
    return int(pids[victim])


def test_driver_killed_then_rerun_resumes(
    corpus: Path, reference: Path, tmp_path: Path, cluster: Any, client: Any
) -> None:
    store = tmp_path / "cache.zarr"
    command = [str(BIN / "brainbrr-ingest"), str(corpus), "--out", str(store), "--json"]
    command += ["--scheduler", cluster.scheduler_address]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(committed(store)) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    kept = assert_committed_intact(store, reference)
    assert read_attrs(store)["brainbrr"]["index"]["complete"] is False
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    # What the killed run committed stays and is current (its tasks may have added more since).
    assert summary["ingested"] + summary["current"] == summary["recordings"] == N_RECORDINGS
    assert summary["current"] >= len(kept)
    # The killed driver's tasks, still running on the workers, stop on their own
    # (the re-run's run id replaced theirs) and leave nothing behind.
    assert_same_store(store, reference)


def test_a_recording_committed_without_an_array_is_not_ingested(
    corpus: Path, reference: Path, tmp_path: Path, cluster: Any, client: Any
) -> None:
    """Issue 20 (4): a task that outlived its run (its worker stalled while the driver
    finished and removed the temporaries) committed what was left of its temporary, a
    recording without its signal's metadata, and the run said all were ingested. Made
    here from outside, deterministically: a committed recording loses that metadata
    while the run goes on. The driver checks every recording's arrays before it writes
    the index: that one failed (removed), ``verify`` finds nothing, a re-run redoes it."""
    store = tmp_path / "cache.zarr"
    command = [str(BIN / "brainbrr-ingest"), str(corpus), "--out", str(store), "--json"]
    command += ["--scheduler", cluster.scheduler_address]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (done := [r for r in committed(store) if (store / "recordings" / r / "zarr.json").is_file()]):
        assert proc.poll() is None and time.monotonic() < deadline, "no recording was committed"
        time.sleep(0.01)
    victim = done[0]
    source = json.loads((store / "recordings" / victim / "zarr.json").read_text())["attributes"]["brainbrr_recording"]["source"]
    (store / "recordings" / victim / "signal" / "zarr.json").unlink()
    assert proc.poll() is None, "the run ended before the recording was damaged"
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    summary = json.loads(stdout)
    assert (summary["ingested"], summary["recordings"]) == (N_RECORDINGS - 1, N_RECORDINGS - 1)
    [(rel, reason)] = summary["failed"]
    assert rel == source and "signal" in reason and "run again" in reason, reason
    assert not (store / "recordings" / victim).exists()
    verify = run_cli("brainbrr", "verify", store)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert (json.loads(rerun.stdout)["ingested"], json.loads(rerun.stdout)["current"]) == (1, N_RECORDINGS - 1)
    assert_same_store(store, reference)


def test_a_source_the_worker_cannot_reach_fails_with_the_reason(
    corpus: Path, tmp_path: Path, client: Any
) -> None:
    source = tmp_path / "corpus"
    files = sorted(corpus.rglob("*.edf"))[:4]
    for f in files:
        dest = source / f.relative_to(corpus)
        dest.parent.mkdir(parents=True)
        dest.write_bytes(f.read_bytes())
    gone = sorted(source.rglob("*.edf"))[0]

    def lose_one(event: Event) -> None:
        # After the driver listed and planned it, before any worker opens it.
        if isinstance(event, Started):
            gone.unlink()

    summary = ingest(source, tmp_path / "cache.zarr", client=client, progress=lose_one)
    rel = gone.relative_to(source).as_posix()
    assert summary.ingested == 3 and [p for p, _ in summary.failed] == [rel]
    reason = summary.failed[0][1]
    assert str(gone) in reason and "No such file" in reason, reason


def test_a_task_that_raises_fails_each_of_its_recordings(tmp_path: Path, client: Any) -> None:
    """A worker that cannot open the store: the task's recordings fail with the worker's error."""
    missing = tmp_path / "elsewhere.zarr"
    config = PreprocessConfig.from_overrides(None).json
    future = client.submit(native.ingest_batch, tmp_path, missing, config, "run", [], pure=False)
    summary, events = _batch_result(future, [("a/x.edf", 10), ("b/y.edf", 20)])
    failed = summary["failed"]
    assert [p for p, _ in failed] == ["a/x.edf", "b/y.edf"]
    assert all("on Dask worker: FileNotFoundError" in r and str(missing) in r for _, r in failed), failed
    assert [(e.path, e.outcome, e.bytes) for e in events if isinstance(e, Recording)] == [
        ("a/x.edf", "failed", 10),
        ("b/y.edf", "failed", 20),
    ]


def test_interrupted_driver_stops_and_rerun_resumes(
    corpus: Path, reference: Path, tmp_path: Path, client: Any
) -> None:
    store = tmp_path / "cache.zarr"

    def interrupt(event: Event) -> None:
        if isinstance(event, Recording):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(corpus, store, client=client, progress=interrupt)
    index = read_attrs(store)["brainbrr"]["index"]
    assert index["complete"] is False and index["state"] == "interrupted"
    assert_committed_intact(store, reference)
    summary = ingest(corpus, store, client=client)
    assert summary.recordings == N_RECORDINGS
    assert_same_store(store, reference)


def test_a_delegate_refuses_a_store_not_ingested_by_its_run(reference: Path, corpus: Path) -> None:
    config = PreprocessConfig.from_overrides(None).json
    edf = next(corpus.rglob("*.edf"))
    with pytest.raises(IngestError, match="not being ingested by run abc.*complete"):
        native.ingest_batch(corpus, reference, config, "abc", [(edf, 1, None)])
    with pytest.raises(StoreError, match="notch"):
        native.ingest_batch(corpus, reference, json.dumps({"notch": None}), "abc", [(edf, 1, None)])


def test_cli_scheduler_errors(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 9 (discard) here.
    proc = run_cli("brainbrr-ingest", corpus, "--out", tmp_path / "s.zarr", "--scheduler", "tcp://127.0.0.1:9")
    assert proc.returncode == 2
    assert proc.stderr.count("error:") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in proc.stderr
    assert not (tmp_path / "s.zarr").exists()
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    from brainbrr.cli import ingest_main

    assert ingest_main([str(corpus), "--out", str(tmp_path / "t.zarr"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "pip install 'brainbrr[dask]'" in err, err


# --- Object storage: sources and stores in a bucket --------------------------


@pytest.fixture
def s3_cluster(s3: S3, corpus: Path, client: Any) -> Iterator[S3]:
    """The bucket holding the corpus (under ``tusz/``), and the workers' environment pointed at it
    as a deployment would configure them (the ``AWS_*`` variables)."""
    env = {k: v for k, v in s3.env.items() if k.startswith("AWS_")}
    client.run(os.environ.update, env)
    s3.upload_tree(corpus, "tusz")
    yield s3
    client.run(lambda: [os.environ.pop(k, None) for k in env])


def pulled(s3: S3, prefix: str, to: Path) -> Path:
    proc = run_cli("brainbrr", "pull", s3.url(prefix), to)
    assert proc.returncode == 0, proc.stderr
    return to


def task_folders(client: Any) -> list[str]:
    """The workers' own temporary folders of batches (staged sources and stores) still there."""
    tasks = Path(tempfile.gettempdir()) / f"brainbrr-tasks-{os.getuid()}"
    pids = client.run(os.getpid).values()
    return [p.name for p in tasks.glob("*") if p.name.split("-")[0] in {str(pid) for pid in pids}]


def test_dask_with_object_storage_equals_local_store(
    s3_cluster: S3, corpus: Path, reference: Path, tmp_path: Path, client: Any
) -> None:
    s3 = s3_cluster
    # A corpus in a bucket into a shared store: the workers download their recordings.
    store = tmp_path / "from-bucket.zarr"
    summary = ingest(s3.url("tusz"), store, client=client)
    assert (summary.ingested, summary.failed) == (N_RECORDINGS, ()), summary
    # A recording's source fingerprint is the object's (time to the second, entity tag), not the file's.
    assert_same_store(store, reference, ignore=("mtime_ns", "etag", "store_bytes"))
    assert task_folders(client) == []
    # Into a store in the bucket: the workers publish, the driver writes the index.
    summary = ingest(s3.url("tusz"), s3.url("cache.zarr"), client=client, stage=tmp_path / "stage")
    assert (summary.ingested, summary.recordings, summary.failed) == (N_RECORDINGS, N_RECORDINGS, ())
    # The size a reader downloads (the bucket's objects; a local store counts its own lock file too).
    objects = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="cache.zarr/")["Contents"]
    assert summary.store_bytes == pytest.approx(sum(o["Size"] for o in objects), abs=4096)
    assert "cache.zarr/.brainbrr-lock" not in s3.keys("cache.zarr/")
    copy = pulled(s3, "cache.zarr", tmp_path / "pulled.zarr")
    assert_same_store(copy, reference, ignore=("mtime_ns", "etag", "store_bytes"))
    assert read_attrs(copy)["brainbrr"]["index"]["store_bytes"] == summary.store_bytes
    # Resumed from a new staging folder: nothing to do.
    again = ingest(s3.url("tusz"), s3.url("cache.zarr"), client=client, stage=tmp_path / "stage2")
    assert (again.ingested, again.current, again.recordings) == (0, N_RECORDINGS, N_RECORDINGS)
    assert task_folders(client) == []
    # Local files (on a file system every worker sees) into a bucket.
    summary = ingest(corpus, s3.url("local.zarr"), client=client, stage=tmp_path / "stage3")
    assert (summary.ingested, summary.failed) == (N_RECORDINGS, ())
    assert_same_store(pulled(s3, "local.zarr", tmp_path / "pulled-local.zarr"), reference)


def markers(s3: S3, prefix: str) -> list[str]:
    """The recordings committed in the bucket store (their commit marker is there)."""
    return [k for k in s3.keys(f"{prefix}/recordings/") if k.count("/") == 3 and k.endswith("/zarr.json")]


def test_worker_killed_mid_task_with_object_storage(
    s3_cluster: S3, reference: Path, tmp_path: Path, client: Any
) -> None:
    s3 = s3_cluster
    victim = kill_a_worker_mid_task(
        client,
        lambda: ingest(s3.url("tusz"), s3.url("cache.zarr"), client=client, stage=tmp_path / "st"),
        lambda: len(markers(s3, "cache.zarr")) >= 2,
    )
    copy = pulled(s3, "cache.zarr", tmp_path / "pulled.zarr")
    assert_same_store(copy, reference, ignore=("mtime_ns", "etag", "store_bytes"))
    # The killed worker's temporary folder (its staged sources) went with a later batch on the machine.
    assert not list((Path(tempfile.gettempdir()) / f"brainbrr-tasks-{os.getuid()}").glob(f"{victim}-*"))
    assert task_folders(client) == []


def test_driver_killed_with_object_storage_then_rerun(
    s3_cluster: S3, cluster: Any, reference: Path, tmp_path: Path
) -> None:
    s3 = s3_cluster
    command = [str(BIN / "brainbrr-ingest"), s3.url("tusz"), "--out", s3.url("cache.zarr"), "--json"]
    command += ["--scheduler", cluster.scheduler_address]
    proc = subprocess.Popen([*command, "--stage", str(tmp_path / "st1")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(markers(s3, "cache.zarr")) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    # Its lease stays for two minutes; here it is made stale at once.
    s3.client().put_object(
        Bucket=s3.bucket, Key="cache.zarr/.brainbrr-lock", Body=b'{"holder": "killed", "renewed_unix_s": 0}'
    )
    # The killed driver's tasks may still be publishing while the re-run starts: they stop once
    # the re-run's run id replaces theirs, and what they committed is whole and current.
    rerun = subprocess.run([*command, "--stage", str(tmp_path / "st2")], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["ingested"] + summary["current"] == summary["recordings"] == N_RECORDINGS
    assert summary["current"] >= 3
    copy = pulled(s3, "cache.zarr", tmp_path / "pulled.zarr")
    assert_same_store(copy, reference, ignore=("mtime_ns", "etag", "store_bytes"))
    verify = run_cli("brainbrr", "verify", copy)
    assert verify.returncode == 0, verify.stdout
