"""GPU check of ``ZarrWindowDataset.batches``: the device batches equal the CPU
path bit for bit, and how fast they arrive.

Measures, on a synthetic store (or ``--store``): batches/s and GB/s of
``ds.batches(64, device="cuda")`` with a light consumer on the GPU, and the
raw host-to-device bandwidth of a batch-sized copy from pinned and from
pageable memory. Without CUDA it says so and exits 0.

Usage: python bench/gpu_check.py [--store STORE] [--patients 8] [--batches 200] [--out bench/RESULTS-gpu.md]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import RandomSampler

BATCH = 64


def h2d_gbps(nbytes_shape: tuple[int, ...], pinned: bool, repeats: int = 20) -> float:
    host = torch.empty(nbytes_shape, dtype=torch.float32, pin_memory=pinned)
    host.fill_(1.0)
    dev = torch.empty_like(host, device="cuda")
    dev.copy_(host, non_blocking=True)
    torch.cuda.synchronize()
    start, end = (
        torch.cuda.Event(enable_timing=True),
        torch.cuda.Event(enable_timing=True),
    )
    start.record()
    for _ in range(repeats):
        dev.copy_(host, non_blocking=True)
    end.record()
    torch.cuda.synchronize()
    return (
        host.numel()
        * host.element_size()
        * repeats
        / (start.elapsed_time(end) / 1e3)
        / 1e9
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", help="an existing store (default: build a synthetic one)")
    p.add_argument("--patients", type=int, default=8)
    p.add_argument("--duration", type=int, nargs=2, default=(600, 900))
    p.add_argument("--batches", type=int, default=200, help="batches timed")
    p.add_argument("--out", help="write the results as markdown here")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; nothing to check (exit 0)")
        return 0
    from brainbrr.dataset import ZarrWindowDataset

    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    if args.store:
        store = Path(args.store)
    else:
        from brainbrr.ingest import ingest
        from brainbrr.synthetic import make_corpus

        work = Path(tempfile.mkdtemp(prefix="brainbrr-gpu-check-"))
        make_corpus(work, n_patients=args.patients, duration_s=tuple(args.duration))
        store = work / "store.zarr"
        t0 = time.perf_counter()
        ingest(work / "edf", store)
        print(f"ingest: {time.perf_counter() - t0:.1f} s", flush=True)
    ds = ZarrWindowDataset(store)
    name = torch.cuda.get_device_name()
    window_bytes = len(ds.channels) * ds.window_samples * ds.dtype.itemsize
    print(f"{name}; {ds!r}", flush=True)

    # 1. Exactness: one shuffled epoch on the device equals the CPU path, with
    # the gather on demand and prefetched (background thread, pinned slots).
    for prefetch in (0, 2):
        n_checked = 0
        for (xc, yc), (xg, yg) in zip(
            ds.batches(BATCH, seed=5, device="cpu", prefetch=0),
            ds.batches(BATCH, seed=5, device="cuda", prefetch=prefetch),
            strict=True,
        ):
            assert xg.is_cuda and yg.is_cuda and xg.dtype == xc.dtype
            assert torch.equal(xg.cpu(), xc) and torch.equal(yg.cpu(), yc), (
                f"device batch (prefetch={prefetch}) differs from the CPU batch"
            )
            n_checked += xc.shape[0]
        assert n_checked == len(ds)
    cast = next(
        iter(ds.batches(BATCH, shuffle=False, device="cuda", dtype=torch.float16))
    )[0]
    assert cast.dtype == torch.float16 and cast.is_cuda
    print(f"exact: {n_checked} windows, every batch equal to the CPU path", flush=True)

    # 2. Throughput: random windows, a light consumer (a reduction) on the default stream.
    g = torch.Generator().manual_seed(0)
    sampler = RandomSampler(
        ds, replacement=True, num_samples=(args.batches + 2) * BATCH, generator=g
    )
    it = ds.batches(BATCH, device="cuda", sampler=sampler)
    acc = torch.zeros((), device="cuda")
    for _ in range(2):  # warm: pinned buffers, maps, page cache
        x, _ = next(it)
        acc += x.sum()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.batches):
        x, _ = next(it)
        acc += x.sum()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    bps = args.batches / dt
    gbps = bps * BATCH * window_bytes / 1e9

    # 3. Raw host-to-device copies of one batch.
    shape = (BATCH, len(ds.channels), ds.window_samples)
    pinned, pageable = h2d_gbps(shape, True), h2d_gbps(shape, False)

    lines = [
        "# GPU check: ds.batches on the device",
        "",
        f"`{command}`",
        "",
        (
            f"{time.strftime('%Y-%m-%d')}, {name}, torch {torch.__version__}, CUDA {torch.version.cuda}; "
            f"store: {len(ds.rids)} synthetic recordings, {len(ds)} windows of {window_bytes / 1e6:.2f} MB."
        ),
        "",
        f"- Exactness: one shuffled epoch ({n_checked} windows, batch {BATCH}) on the device equals the CPU path bit for bit.",
        (
            f"- `ds.batches({BATCH}, device='cuda')`, random windows, warm page cache: {bps:,.1f} batches/s, "
            f"{bps * BATCH:,.0f} windows/s, {gbps:.2f} GB/s delivered to the GPU."
        ),
        (
            f"- Host-to-device copy of one {BATCH}-window batch ({BATCH * window_bytes / 1e6:.0f} MB): "
            f"{pinned:.1f} GB/s from pinned memory, {pageable:.1f} GB/s from pageable memory."
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    assert torch.isfinite(acc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
