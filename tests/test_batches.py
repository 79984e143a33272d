"""Batches at scale: prefetching ahead of the caller, the block order, and each rank's share
of an epoch, checked in one process and across two real `torch.distributed` (gloo) processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from brainbrr.dataset import ZarrWindowDataset, balanced_sampler
from brainbrr.ingest import ingest
from brainbrr.synthetic import make_corpus


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batches")
    make_corpus(root, n_patients=4, duration_s=(100, 200), seed=7)
    out = root / "s.zarr"
    ingest(root / "edf", out)
    return out


def _recorded(ds: ZarrWindowDataset) -> list[np.ndarray]:
    """Make ``ds`` record the window indices of every gather, in order."""
    seen: list[np.ndarray] = []
    gather = ds._gather_into

    def recording(idx: np.ndarray, dst: np.ndarray, io: str = "read") -> None:
        seen.append(np.array(idx))
        gather(idx, dst, io)

    ds._gather_into = recording  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("label", ["any", "type"])
def test_batches_with_index_name_their_windows(store: Path, label: str) -> None:
    """Regression: a batch's windows could not be traced back to the dataset (issue 23)."""
    ds = ZarrWindowDataset(store, label=label)
    seen = []
    for x, y, idx in ds.batches(5, seed=1, device="cpu", prefetch=2, with_index=True):
        assert idx.dtype == torch.int64 and len(idx) == len(x) == len(y)
        for k, i in enumerate(idx.tolist()):
            xi, yi = ds[i]
            assert torch.equal(x[k], xi) and int(y[k]) == int(yi)
        seen += idx.tolist()
    assert sorted(seen) == list(range(len(ds)))
    assert all(len(b) == 2 for b in ds.batches(5, device="cpu"))


@pytest.mark.parametrize("io", ["read", "map"])
def test_prefetched_batches_equal_the_items(store: Path, io: str) -> None:
    ds = ZarrWindowDataset(store)
    lazy = [(x.clone(), y.clone()) for x, y in ds.batches(7, seed=3, device="cpu", prefetch=0, io=io)]
    ahead = [(x.clone(), y.clone()) for x, y in ds.batches(7, seed=3, device="cpu", prefetch=3, io=io)]
    assert len(lazy) == len(ahead) == -(-len(ds) // 7)
    for (a, b), (c, d) in zip(lazy, ahead, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)
    order = ds.order(seed=3)
    items = torch.stack([ds[int(i)][0] for i in order[:7]])
    assert torch.equal(lazy[0][0], items), "a batch holds exactly the windows ds[i] views"


def test_the_gather_runs_ahead_while_the_caller_works(store: Path) -> None:
    ds = ZarrWindowDataset(store)
    seen = _recorded(ds)
    batches = ds.batches(4, seed=0, device="cpu", prefetch=2)
    first = next(batches)
    # While the caller holds batch 0, batches 1 and 2 are gathered (and batch 3 waits for a free slot).
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(seen) >= 3, len(seen)
    del first
    rest = list(batches)
    assert sum(i.size for i in seen) == len(ds) and len(rest) == -(-len(ds) // 4) - 1


def test_a_caller_that_stops_early_stops_the_prefetch_thread(store: Path) -> None:
    ds = ZarrWindowDataset(store)
    for _ in ds.batches(2, device="cpu", prefetch=2):
        break
    assert not any(t.name == "brainbrr-prefetch" for t in threading.enumerate())


def test_a_process_forked_while_a_prefetch_thread_holds_a_lock_can_take_it(store: Path) -> None:
    """DataLoader workers are forked: a lock the parent's prefetch thread held at that moment
    would never be released in the child."""
    import os

    from brainbrr import chunks, loader

    ds = ZarrWindowDataset(store)
    shape = (4, len(ds.channels), ds.window_samples)
    ring = loader._BufferRing.shared(shape, np.dtype("<f4"), 3)
    with loader._BufferRing._shared_lock, chunks._USE_LOCK, ring.lock:
        pid = os.fork()
        if pid == 0:  # the child: every lock it meets is free
            code = 1
            try:
                fresh = loader._BufferRing.shared(shape, np.dtype("<f4"), 3)  # takes the rings' lock
                locks = [chunks._USE_LOCK, fresh.lock]
                code = 0 if all(lock.acquire(timeout=5) for lock in locks) else 1
            finally:
                os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked process waited on a lock held at the fork")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_a_failed_gather_reaches_the_caller(store: Path) -> None:
    ds = ZarrWindowDataset(store)

    def broken(idx: np.ndarray, dst: np.ndarray, io: str = "read") -> None:
        raise OSError("disk gone")

    ds._gather_into = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk gone"):
        list(ds.batches(4, device="cpu", prefetch=2))


def test_block_order_is_a_local_permutation(store: Path) -> None:
    ds = ZarrWindowDataset(store)
    order = ds.order(seed=5, order="block", block_recordings=2)
    assert sorted(order.tolist()) == list(range(len(ds)))
    np.testing.assert_array_equal(order, ds.order(seed=5, order="block", block_recordings=2))
    assert not np.array_equal(order, ds.order(seed=6, order="block", block_recordings=2))
    # The windows come pool by pool: the recordings change pool at most len(rids)/2 - 1 times,
    # and each pool holds at most 2 recordings.
    recs = ds._rec[order]
    pools, current = [], set()
    for r in recs:
        if r not in current and len(current) == 2:
            pools.append(current)
            current = set()
        current.add(int(r))
    pools.append(current)
    assert len(pools) == -(-len(ds.rids) // 2)
    assert set().union(*pools) == set(range(len(ds.rids)))
    assert sum(len(p) for p in pools) == len(ds.rids), "a recording's windows never come back after its pool"
    got = [x for x, _ in ds.batches(5, seed=5, device="cpu", order="block", block_recordings=2)]
    assert sum(len(x) for x in got) == len(ds)


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_rank_shares_are_disjoint_complete_and_equal(store: Path, world: int, drop_last: bool) -> None:
    ds = ZarrWindowDataset(store)
    shares = []
    for rank in range(world):
        seen = _recorded(ds)
        n_batches = len(list(ds.batches(4, seed=9, device="cpu", rank=rank, world_size=world, drop_last=drop_last)))
        shares.append((n_batches, np.concatenate(seen) if seen else np.zeros(0, np.int64)))
        ds._gather_into = type(ds)._gather_into.__get__(ds)  # type: ignore[method-assign]
    assert len({n for n, _ in shares}) == 1, "every rank gets as many batches"
    ids = np.concatenate([s for _, s in shares])
    counts = np.bincount(ids, minlength=len(ds))
    if drop_last:
        assert counts.max() == 1 and len(ds) - counts.sum() < world + 4 * world
    else:
        assert counts.min() == 1 and counts.sum() - len(ds) <= world - 1


DDP_WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch.distributed as dist
    from torch.utils.data import DataLoader, DistributedSampler
    from brainbrr.dataset import ZarrWindowDataset, balanced_sampler

    store, port, rank = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    ds = ZarrWindowDataset(store)
    seen = []
    gather = ds._gather_into
    ds._gather_into = lambda idx, dst, io: (seen.append(idx.tolist()), gather(idx, dst, io))[1]
    n = sum(1 for _ in ds.batches(4, seed=11, device="cpu"))  # rank and world size from the process group
    windows = sum(seen, [])
    sampler = DistributedSampler(ds, seed=11)
    loader = [int(i) for i in sampler]
    drawn = list(balanced_sampler(ds, seed=11))
    # The sampler's draws are this rank's already: batches gives them all.
    seen.clear()
    sum(1 for _ in ds.batches(2, device="cpu", sampler=balanced_sampler(ds, seed=11)))
    batched = sum(seen, [])
    out = [None, None]
    dist.all_gather_object(
        out, {"batches": n, "windows": windows, "loader": loader, "drawn": drawn, "batched": batched}
    )
    if rank == 0:
        print(json.dumps({"ranks": out, "total": len(ds)}))
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_gloo_ranks_share_each_epoch(store: Path, tmp_path: Path) -> None:
    script = tmp_path / "ddp_worker.py"
    script.write_text(DDP_WORKER)
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(store), str(port), str(rank)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    result = json.loads(outs[0][0])
    a, b = result["ranks"]
    total = result["total"]
    assert a["batches"] == b["batches"]
    wa, wb = set(a["windows"]), set(b["windows"])
    assert wa | wb == set(range(total)) and len(a["windows"]) == len(b["windows"])
    assert len(wa & wb) <= 1, "only the one padding window (odd total) may repeat"
    assert len(set(a["loader"]) & set(b["loader"])) <= total % 2  # DistributedSampler pads an odd total by one
    assert len(a["drawn"]) == len(b["drawn"]) and a["drawn"] != b["drawn"]
    assert (a["batched"], b["batched"]) == (a["drawn"], b["drawn"]), "a sampler's order is not split again"


def test_balanced_sampler_per_rank(store: Path) -> None:
    ds = ZarrWindowDataset(store)
    one = balanced_sampler(ds, seed=1, rank=0, world_size=2)
    two = balanced_sampler(ds, seed=1, rank=1, world_size=2)
    assert len(one) == len(two) == -(-int(((ds.labels == 0) | (ds.labels == 1)).sum()) // 2)
    assert list(one) != list(two)
    with pytest.raises(ValueError, match="rank must lie"):
        balanced_sampler(ds, rank=2, world_size=2)
