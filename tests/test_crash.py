"""Crash safety with real processes: kill -9 and Ctrl-C during brainbrr-ingest.

After every interruption the committed recordings must be intact (each equal
to the same recording of a store built in one uninterrupted run), a re-run
must continue, and the finished store must equal the uninterrupted one array
for array and attribute for attribute, with no temporaries left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from brainbrr._native import write_edf
from brainbrr.synthetic import EEG_19
from tests.conftest import csv_bi, read_array, read_attrs, run_cli, run_ingest, start_ingest, store_arrays

N_RECORDINGS = 40
#: Root `brainbrr.index` fields that describe one run, not the store: its wall
#: id and wall time, what that run did (an interrupted build splits the work over runs),
#: and the store path it was given (two stores are compared).
PER_RUN_FIELDS = {"seconds", "ingested", "current", "source_bytes", "store", "run"}


def _write_corpus(root: Path) -> None:
    """40 recordings of 5-10 min at 250 and 256 Hz: a full ingest takes several seconds here."""
    for i in range(N_RECORDINGS):
        fs, duration = (250, 256)[i % 2], 300 + 7 * i
        folder = root / "edf" / "train" / f"p{i:03d}" / "s001_2010" / "01_tcp_ar"
        folder.mkdir(parents=True)
        path = folder / f"p{i:03d}_s001_t000.edf"
        x = np.random.default_rng(i).standard_normal((len(EEG_19), fs * duration)) * 20
        write_edf(path, list(x), [float(fs)] * len(EEG_19), [f"EEG {c}-REF" for c in EEG_19])
        if i % 7:  # every 7th stays unlabeled
            a = 20.0 + i
            rows = [(0.0, a, "bckg"), (a, a + 30, "seiz"), (a + 30, float(duration), "bckg")]
            path.with_suffix(".csv_bi").write_text(csv_bi(f"{duration:.4f}", rows))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash-corpus")
    _write_corpus(root)
    return root


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store built in one uninterrupted run."""
    store = tmp_path_factory.mktemp("reference") / "cache.zarr"
    proc, summary = run_ingest(corpus, store)
    assert proc.returncode == 0 and summary is not None, proc.stderr
    assert summary["ingested"] == N_RECORDINGS
    return store


def committed(store: Path) -> list[str]:
    """Recording folders that exist in recordings/ (a commit is a rename, so each one should be whole)."""
    folder = store / "recordings"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def wait_for(
    proc: subprocess.Popen[str], condition: Callable[[], bool], timeout: float = 60, poll: float = 0.002
) -> bool:
    """Poll until ``condition`` holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if condition():
            return True
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(poll)
    return False


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def store_attrs(store: Path, node: str, ignore: tuple[str, ...] = ()) -> dict:
    """A node's attributes less the id of the store it was committed to (each store draws its own)
    and the recording fields ``ignore``."""
    attrs = read_attrs(store, node)
    for field in ("store_id", *ignore):
        attrs.get("brainbrr_recording", {}).pop(field, None)
    return attrs


def assert_same_recording(store: Path, reference: Path, rid: str) -> None:
    node = f"recordings/{rid}"
    assert store_attrs(store, node) == store_attrs(reference, node), rid
    for name in (f"{node}/signal", f"{node}/label"):
        a, b = read_array(store, name), read_array(reference, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def assert_committed_intact(store: Path, reference: Path) -> list[str]:
    """Every recording in the store is committed and equal to the reference; verify finds only index problems."""
    rids = committed(store)
    for rid in rids:
        assert_same_recording(store, reference, rid)
    if (store / "zarr.json").exists():
        verify = run_cli("brainbrr", "verify", store)
        problems = verify.stdout.splitlines()[:-1]
        # The index is stale after an interruption; the recordings themselves must have no problem.
        assert all(p.startswith("index") for p in problems), verify.stdout
    return rids


def assert_same_store(store: Path, reference: Path, ignore: tuple[str, ...] = ()) -> None:
    """Array for array and attribute for attribute, per-run summary fields and the recording
    and summary fields ``ignore`` aside; no temporaries."""
    got, want = store_arrays(store), store_arrays(reference)
    assert sorted(got) == sorted(want)
    for name, a in got.items():
        b = want[name]
        assert (a.dtype, a.shape, a.chunks) == (b.dtype, b.shape, b.chunks), name
        assert read_attrs(store, name) == read_attrs(reference, name), name
        x, y = read_array(store, name), read_array(reference, name)
        if x.dtype.kind in "OTU":
            assert x.tolist() == y.tolist(), name
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
    groups = {name.rsplit("/", 1)[0] for name in got} | {"recordings", "index"}
    for name in sorted(groups):
        assert store_attrs(store, name, ignore) == store_attrs(reference, name, ignore), name
    root, root_ref = read_attrs(store)["brainbrr"], read_attrs(reference)["brainbrr"]
    index, index_ref = (
        {k: v for k, v in r.pop("index").items() if k not in PER_RUN_FIELDS | set(ignore)} for r in (root, root_ref)
    )
    assert index == index_ref
    # Each store draws its own id when created (a copy keeps it).
    root.pop("store_id"), root_ref.pop("store_id")
    assert root == root_ref
    tmp = store / ".brainbrr-tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), list(tmp.iterdir())
    assert len(committed(store)) == N_RECORDINGS


def test_kill_9_at_several_points_then_resume(corpus: Path, reference: Path, tmp_path: Path) -> None:
    store = tmp_path / "cache.zarr"
    points: list[tuple[str, Callable[[int, float], bool]]] = [
        ("the store root is written", lambda _, __: (store / "zarr.json").exists()),
        ("0.2 s after the start", lambda _, t0: time.monotonic() - t0 >= 0.2),
        ("3 more recordings committed", lambda n0, _: len(committed(store)) >= n0 + 3),
        # Relative, not a count: how far a run gets in a given time depends on the machine.
        ("half the rest committed", lambda n0, _: len(committed(store)) >= n0 + (N_RECORDINGS - n0) // 2),
        ("every recording committed (index being built)", lambda _, __: len(committed(store)) == N_RECORDINGS),
    ]
    kept: list[str] = []
    for what, condition in points:
        n0, t0 = len(kept), time.monotonic()
        proc = start_ingest(corpus, store)
        if wait_for(proc, partial(condition, n0, t0)):
            kill(proc)
        else:
            # Only the last point may be missed: the run finished before the kill.
            _, err = proc.communicate()
            assert proc.returncode == 0 and what.startswith("every"), f"{what}: exit {proc.returncode}: {err}"
        now = assert_committed_intact(store, reference)
        assert set(kept) <= set(now), f"killed at {what}: committed recordings lost"
        kept = now
    rerun, summary = run_ingest(corpus, store)
    assert rerun.returncode == 0 and summary is not None, rerun.stderr
    assert (summary["ingested"], summary["current"]) == (N_RECORDINGS - len(kept), len(kept))
    assert_same_store(store, reference)
    assert run_cli("brainbrr", "verify", store).returncode == 0


def test_kill_9_while_the_store_is_created(corpus: Path, reference: Path, tmp_path: Path) -> None:
    """A kill between creating the store folder and writing its root metadata must not leave
    a store that every later run refuses."""
    first = next(corpus.rglob("*.edf")).relative_to(corpus).as_posix()
    (tmp_path / "list.txt").write_text(first + "\n")
    for attempt in range(3):
        store = tmp_path / f"cache{attempt}.zarr"
        proc = start_ingest(corpus, store)
        # No sleep: the window between the folder and the root metadata is a few fsyncs long.
        wait_for(proc, (store / "recordings").exists, poll=0)
        kill(proc)
        left = sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) if store.exists() else []
        rerun, summary = run_ingest(corpus, store, "--files", tmp_path / "list.txt")
        assert rerun.returncode == 0 and summary is not None, f"after a kill that left {left}: {rerun.stderr}"
        assert summary["recordings"] == 1
        assert_same_recording(store, reference, first.replace("/", "~"))


def entries(folder: Path) -> int:
    """Entries in ``folder``; -1 once it is gone."""
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return -1


def test_kill_9_while_overwrite_removes_the_old_store(corpus: Path, reference: Path, tmp_path: Path) -> None:
    """A kill while --overwrite deletes the old store must not leave recordings that look committed but are not."""
    store = tmp_path / "cache.zarr"
    full = entries(reference / "recordings")
    for _ in range(3):
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(reference, store)
        proc = start_ingest(corpus, store, "--overwrite")
        # No sleep: deleting the old recordings takes milliseconds.
        assert wait_for(proc, lambda: entries(store / "recordings") < full, poll=0)
        kill(proc)
        # Landed while the old store was going (its root, complete index and all, still there or
        # already gone), not after the new one was created: that is the case under test.
        if not (store / "zarr.json").exists() or read_attrs(store)["brainbrr"]["index"]["complete"]:
            break
    rerun, summary = run_ingest(corpus, store)
    assert rerun.returncode == 0 and summary is not None, rerun.stderr
    verify = run_cli("brainbrr", "verify", store)
    assert verify.returncode == 0, verify.stdout
    assert_same_store(store, reference)


def test_a_recording_an_earlier_version_committed_incomplete_is_redone(
    corpus: Path, reference: Path, tmp_path: Path
) -> None:
    """Issue 20 (4): a store where a task of an earlier version committed a recording
    without its signal's metadata (what was left of a removed temporary). A re-run
    redoes it instead of counting it current (which exited 2, "array metadata is
    missing", or 0 with the store still broken); only --overwrite had recovered."""
    store = tmp_path / "cache.zarr"
    shutil.copytree(reference, store)
    victim = committed(store)[0]
    (store / "recordings" / victim / "signal" / "zarr.json").unlink()
    rerun, summary = run_ingest(corpus, store)
    assert rerun.returncode == 0 and summary is not None, rerun.stderr
    assert (summary["ingested"], summary["current"]) == (1, N_RECORDINGS - 1)
    verify = run_cli("brainbrr", "verify", store)
    assert verify.returncode == 0, verify.stdout
    assert_same_store(store, reference)


def test_ctrl_c_exits_promptly_and_resumes(corpus: Path, reference: Path, tmp_path: Path) -> None:
    store = tmp_path / "cache.zarr"
    proc = start_ingest(corpus, store)
    assert wait_for(proc, lambda: len(committed(store)) >= 3)
    at_signal = committed(store)
    os.kill(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "interrupted" in err
    kept = assert_committed_intact(store, reference)
    assert set(at_signal) <= set(kept) and len(kept) < N_RECORDINGS
    proc2, summary = run_ingest(corpus, store)
    assert proc2.returncode == 0 and summary is not None, proc2.stderr
    assert (summary["ingested"], summary["current"]) == (N_RECORDINGS - len(kept), len(kept))
    assert_same_store(store, reference)
