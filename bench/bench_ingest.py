"""Corpus ingest: the old npz pipeline against brainbrr-ingest on the same corpus.

The old side is ``tests/old_pipeline.py``'s ``build_npz_cache`` run as the old
code ran it: one process, file after file (MNE read, scipy resample and
filters, z-score, every 60 s / 10 s window materialised, ``np.savez_compressed``
per EDF). The new side is ``brainbrr-ingest`` with its default ``--jobs`` (all
cores), and again with ``--jobs 1`` to show that memory follows jobs. Each runs
in its own subprocess, measured for wall time, CPU time and peak RSS
(``/usr/bin/time -v`` if present, else the child's ``wait4`` rusage); then the
bytes on disk of the npz folder and of the store. The corpus is a TUSZ-like synthetic
one (``brainbrr.synthetic.make_corpus``) of at least ``--min-mb`` MB of EDF,
generated once into ``--corpus`` and reused.

    python bench/bench_ingest.py [--corpus bench/out/corpus] [--out bench/RESULTS-ingest.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

# Only the standard library at module level: the measured old-pipeline child
# (``--run-old``) must load what the old pipeline loads and nothing more.
REPO = Path(__file__).resolve().parents[1]
TIME = Path("/usr/bin/time")
N_CHANNELS = 19


@dataclass(frozen=True)
class Run:
    """What one measured subprocess cost."""

    wall_s: float
    cpu_s: float
    peak_rss: int
    stdout: str


def measure(cmd: list[str]) -> Run:
    """Run ``cmd`` to completion; its wall time, CPU time (user + system) and peak RSS (bytes)."""
    timed = [str(TIME), "-v", *cmd] if TIME.exists() else cmd
    # Start from no pending writeback: otherwise the side measured second pays
    # for flushing what the first one wrote (1.4 GB of npz files).
    os.sync()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(timed, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        # wait4 rather than getrusage(RUSAGE_CHILDREN): the peak of this child
        # alone, not of every child this process has reaped so far.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{shlex.join(cmd)} failed:\n{stderr[-3000:]}")
    if TIME.exists():
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        assert match, stderr[-2000:]
        rss = int(match.group(1)) * 1024
    else:
        rss = usage.ru_maxrss * 1024  # kilobytes on Linux
    return Run(wall, usage.ru_utime + usage.ru_stime, rss, stdout)


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (its CPU time and RSS with it)."""
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def disk_bytes(root: Path) -> tuple[int, int]:
    """Allocated bytes (as ``du``) and apparent bytes of every file under ``root``."""
    allocated = apparent = 0
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent


def edf_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "edf").rglob("*.edf"))


def ensure_corpus(corpus: Path, patients: int, duration: tuple[int, int], min_mb: float) -> list[Path]:
    """The corpus's EDF files, generating it first if ``corpus`` holds none."""
    if not edf_files(corpus):
        from brainbrr.synthetic import make_corpus

        print(f"generating the corpus in {corpus} ...", flush=True)
        make_corpus(corpus, n_patients=patients, sessions=1, recordings_per_session=2, duration_s=duration, seed=0)
    files = edf_files(corpus)
    mb = sum(f.stat().st_size for f in files) / 1e6
    if mb < min_mb:
        sys.exit(f"{corpus}: {mb:.0f} MB of EDF, fewer than {min_mb:.0f}; delete it or raise --patients/--duration")
    return files


def run_old(corpus: Path, npz_dir: Path) -> None:
    """The old pipeline, in this process (the measured child)."""
    sys.path.insert(0, str(REPO))
    from tests.old_pipeline import build_npz_cache

    build_npz_cache(edf_files(corpus), npz_dir)


def largest_recording_bytes(store: Path) -> tuple[int, int, str]:
    """Jobs-independent memory unit: the largest recording decoded, 19 x n_in x 8 bytes (f64)."""
    import zarr

    g = zarr.open_group(store, mode="r")
    best = (0, 0, "")
    for rid in g["index/recordings/rid"][:]:
        meta = g[f"recordings/{rid}"].attrs["brainbrr_recording"]
        size = N_CHANNELS * meta["n_in"] * 8
        best = max(best, (size, meta["n_in"], f"{meta['source']} ({meta['fs_in']:g} Hz)"))
    return best


def check_same_work(store: Path, npz_dir: Path) -> tuple[int, float]:
    """Windows and labels of both caches agree; the max abs signal difference.

    Parity proper is ``tests/test_parity.py``; this checks that both sides did
    the same work on this corpus.
    """
    import numpy as np
    import zarr

    g = zarr.open_group(store, mode="r")
    rec = {name: g[f"index/recordings/{name}"][:] for name in ("rid", "path", "n_windows", "window_offset")}
    win_start, win_label = g["index/windows/start"][:], g["index/windows/label"][:]
    n_windows, worst = 0, 0.0
    for rid, path, count, offset in zip(*rec.values(), strict=True):
        with np.load(npz_dir / f"{Path(str(path)).stem}.npz") as npz:
            windows, labels = npz["windows"], npz["labels"]
        assert windows.shape[0] == count, (path, windows.shape, count)
        np.testing.assert_array_equal(labels, win_label[offset : offset + count], err_msg=str(path))
        signal = g[f"recordings/{rid}/signal"][:]
        for k, start in enumerate(win_start[offset : offset + count]):
            worst = max(worst, float(np.abs(windows[k] - signal[:, start : start + windows.shape[2]]).max()))
        n_windows += count
    return n_windows, worst


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = names[0] if names else cpu
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus", help="corpus cache folder (generated once)")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "ingest", help="where the npz cache and the store go")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS-ingest.md", help="results file")
    p.add_argument("--patients", type=int, default=12, help="patients in a generated corpus (2 recordings each)")
    p.add_argument("--duration", type=int, nargs=2, default=(300, 900), metavar=("LO", "HI"), help="recording lengths, s")
    p.add_argument("--min-mb", type=float, default=200.0, help="refuse a corpus smaller than this")
    p.add_argument("--repeat", type=int, default=5, help="runs of each brainbrr-ingest configuration (median reported)")
    p.add_argument("--run-old", type=Path, metavar="NPZ_DIR", help=argparse.SUPPRESS)  # the measured old-pipeline child
    args = p.parse_args()
    if args.run_old:
        run_old(args.corpus, args.run_old)
        return

    files = ensure_corpus(args.corpus, args.patients, tuple(args.duration), args.min_mb)
    edf_bytes = sum(f.stat().st_size for f in files)
    npz_dir, store = args.work / "npz", args.work / "cache.zarr"
    shutil.rmtree(npz_dir, ignore_errors=True)
    ingest_exe = shutil.which("brainbrr-ingest", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if ingest_exe is None:
        sys.exit("brainbrr-ingest not found: pip install -e .")
    jobs = os.cpu_count() or 1

    def ingest_cmd(out: Path, *extra: str) -> list[str]:
        return [ingest_exe, str(args.corpus / "edf"), "--out", str(out), "--overwrite", "--json", *extra]

    load_before = os.getloadavg()[0]

    print(f"{len(files)} EDF files, {edf_bytes / 1e6:.0f} MB; old pipeline (one process) ...", flush=True)
    old = measure([sys.executable, str(Path(__file__).resolve()), "--corpus", str(args.corpus), "--run-old", str(npz_dir)])
    print(f"  {old.wall_s:.1f} s; brainbrr-ingest ...", flush=True)
    # The old side runs once (a minute); the new side is short enough for a
    # median, which a shared, noisy machine needs.
    news = [measure(ingest_cmd(store)) for _ in range(args.repeat)]
    new = median_run(news)
    summary = json.loads(new.stdout)
    print(f"  {new.wall_s:.2f} s (median of {len(news)})", flush=True)
    if summary["failed"] or summary["skipped"] or summary["recordings"] != len(files):
        sys.exit(f"brainbrr-ingest did not ingest every file: {summary}")
    # The same ingest on one job, to show that memory follows jobs, not the corpus.
    one_job = median_run([measure(ingest_cmd(args.work / "cache-1job.zarr", "--jobs", "1")) for _ in range(args.repeat)])
    baseline = measure([ingest_exe, "--help"])  # interpreter + extension, before any recording
    n_windows, worst = check_same_work(store, npz_dir)
    largest, largest_n, largest_name = largest_recording_bytes(store)
    npz_disk, npz_apparent = disk_bytes(npz_dir)
    store_disk, store_apparent = disk_bytes(store)

    mb = 1e6
    rows = [
        ("wall time", f"{old.wall_s:.1f} s", f"{new.wall_s:.2f} s", old.wall_s / new.wall_s),
        ("CPU time (user + system)", f"{old.cpu_s:.1f} s", f"{new.cpu_s:.2f} s", old.cpu_s / new.cpu_s),
        ("EDF MB/s", f"{edf_bytes / mb / old.wall_s:.1f}", f"{edf_bytes / mb / new.wall_s:.1f}", old.wall_s / new.wall_s),
        ("peak RSS", f"{old.peak_rss / mb:.0f} MB", f"{new.peak_rss / mb:.0f} MB", old.peak_rss / new.peak_rss),
        ("bytes on disk (allocated)", f"{npz_disk / mb:.0f} MB", f"{store_disk / mb:.0f} MB", npz_disk / store_disk),
        ("bytes (apparent size)", f"{npz_apparent / mb:.0f} MB", f"{store_apparent / mb:.0f} MB", npz_apparent / store_apparent),
    ]
    table = "\n".join(
        ["| | old pipeline (npz) | brainbrr-ingest | old / brainbrr |", "|---|---|---|---|"]
        + [f"| {name} | {a} | {b} | {ratio:.1f}x |" for name, a, b, ratio in rows]
    )
    bound = jobs * largest
    over_baseline = new.peak_rss - baseline.peak_rss
    speed_ok, size_ok, rss_ok = old.wall_s / new.wall_s >= 50, store_disk * 4 <= npz_disk, over_baseline <= bound
    memory = "\n".join(
        [
            "| brainbrr-ingest | wall time | peak RSS | above baseline | jobs x largest | above baseline / (jobs x largest) |",
            "|---|---|---|---|---|---|",
        ]
        + [
            f"| `--jobs {j}` | {r.wall_s:.2f} s | {r.peak_rss / mb:.0f} MB | {(r.peak_rss - baseline.peak_rss) / mb:.0f} MB "
            f"| {j * largest / mb:.1f} MB | {(r.peak_rss - baseline.peak_rss) / (j * largest):.2f} |"
            for j, r in ((jobs, new), (1, one_job))
        ]
    )
    command = shlex.join(["python", "bench/bench_ingest.py", *sys.argv[1:]])
    report = f"""# Corpus ingest: the old npz pipeline vs brainbrr-ingest

Command (from the repository root, extension built with `pip install -e .`):

    {command}

Date: {dt.date.today().isoformat()}. Machine: {machine()}; Python {platform.python_version()},
numpy {version("numpy")}, scipy {version("scipy")}, MNE {version("mne")}, brainbrr {version("brainbrr")}.
The old side runs once; brainbrr-ingest {args.repeat} times per configuration, the run of
median wall time reported (all wall times: {", ".join(f"{r.wall_s:.2f}" for r in news)} s).
Each run in its own subprocess (wall time from the parent,
peak RSS from {"`/usr/bin/time -v`" if TIME.exists() else "the child's rusage"}), page cache warm for both, dirty pages flushed (`os.sync()`) before each.
Load average (1 min) before the run: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}
(other work on the machine inflates both sides' wall times; CPU time, from the
child's rusage, is less sensitive to it).

Corpus: {len(files)} TUSZ-like EDF files (`brainbrr.synthetic.make_corpus`, {args.patients} patients,
{args.duration[0]}-{args.duration[1]} s, 250/256/400/512 Hz, REF and LE, FZ/PZ missing in some),
{edf_bytes / mb:.0f} MB of EDF, {n_windows} windows of 60 s every 10 s.

- old pipeline: `tests/old_pipeline.py` `build_npz_cache`, one process, file after file
  (MNE read, FZ/PZ interpolation, scipy resample, butter + notch with lfilter, z-score,
  every window materialised, one `np.savez_compressed` per EDF);
- brainbrr: `brainbrr-ingest {args.corpus}/edf --out STORE --overwrite --json`, default
  `--jobs` ({jobs} = all cores), uncompressed float32 store.

{table}

Targets (issue 4): at least 50x faster: **{"met" if speed_ok else "not met"}** ({old.wall_s / new.wall_s:.1f}x);
store at most 1/4 of the npz cache: **{"met" if size_ok else "not met"}** (1/{npz_disk / store_disk:.1f});
peak RSS bounded by jobs x the largest recording: **{"met" if rss_ok else "not met"}** (below).

## Memory is bounded
Largest recording: {largest_name}, {largest_n} input samples per channel;
decoded, 19 x n_in x 8 bytes (f64) = {largest / mb:.1f} MB. A worker holds the
recording's raw samples (2 bytes each) and 4 channels at a time in f64, never
the decoded recording; the peak RSS also counts mapped EDF pages.
Baseline: `brainbrr-ingest --help` (interpreter and extension loaded, no recording):
{baseline.peak_rss / mb:.0f} MB peak RSS, {baseline.wall_s:.2f} s.

{memory}

## Same work, same numbers
Both caches hold the same windows: window counts and window labels equal for
every recording, and the largest absolute difference between an npz window and
the same window of the store is {worst:.2g} (z-scored units). Old-pipeline parity
proper is what `pytest tests/test_parity.py` shows: brainbrr's stored signals
equal `tests/old_pipeline.py` within 1e-4 at 250, 256, 400 and 512 Hz, REF and
LE, FZ/PZ interpolated, and the stored labels equal the old `.csv_bi` labels.
"""
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
