"""Random-window batch throughput: the old npz loader vs ZarrWindowDataset.

One run, batch 64, random windows, warm page cache, on a synthetic TUSZ-like
store (19 channels, 256 Hz, 60 s windows every 10 s):

(a) old loader: ``np.load`` of a per-recording ``savez_compressed`` npz per
    item (the whole file's windows are decompressed to return one), as
    ``tests/old_pipeline.py``'s ``build_npz_cache`` lays them out (keys
    ``windows`` [n_windows, C, T] float32 and ``labels``), written here from
    the store's own windows so both loaders read the same values;
(b) a torch DataLoader over ZarrWindowDataset, default collate, 0 and 2 workers;
(c) ``ds.batches(64, device="cpu")``: the Rust gather;
(d) the ceiling: one numpy copy of the same number of bytes between two warm
    buffers (a plain memcpy).

Also measured: opening a store with a TUSZ-size index (7,400 recordings,
300,000 windows).

Usage: python bench/bench_loader.py [--patients 8] [--duration 600 900]
       [--batches 40] [--old-items 12] [--out bench/RESULTS-loader.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import zarr
from brainbrr.dataset import ZarrWindowDataset
from brainbrr.ingest import ingest
from brainbrr.synthetic import make_corpus
from torch.utils.data import DataLoader, RandomSampler

BATCH = 64


def write_npz_cache(
    ds: ZarrWindowDataset, out: Path, recordings: list[int]
) -> dict[int, Path]:
    """The old pipeline's cache for ``recordings``: one compressed npz each."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    t = ds.window_samples
    for r in recordings:
        sig = np.asarray(ds._read("signal", r))
        mine = np.flatnonzero(ds._rec == r)
        windows = np.stack([sig[:, a : a + t] for a in ds._start[mine]]).astype(
            np.float32
        )
        path = out / f"{ds.rids[r]}.npz"
        np.savez_compressed(path, windows=windows, labels=ds._label[mine])
        paths[r] = path
    return paths


def rate(n_windows: int, seconds: float, window_bytes: int) -> tuple[float, float]:
    return n_windows / seconds, n_windows * window_bytes / seconds / 1e9


def bench_old(
    ds: ZarrWindowDataset, npz: dict[int, Path], items: int, rng: np.random.Generator
) -> float:
    local = {r: np.flatnonzero(ds._rec == r) for r in npz}
    rs = list(npz)
    t0 = time.perf_counter()
    for _ in range(items):
        r = rs[int(rng.integers(len(rs)))]
        w = int(rng.integers(local[r].size))
        x = torch.from_numpy(np.load(npz[r])["windows"][w])
        assert x.shape[0] == len(ds.channels)
    return time.perf_counter() - t0


def random_windows(ds: ZarrWindowDataset, batches: int) -> RandomSampler:
    """``batches`` batches of uniformly random windows (with replacement: any store size)."""
    g = torch.Generator().manual_seed(0)
    return RandomSampler(ds, replacement=True, num_samples=batches * BATCH, generator=g)


def bench_dataloader(ds: ZarrWindowDataset, workers: int, batches: int) -> float:
    loader = DataLoader(
        ds,
        batch_size=BATCH,
        sampler=random_windows(ds, batches + 1),
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers else None,
    )
    it = iter(loader)
    next(it)  # worker start-up is not throughput
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return time.perf_counter() - t0


def bench_batches(ds: ZarrWindowDataset, batches: int) -> float:
    it = ds.batches(BATCH, device="cpu", sampler=random_windows(ds, batches + 1))
    next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return time.perf_counter() - t0


def bench_memcpy(ds: ZarrWindowDataset, batches: int) -> float:
    shape = (BATCH, len(ds.channels), ds.window_samples)
    src = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    t0 = time.perf_counter()
    for _ in range(batches):
        np.copyto(dst, src)
    return time.perf_counter() - t0


def write_index(store: Path, index: dict) -> None:
    """Replace the store's ``index/`` by ``index`` (shaped like ``read_index``'s
    result, without the optional columns), written with zarr-python."""
    shutil.rmtree(store / "index")
    g = zarr.open_group(store / "index", mode="w", zarr_format=3)
    g.attrs["brainbrr_index"] = {
        "window_samples": index["window_samples"],
        "stride_samples": index["stride_samples"],
    }
    for table in ("recordings", "windows", "failures"):
        for name, values in index[table].items():
            chunks = (max(len(values), 1),)
            if isinstance(values, list):  # a string column
                column = g.create_array(
                    f"{table}/{name}", shape=(len(values),), dtype=str, chunks=chunks
                )
                if values:
                    column[:] = np.array(values, dtype=object)
            else:
                g.create_array(f"{table}/{name}", data=np.asarray(values), chunks=chunks)


def bench_open_large(
    root: Path, store: Path, n_recordings: int = 7400, n_windows: int = 300_000
) -> list[float]:
    """Open time of a store with a TUSZ-size index (a copy of ``store`` with
    its recordings left out and its index replaced: opening never reads them)."""
    per = n_windows // n_recordings + 1
    stride = 2560
    n = np.full(n_recordings, (per - 1) * stride + 15360, np.int64)
    rec = np.repeat(np.arange(n_recordings, dtype=np.int32), per)[:n_windows]
    counts = np.bincount(rec, minlength=n_recordings).astype(np.int64)
    start = (
        np.arange(n_windows) - np.repeat(np.cumsum(counts) - counts, counts)
    ) * stride
    rids = [f"p{r // 4:05d}_s001_t{r % 4:03d}" for r in range(n_recordings)]
    index = {
        "window_samples": 15360,
        "stride_samples": stride,
        "recordings": {
            "rid": rids,
            "path": [f"train/{rid}.edf" for rid in rids],
            "split": ["train"] * n_recordings,
            "patient": [rid[:6] for rid in rids],
            "session": ["s001"] * n_recordings,
            "n_samples": n,
            "n_windows": counts,
            "window_offset": np.cumsum(counts) - counts,
        },
        "windows": {
            "recording": rec,
            "start": start.astype(np.int64),
            "label": (np.arange(n_windows) % 7 == 0).astype(np.uint8),
            "seizure_fraction": np.zeros(n_windows, np.float32),
        },
        "failures": {"path": [], "reason": []},
    }
    # The first recording is kept (the reader looks at one for the chunk layout).
    first = ZarrWindowDataset(store).rids[0]
    rids[0] = first
    keep = {"zarr.json", first}
    path = root / "large.zarr"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(
        store,
        path,
        ignore=lambda d, names: [
            n for n in names if Path(d) == store / "recordings" and n not in keep
        ],
    )
    write_index(path, index)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        d = ZarrWindowDataset(path)
        times.append(time.perf_counter() - t0)
        assert len(d) == n_windows
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=8)
    p.add_argument("--duration", type=int, nargs=2, default=(600, 900))
    p.add_argument("--batches", type=int, default=40, help="batches timed per loader")
    p.add_argument(
        "--old-items",
        type=int,
        default=12,
        help="items timed for the old loader (seconds each)",
    )
    p.add_argument(
        "--workdir",
        help="where the corpus, store and npz go (default: a temporary folder)",
    )
    p.add_argument("--out", help="write the results as markdown here")
    args = p.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="brainbrr-bench-loader-"))

    store = work / "store.zarr"
    if not store.exists():
        make_corpus(work, n_patients=args.patients, duration_s=tuple(args.duration))
        ingest(work / "edf", store)
    ds = ZarrWindowDataset(store)
    window_bytes = len(ds.channels) * ds.window_samples * ds.dtype.itemsize
    print(
        f"{ds!r}; {len(ds.rids)} recordings; window {window_bytes / 1e6:.2f} MB",
        flush=True,
    )
    npz = write_npz_cache(ds, work / "npz", list(range(min(4, len(ds.rids)))))
    for r in range(len(ds.rids)):  # warm the page cache
        if ds.n_samples[r]:
            ds.chunk_file(r).read_bytes()
    for f in npz.values():
        f.read_bytes()

    rng = np.random.default_rng(0)
    res: dict[str, tuple[int, float]] = {}
    res["(a) old npz loader"] = (
        args.old_items,
        bench_old(ds, npz, args.old_items, rng),
    )
    for workers in (0, 2):
        res[f"(b) DataLoader, {workers} workers"] = (
            args.batches * BATCH,
            bench_dataloader(ds, workers, args.batches),
        )
    res["(c) ds.batches (cpu)"] = (
        args.batches * BATCH,
        bench_batches(ds, args.batches),
    )
    res["(d) memcpy ceiling"] = (args.batches * BATCH, bench_memcpy(ds, args.batches))
    opens = bench_open_large(work, store)

    rates = {k: rate(n, s, window_bytes) for k, (n, s) in res.items()}
    c = rates["(c) ds.batches (cpu)"][0]
    lines = [
        "# Loader throughput",
        "",
        f"`{command}`",
        "",
        (
            f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}."
        ),
        (
            f"Store: {len(ds.rids)} synthetic recordings, {len(ds)} windows of {len(ds.channels)} x "
            f"{ds.window_samples} float32 ({window_bytes / 1e6:.2f} MB); random windows, batch {BATCH}, "
            "warm page cache. (a) timed per item on the npz of 4 recordings."
        ),
        "",
        "| loader | windows/s | GB/s | (c) / this |",
        "|---|---:|---:|---:|",
    ]
    for k, (w, gb) in rates.items():
        lines.append(f"| {k} | {w:,.1f} | {gb:.3f} | {c / w:,.2f}x |")
    lines += [
        "",
        (
            f"Opening a store with 7,400 recordings and 300,000 windows: median {statistics.median(opens) * 1e3:.0f} ms "
            f"(min {min(opens) * 1e3:.0f}, max {max(opens) * 1e3:.0f}, 5 runs)."
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
