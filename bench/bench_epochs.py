"""Epochs as users meet them: the first one, later ones, a cold page cache, and a training loop.

On one synthetic TUSZ-like store, batches of 64 random windows from
``ds.batches(device="cpu")``, for each way the Rust threads read the chunk
files (``io="read"``: positional reads into the batch; ``io="map"``: copies out
of memory maps), side by side in one run:

- memcpy: one numpy copy of an epoch's window bytes between two warm buffers (the ceiling);
- epoch 0: a fresh dataset, every chunk file in the page cache (read once before) but not mapped
  (its batch buffers are the process's, warm from earlier datasets);
- epoch 0 of a process: the same in a new Python process, whose batch buffers are fresh
  memory too (paid once per process: a few batches' worth);
- epoch 1: the same dataset again;
- cold: every chunk file evicted (``posix_fadvise(DONTNEED)``), then epoch 0 of a fresh
  dataset, against a sequential read of the same files, evicted the same way, in the same
  run (window bytes delivered per second over file bytes read per second);
- training loop: a fixed ``--step-ms`` of work per batch (a sleep: the GIL is free, as
  while a GPU step runs), and the share of the epoch spent waiting for the next batch,
  with the default ``prefetch=2`` and with ``prefetch=0``; and that share without the
  first batch, which every epoch waits for once (an epoch here is 17 batches, one of
  TUSZ about 4,700).

Medians of ``--runs`` runs. Targets (issue 12): epoch 0 >= 0.8x memcpy; cold >= 0.5x the
sequential cold read; waiting < 5% of the epoch when the step is longer than a gather.

    python bench/bench_epochs.py [--patients 8] [--runs 5] [--out bench/RESULTS-epochs.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from brainbrr.dataset import ZarrWindowDataset
from brainbrr.ingest import ingest
from brainbrr.synthetic import make_corpus

BATCH = 64


def chunk_files(store: Path) -> list[Path]:
    """Every chunk file of the recordings (signal, label, type)."""
    root = store / "recordings"
    return sorted(p for p in root.rglob("*") if p.is_file() and "c" in p.relative_to(root).parts)


def evict(files: list[Path]) -> None:
    """Drop the files' pages from the page cache (they are clean: written and synced)."""
    os.sync()
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def warm(files: list[Path]) -> None:
    for f in files:
        with open(f, "rb") as h:
            while h.read(1 << 24):
                pass


def sequential_read(files: list[Path]) -> float:
    """Bytes per second reading every file front to back in 16 MB reads."""
    t0, total = time.perf_counter(), 0
    for f in files:
        with open(f, "rb", buffering=0) as h:
            while chunk := h.read(1 << 24):
                total += len(chunk)
    return total / (time.perf_counter() - t0)


def epoch(
    ds: ZarrWindowDataset, io: str, seed: int, step_s: float = 0.0, prefetch: int = 2
) -> tuple[float, float, float]:
    """(window bytes per second, seconds spent waiting for batches, of which for the first) over one epoch."""
    window_bytes = len(ds.channels) * ds.window_samples * ds.dtype.itemsize
    batches = ds.batches(BATCH, seed=seed, device="cpu", io=io, prefetch=prefetch)
    waited, n, first = 0.0, 0, 0.0
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        try:
            x, _ = next(batches)
        except StopIteration:
            break
        waited += time.perf_counter() - t
        first = first or waited
        n += x.shape[0]
        if step_s:
            time.sleep(step_s)
    return n * window_bytes / (time.perf_counter() - t0), waited, first


def process_epoch(store: Path, io: str) -> float:
    """Epoch 0 in a new Python process (imports and dataset made before the clock starts)."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); from pathlib import Path; import bench_epochs as b; "
        f"from brainbrr.dataset import ZarrWindowDataset; ds = ZarrWindowDataset(Path({str(store)!r})); "
        f"print(b.epoch(ds, {io!r}, seed=0)[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def memcpy_rate(ds: ZarrWindowDataset) -> float:
    nbytes = len(ds) * len(ds.channels) * ds.window_samples * ds.dtype.itemsize
    src, dst = np.ones(nbytes // 4, np.float32), np.empty(nbytes // 4, np.float32)
    np.copyto(dst, src)
    t0 = time.perf_counter()
    np.copyto(dst, src)
    return nbytes / (time.perf_counter() - t0)


def median(f: Callable[[], float], runs: int) -> tuple[float, list[float]]:
    values = [f() for _ in range(runs)]
    return statistics.median(values), values


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=8)
    p.add_argument("--duration", type=int, nargs=2, default=(600, 900))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--step-ms", type=float, default=20.0)
    p.add_argument("--work", default="bench/out/epochs", help="corpus and store (kept between runs)")
    p.add_argument("--out", help="write the results as markdown here")
    args = p.parse_args()

    work = Path(args.work)
    store = work / "cache.zarr"
    if not (store / "index").is_dir():
        make_corpus(work / "corpus", n_patients=args.patients, duration_s=tuple(args.duration), seed=1)
        ingest(work / "corpus" / "edf", store, overwrite=True)
    files = chunk_files(store)
    ds0 = ZarrWindowDataset(store)
    gb = len(ds0) * len(ds0.channels) * ds0.window_samples * 4 / 1e9
    rows: list[tuple[str, str, float, list[float]]] = []
    load0 = os.getloadavg()

    copy, copies = median(lambda: memcpy_rate(ds0), args.runs)
    rows.append(("memcpy of an epoch's window bytes", "-", copy, copies))
    for io in ("read", "map"):
        def first(io: str = io) -> float:
            warm(files)
            return epoch(ZarrWindowDataset(store), io, seed=0)[0]

        def second(io: str = io) -> float:
            ds = ZarrWindowDataset(store)
            epoch(ds, io, seed=0)
            return epoch(ds, io, seed=1)[0]

        def cold(io: str = io) -> float:
            evict(files)
            return epoch(ZarrWindowDataset(store), io, seed=0)[0]

        def new_process(io: str = io) -> float:
            warm(files)
            return process_epoch(store, io)

        for name, f in (
            ("epoch 0, fresh dataset, page cache warm", first),
            ("epoch 0 of a new process, page cache warm", new_process),
            ("epoch 1", second),
            ("cold epoch", cold),
        ):
            m, values = median(f, args.runs)
            rows.append((name, io, m, values))

    def seq() -> float:
        evict(files)
        return sequential_read(files)

    seq_rate, seqs = median(seq, args.runs)
    rows.append(("sequential read of the chunk files, cold", "-", seq_rate, seqs))
    warm(files)
    # share of the epoch spent waiting, per (prefetch, epoch of a fresh dataset)
    # share of the epoch spent waiting, per (prefetch, epoch of a fresh dataset, first batch counted)
    waits: dict[tuple[int, int, bool], tuple[float, list[float]]] = {}
    for prefetch in (2, 0):
        shares: dict[tuple[int, bool], list[float]] = {(k, f): [] for k in (0, 1) for f in (True, False)}
        for _ in range(args.runs):
            ds = ZarrWindowDataset(store)
            for k in (0, 1):
                t0 = time.perf_counter()
                _, waited, first_wait = epoch(ds, "map", seed=k, step_s=args.step_ms / 1000, prefetch=prefetch)
                wall = time.perf_counter() - t0
                shares[(k, True)].append(waited / wall)
                shares[(k, False)].append((waited - first_wait) / (wall - first_wait))
        for (k, f), values in shares.items():
            waits[(prefetch, k, f)] = (statistics.median(values), values)

    by = {(name, io): m for name, io, m, _ in rows}
    lines = [
        "# Epochs: first, later, cold, and inside a training loop",
        "",
        f"`{' '.join(shlex.quote(a) for a in ['python', *sys.argv])}` on {time.strftime('%Y-%m-%d %H:%M')}; "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load0[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after.",
        f"Store: {len(ds0.rids)} recordings, {len(ds0)} windows of {len(ds0.channels)} x {ds0.window_samples} "
        f"float32 ({gb:.2f} GB per epoch), batches of {BATCH} random windows, medians of {args.runs} runs.",
        "",
        "| measure | io | median GB/s | runs (GB/s) |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {name} | {io} | {m / 1e9:.2f} | {', '.join(f'{v / 1e9:.2f}' for v in values)} |" for name, io, m, values in rows]
    lines += [
        "",
        "| ratio (targets of issue 12) | read | map |",
        "|---|---:|---:|",
        "| epoch 0 / memcpy (>= 0.8) | "
        + " | ".join(f"{by[('epoch 0, fresh dataset, page cache warm', io)] / copy:.2f}" for io in ("read", "map"))
        + " |",
        "| epoch 0 of a new process / memcpy | "
        + " | ".join(f"{by[('epoch 0 of a new process, page cache warm', io)] / copy:.2f}" for io in ("read", "map"))
        + " |",
        "| epoch 1 / memcpy | " + " | ".join(f"{by[('epoch 1', io)] / copy:.2f}" for io in ("read", "map")) + " |",
        "| cold epoch / sequential cold read (>= 0.5) | "
        + " | ".join(f"{by[('cold epoch', io)] / seq_rate:.2f}" for io in ("read", "map"))
        + " |",
        "",
        f"Training loop, {args.step_ms:g} ms of work per batch (a gather of {BATCH} windows takes less), io=map, "
        "share of the epoch spent waiting for the next batch (target < 5% with prefetch):",
        "",
        "| | epoch 0 of a fresh dataset | epoch 1 |",
        "|---|---:|---:|",
        *(
            f"| prefetch={pf}{'' if f else ', first batch aside'} | "
            + " | ".join(
                f"{waits[(pf, k, f)][0] * 100:.1f}% ({', '.join(f'{w * 100:.1f}' for w in waits[(pf, k, f)][1])})"
                for k in (0, 1)
            )
            + " |"
            for pf in (2, 0)
            for f in (True, False)
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
