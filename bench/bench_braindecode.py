"""brainbrr's ingest against braindecode's preprocessing, on the same EDF files.

Both sides start from the same TUSZ-like EDF corpus (``brainbrr.synthetic.make_corpus``,
generated once into ``--corpus`` and reused, as ``bench_ingest.py`` does) and end
with a preprocessed, windowed dataset on disk:

- brainbrr: ``brainbrr.ingest.ingest(corpus, store, n_jobs=2)`` with the default
  config (19-channel referential montage, FZ/PZ interpolated where missing, FFT
  resample to 256 Hz, causal Butterworth 3 0.5-120 Hz + 60 Hz notch, per-channel
  z-score, 60 s windows every 10 s, float32 Zarr store);
- braindecode: what its user writes for the same result: ``mne.io.read_raw_edf``
  (preload) per file, ``RawDataset`` (``BaseDataset``'s current name) with a
  description, ``BaseConcatDataset``, ``preprocess(..., n_jobs=2)`` with
  ``Preprocessor`` steps (channel names, FZ/PZ interpolation, pick the 19,
  resample 256 Hz, filter 0.5-120 Hz, notch 60 Hz, z-score per channel),
  ``create_fixed_length_windows`` (15360 samples every 2560) and the windows
  dataset's ``save``.

Each side runs in its own subprocess, the sides alternating, ``--repeats`` times
(medians reported), each into a fresh output folder, page cache warm (the
corpus is read once before). The child times its own work (after its imports);
the parent samples the memory of the child's process tree.

    python bench/bench_braindecode.py [--corpus DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Only the standard library at module level (bench_ingest keeps to it too): each
# measured child imports what its side needs and nothing of the other's.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import REPO, edf_files, ensure_corpus, machine  # noqa: E402  (the shared corpus and machine line)

FS = 256
WINDOW, STRIDE = 60 * FS, 10 * FS
SIDES = ("brainbrr", "braindecode")
EPS_UV = 1e-8  # brainbrr's z-score eps (microvolts); MNE holds volts, so the braindecode side uses none


# ---------------------------------------------------------------------------
# The braindecode side's preprocessing functions. Module level, so that joblib
# can ship them to its workers and braindecode can record them by name.

CHANNELS = ("FP1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "FZ", "CZ", "PZ", "FP2", "F4", "C4", "P4", "F8", "T4", "T6", "O2")
INTERPOLATED = ("FZ", "PZ")
ALIASES = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
# MNE matches montage names case-sensitively (Fp1, Fz): the 19 in MNE's spelling.
MNE_CHANNELS = ("Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "F8", "T4", "T6", "O2")
MONTAGE = "colin27_1020"  # MNE 1.13's name of standard_1020 (same positions, no deprecation warning)


def clean_name(label: str) -> str:
    """``"EEG FP1-LE"`` -> ``"Fp1"``: upper case, no ``EEG `` prefix or ``-REF``/``-LE``/``-AR``
    suffix, T7/T8/P7/P8 read as T3/T4/T5/T6, the 19 in MNE's spelling."""
    name = label.strip().upper().removeprefix("EEG ")
    for suffix in ("-REF", "-LE", "-AR"):
        name = name.removesuffix(suffix)
    name = ALIASES.get(name.strip(), name.strip())
    return MNE_CHANNELS[CHANNELS.index(name)] if name in CHANNELS else name


def standard_channels(raw: Any) -> Any:
    """Rename the EDF labels to 10-20 names; add a missing FZ/PZ as a flat, bad channel.

    The bad channels are interpolated from their neighbours by the
    ``interpolate_bads`` step once the montage is set (as brainbrr interpolates
    FZ/PZ); any other of the 19 missing raises at the ``pick`` step.
    """
    import mne
    import numpy as np

    raw.rename_channels({label: clean_name(label) for label in raw.ch_names})
    missing = [MNE_CHANNELS[CHANNELS.index(c)] for c in INTERPOLATED if MNE_CHANNELS[CHANNELS.index(c)] not in raw.ch_names]
    if missing:
        flat = mne.io.RawArray(np.zeros((len(missing), raw.n_times)), mne.create_info(missing, raw.info["sfreq"], "eeg"), verbose=False)
        raw.add_channels([flat], force_update_info=True)
        raw.info["bads"] = missing
    return raw


def zscore(x: Any) -> Any:
    """``(x - mean) / std`` of each channel (row) over the whole recording."""
    return (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)


def braindecode_preprocessors(iir: bool) -> list[Any]:
    from braindecode.preprocessing import Preprocessor

    if iir:  # causal Butterworth 3, as brainbrr filters (the notch stays MNE's)
        band = {"method": "iir", "iir_params": {"order": 3, "ftype": "butter", "output": "sos"}, "phase": "forward"}
        notch = {"method": "iir", "phase": "forward"}
    else:  # MNE's defaults: zero-phase FIR (firwin, Hamming), what a user gets
        band, notch = {}, {}
    return [
        Preprocessor(standard_channels, apply_on_array=False),
        Preprocessor("pick", apply_on_array=False, picks=list(MNE_CHANNELS)),  # in this order
        Preprocessor("set_montage", apply_on_array=False, montage=MONTAGE),
        Preprocessor("interpolate_bads", apply_on_array=False, reset_bads=True),
        Preprocessor("resample", apply_on_array=False, sfreq=FS),
        Preprocessor("filter", apply_on_array=False, l_freq=0.5, h_freq=120.0, **band),
        Preprocessor("notch_filter", apply_on_array=False, freqs=[60.0], **notch),
        Preprocessor(zscore),  # on the array: raw.apply_function(zscore), all channels at once
    ]


# ---------------------------------------------------------------------------
# The measured children.


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_brainbrr(corpus: Path, out: Path, jobs: int) -> dict[str, Any]:
    from brainbrr.ingest import ingest

    t0, c0 = time.perf_counter(), cpu_seconds()
    summary = ingest(corpus / "edf", out, n_jobs=jobs)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    d = summary.to_dict()
    if d["failed"] or d["skipped"]:
        sys.exit(f"brainbrr did not ingest every file: {d}")
    return {"wall_s": wall, "cpu_s": cpu, "recordings": d["recordings"], "windows": d["windows"]}


def run_braindecode(corpus: Path, out: Path, jobs: int, iir: bool, window_jobs: int) -> dict[str, Any]:
    # MNE's log level from the environment, which joblib's workers inherit
    # (mne.set_log_level here would quiet this process only).
    os.environ["MNE_LOGGING_LEVEL"] = "ERROR"
    import mne
    import pandas as pd
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import create_fixed_length_windows, preprocess
    from joblib.externals.loky import get_reusable_executor

    mne.set_log_level("ERROR")
    preprocessors = braindecode_preprocessors(iir)
    t0, c0 = time.perf_counter(), cpu_seconds()
    datasets = []
    for path in edf_files(corpus):
        raw = mne.io.read_raw_edf(path, preload=True)
        rel = path.relative_to(corpus / "edf")
        split, subject, session, montage = rel.parts[:4]
        description = {"path": rel.as_posix(), "split": split, "subject": subject, "session": session, "montage": montage}
        datasets.append(RawDataset(raw, description=pd.Series(description)))
    concat = BaseConcatDataset(datasets)
    t_read = time.perf_counter() - t0
    # max_nbytes=None: no memory-mapping of the arrays shipped to the workers,
    # which MNE's add_channels (the FZ/PZ step) cannot resize; braindecode's
    # own advice for preprocessors that resize the data.
    preprocess(concat, preprocessors, n_jobs=jobs, max_nbytes=None)
    t_pre = time.perf_counter() - t0
    windows = create_fixed_length_windows(
        concat,
        window_size_samples=WINDOW,
        window_stride_samples=STRIDE,
        on_last_window="drop",
        preload=False,
        n_jobs=window_jobs,
    )
    t_win = time.perf_counter() - t0
    windows.save(str(out), overwrite=True)
    wall = time.perf_counter() - t0
    # Reap joblib's workers, so that their CPU time counts (RUSAGE_CHILDREN).
    get_reusable_executor().shutdown(wait=True)
    cpu = cpu_seconds() - c0
    n_windows = sum(len(ds) for ds in windows.datasets)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "recordings": len(windows.datasets),
        "windows": n_windows,
        "stages": {"read": t_read, "preprocess": t_pre - t_read, "windows": t_win - t_pre, "save": wall - t_win},
    }


def child(side: str, corpus: Path, out: Path, jobs: int, iir: bool, window_jobs: int) -> None:
    sys.path.insert(0, str(REPO))
    from tests.memory import peak_rss

    result = run_brainbrr(corpus, out, jobs) if side == "brainbrr" else run_braindecode(corpus, out, jobs, iir, window_jobs)
    result["vmhwm"] = peak_rss()
    print(json.dumps(result))


# ---------------------------------------------------------------------------
# The parent.


@dataclass(frozen=True)
class Run:
    side: str
    wall_s: float  # the child's own timing of its work (after imports)
    process_s: float  # the child process, start to exit, from the parent
    cpu_s: float  # the work's CPU time, the child and its reaped workers
    vmhwm: int  # peak RSS of the child's main process (tests/memory.py)
    tree_peak: int  # peak of the summed PSS of the child's process tree, sampled
    result: dict[str, Any]


def _pss(pid: int) -> int:
    """Proportional set size of a process (shared pages split between their users), bytes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc's parent links)."""
    parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parent.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parent.get(p, []))
    return out


def measure(side: str, args: argparse.Namespace, out: Path) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    os.sync()  # no pending writeback from the previous run
    cmd = [sys.executable, str(Path(__file__).resolve()), "--corpus", str(args.corpus), "--jobs", str(args.jobs), "--child", side, str(out)]
    cmd += ["--window-jobs", str(args.window_jobs), *(["--iir"] if args.iir else [])]
    peak = 0
    done = threading.Event()

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.1):
            peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    process_s = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return Run(side, result["wall_s"], process_s, result["cpu_s"], result["vmhwm"], peak, result)


def disk_bytes(root: Path) -> tuple[int, int, int]:
    """Allocated bytes (as ``du``), apparent bytes and the number of files under ``root``."""
    allocated = apparent = files = 0
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            allocated += st.st_blocks * 512
            apparent += st.st_size
            files += 1
    return allocated, apparent, files


def describe(corpus: Path, files: list[Path]) -> dict[str, Any]:
    """Patients, shortest and longest recording (s), rates and hours, from the paths and EDF headers."""
    durations, rates = [], set()
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(256)
            records, record_s = int(head[236:244]), float(head[244:252])
            ns = int(head[252:256])
            fh.seek(256 + ns * 216)
            samples = int(fh.read(8))  # the first signal's samples per record: an EEG channel
        durations.append(records * record_s)
        rates.add(samples / record_s)
    patients = {f.relative_to(corpus / "edf").parts[1] for f in files}
    return {"patients": len(patients), "lo": min(durations), "hi": max(durations), "rates": sorted(rates), "hours": sum(durations) / 3600}


def warm(files: list[Path]) -> None:
    """Read every file once, so that both sides find the corpus in the page cache."""
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
        for sidecar in (f.with_suffix(".csv_bi"), f.with_suffix(".csv")):
            if sidecar.exists():
                sidecar.read_bytes()


def compare(store: Path, windows_dir: Path) -> dict[str, Any]:
    """Window counts per recording, and how close the two preprocessed signals are.

    The braindecode dataset is loaded back with ``load_concat_dataset`` (which
    also checks that it loads); the signals are compared as stored (float32,
    z-scored), leaving out the first and last 10 s, where the zero-phase FIR's
    edge effects and the causal IIR's start-up differ most.
    """
    import numpy as np
    import zarr
    from braindecode.datautil.serialization import load_concat_dataset

    g = zarr.open_group(store, mode="r")
    rec = {name: g[f"index/recordings/{name}"][:] for name in ("rid", "path", "n_windows")}
    by_path = {str(p): (str(r), int(n)) for r, p, n in zip(rec["rid"], rec["path"], rec["n_windows"], strict=True)}
    loaded = load_concat_dataset(str(windows_dir), preload=False)
    counts_equal, corrs, diffs, n_samples_equal = True, [], [], True
    for ds in loaded.datasets:
        rid, n_windows = by_path[ds.description["path"]]
        counts_equal &= len(ds) == n_windows
        ours = g[f"recordings/{rid}/signal"][:]
        theirs = ds.raw.get_data().astype(np.float32)
        n_samples_equal &= ours.shape == theirs.shape
        n = min(ours.shape[1], theirs.shape[1])
        a, b = ours[:, 10 * FS : n - 10 * FS].astype(np.float64), theirs[:, 10 * FS : n - 10 * FS].astype(np.float64)
        diffs.append(float(np.abs(a - b).max()))
        corrs.extend(float(np.corrcoef(x, y)[0, 1]) for x, y in zip(a, b, strict=True))
    return {
        "recordings": len(loaded.datasets),
        "counts_equal": counts_equal,
        "shapes_equal": n_samples_equal,
        "corr_median": statistics.median(corrs),
        "corr_min": min(corrs),
        "max_abs_diff": max(diffs),
    }


def extension_build() -> str:
    """Which cargo profile built the installed extension: ``maturin develop`` and
    ``pip install -e .`` copy ``target/<profile>/lib_native.so`` into the package."""
    import filecmp
    import importlib.util

    spec = importlib.util.find_spec("brainbrr._native")
    if spec is None or spec.origin is None:
        return "not found"
    st = os.stat(spec.origin)
    for profile in ("release", "debug"):
        built = REPO / "target" / profile / "lib_native.so"
        if built.exists() and filecmp.cmp(built, spec.origin, shallow=False):
            name = "release" if profile == "release" else "dev profile (target/debug: opt-level 2, debug assertions on)"
            return f"{name}, built {dt.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M}"
    return f"{spec.origin} (a copy of neither target/release nor target/debug), modified {dt.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus", help="corpus cache folder (generated once)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each side (medians reported)")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "braindecode", help="where the outputs go")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS-braindecode.md", help="results file")
    p.add_argument("--patients", type=int, default=12, help="patients in a generated corpus (2 recordings each)")
    p.add_argument("--duration", type=int, nargs=2, default=(300, 900), metavar=("LO", "HI"), help="recording lengths, s")
    p.add_argument("--min-mb", type=float, default=100.0, help="refuse a corpus smaller than this")
    p.add_argument("--jobs", type=int, default=2, help="n_jobs of both sides")
    p.add_argument("--window-jobs", type=int, default=1, help="braindecode side: n_jobs of create_fixed_length_windows")
    p.add_argument("--iir", action="store_true", help="braindecode side: causal Butterworth 3 (IIR) instead of MNE's default FIR")
    p.add_argument("--child", nargs=2, metavar=("SIDE", "OUT"), help=argparse.SUPPRESS)  # a measured child
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.corpus, Path(args.child[1]), args.jobs, args.iir, args.window_jobs)
        return

    started = time.perf_counter()
    files = ensure_corpus(args.corpus, args.patients, tuple(args.duration), args.min_mb)
    edf_bytes = sum(f.stat().st_size for f in files)
    corpus = describe(args.corpus, files)
    warm(files)
    outs = {"brainbrr": args.work / "store.zarr", "braindecode": args.work / "windows"}
    build_before = extension_build()
    load_before = os.getloadavg()[0]
    print(f"{len(files)} EDF files, {edf_bytes / 1e6:.0f} MB; {args.repeats} runs per side, alternating", flush=True)
    runs: dict[str, list[Run]] = {s: [] for s in SIDES}
    for i in range(args.repeats):
        for side in SIDES if i % 2 == 0 else SIDES[::-1]:
            r = measure(side, args, outs[side])
            runs[side].append(r)
            print(f"  {side}: {r.wall_s:.2f} s (process {r.process_s:.2f} s)", flush=True)
    load_after = os.getloadavg()[0]
    build_after = extension_build()
    build = build_before if build_before == build_after else f"{build_before} at the start, then REBUILT: {build_after} at the end"
    windows = {s: runs[s][-1].result["windows"] for s in SIDES}
    check = compare(outs["brainbrr"], outs["braindecode"])
    disk = {s: disk_bytes(outs[s]) for s in SIDES}

    def med(side: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[side])

    mb = 1e6
    wall = {s: med(s, "wall_s") for s in SIDES}
    proc = {s: med(s, "process_s") for s in SIDES}
    cpu = {s: med(s, "cpu_s") for s in SIDES}
    hwm = {s: med(s, "vmhwm") for s in SIDES}
    tree = {s: med(s, "tree_peak") for s in SIDES}
    a, b = SIDES
    rows = [
        ("wall time (work, median)", f"{wall[a]:.2f} s", f"{wall[b]:.1f} s", wall[a] / wall[b]),
        ("EDF MB/s (from the median wall)", f"{edf_bytes / mb / wall[a]:.0f}", f"{edf_bytes / mb / wall[b]:.1f}", wall[b] / wall[a]),
        ("wall time of the process (imports included)", f"{proc[a]:.2f} s", f"{proc[b]:.1f} s", proc[a] / proc[b]),
        ("CPU time (user + system, workers included)", f"{cpu[a]:.2f} s", f"{cpu[b]:.1f} s", cpu[a] / cpu[b]),
        ("peak RSS, main process (VmHWM)", f"{hwm[a] / mb:.0f} MB", f"{hwm[b] / mb:.0f} MB", hwm[a] / hwm[b]),
        ("peak memory, process tree (sum of PSS, sampled)", f"{tree[a] / mb:.0f} MB", f"{tree[b] / mb:.0f} MB", tree[a] / tree[b]),
        ("bytes on disk (allocated)", f"{disk[a][0] / mb:.0f} MB", f"{disk[b][0] / mb:.0f} MB", disk[a][0] / disk[b][0]),
        ("bytes (apparent size)", f"{disk[a][1] / mb:.0f} MB", f"{disk[b][1] / mb:.0f} MB", disk[a][1] / disk[b][1]),
        ("files written", f"{disk[a][2]}", f"{disk[b][2]}", disk[a][2] / disk[b][2]),
    ]
    table = "\n".join(
        ["| | brainbrr | braindecode | brainbrr / braindecode |", "|---|---|---|---|"]
        + [f"| {name} | {x} | {y} | {ratio:.3g} |" for name, x, y, ratio in rows]
    )
    walls = "\n".join(f"- {s}: {', '.join(f'{r.wall_s:.2f}' for r in runs[s])} s" for s in SIDES)
    stages = {k: statistics.median(r.result["stages"][k] for r in runs[b]) for k in ("read", "preprocess", "windows", "save")}
    speedup = wall[b] / wall[a]
    filt = (
        "`filter(l_freq=0.5, h_freq=120, method='iir', iir_params=dict(order=3, ftype='butter', output='sos'), "
        "phase='forward')` (causal Butterworth 3, as brainbrr) and `notch_filter(freqs=[60], method='iir', phase='forward')`"
        if args.iir
        else "`filter(l_freq=0.5, h_freq=120)` and `notch_filter(freqs=[60])`: MNE's defaults, zero-phase FIR (firwin, Hamming "
        "window, transition bands chosen by MNE: 0.5 Hz below 0.5 Hz, 8 Hz above 120 Hz; about 6.6 s of taps)"
    )
    window_jobs_note = (
        ": braindecode's default; with n_jobs=2 it ships every preprocessed recording to the workers and back, "
        "which took 8 s more than the windowing itself on a 15 MB corpus in development"
        if args.window_jobs == 1
        else ""
    )
    command = shlex.join(["python", "bench/bench_braindecode.py", *sys.argv[1:]])
    report = f"""# brainbrr ingest vs braindecode preprocessing, same EDF files

Command (from the repository root, extension built with `pip install -e .`, and `pip install braindecode`):

    {command}

Date: {dt.date.today().isoformat()}. Machine: {machine()}; Python {platform.python_version()},
brainbrr {version("brainbrr")}, braindecode {version("braindecode")}, MNE {version("mne")}, torch {version("torch")},
numpy {version("numpy")}, scipy {version("scipy")}, joblib {version("joblib")}.
brainbrr's extension: {build}.
Load average (1 min) before the runs: {load_before:.2f}, after: {load_after:.2f}
(the "after" figure counts this benchmark's own processes, braindecode's main process and its 2 workers among them;
the machine is shared: other work inflates single runs; the sides alternate, medians are reported).
The whole benchmark took {time.perf_counter() - started:.0f} s.

Corpus: {len(files)} TUSZ-like EDF files (`brainbrr.synthetic.make_corpus`, {corpus["patients"]} patients,
{corpus["lo"]:.0f}-{corpus["hi"]:.0f} s, {"/".join(f"{r:g}" for r in corpus["rates"])} Hz, REF and LE, FZ/PZ missing in some; {corpus["hours"]:.1f} h),
{edf_bytes / mb:.0f} MB of EDF; page cache warm for both (the corpus read once before the runs).
{args.repeats} runs per side, sides alternating, each in its own subprocess writing a fresh output
folder (removed, then `os.sync()`, before each run); n_jobs = {args.jobs} on both sides.

{table}

**brainbrr is {speedup:.1f}x faster** (ratio of median wall times, braindecode / brainbrr;
the table's last column is brainbrr / braindecode throughout, so the throughput row reads {speedup:.1f}).
All wall times (in run order):
{walls}

Where braindecode's time goes (medians): reading the EDFs {stages["read"]:.1f} s, `preprocess` {stages["preprocess"]:.1f} s,
`create_fixed_length_windows` {stages["windows"]:.1f} s, `save` {stages["save"]:.1f} s.

How it was measured: "wall time (work)" is timed by the child around the work alone (after
its imports: brainbrr's extension; braindecode, MNE, torch, pandas), from the first file read to the
last byte written; "of the process" is the child's whole life seen from the parent, imports included.
CPU time is the child's rusage, its own and its reaped children's (joblib's loky workers, shut down
before it is read), less what it had spent before the work. Peak RSS of the main process is the
child's `VmHWM` (`tests/memory.py`'s `peak_rss`): exact, but blind to braindecode's worker processes;
the process-tree figure sums the proportional set size (`/proc/PID/smaps_rollup`, shared pages
split between the processes that map them) of the child and its descendants every 0.1 s, and
keeps the largest sum (a peak shorter than 0.1 s can be missed). Sizes and file counts are of the
last run's outputs.

## What each side does

| step | brainbrr (`brainbrr.ingest.ingest(corpus, store, n_jobs={args.jobs})`) | braindecode |
|---|---|---|
| read | its own EDF decoder, in Rust, {args.jobs} recordings at a time; only the 19 EEG signals are decoded; also reads each `.csv_bi` for the window labels | `mne.io.read_raw_edf(path, preload=True)` file after file in the main process: every signal, EKG/PHOTIC and the 1 Hz IBI/BURSTS/SUPPR (upsampled to the EEG rate) included, as float64 volts; `RawDataset(raw, description=pd.Series(path, split, subject, session, montage))` (`BaseDataset` is its deprecated alias), one `BaseConcatDataset` |
| parallelism | threads in one process | `preprocess(concat_ds, preprocessors, n_jobs={args.jobs}, max_nbytes=None)`: joblib's loky worker processes (each imports braindecode, hence torch); each preloaded recording is pickled to a worker and the result pickled back (`max_nbytes=None`, braindecode's advice for steps that resize the data: with joblib's default memory-mapping MNE's `add_channels`, the FZ/PZ step, fails). `create_fixed_length_windows(..., n_jobs={args.window_jobs})`{window_jobs_note} |
| channels | labels cleaned (`EEG ` prefix, `-REF`/`-LE`/`-AR` suffix, T7/T8/P7/P8 as T3/T4/T5/T6), the 19 picked in order, FZ/PZ interpolated where missing | the same by `Preprocessor` steps: a function `standard_channels` (rename the labels the same way, add a missing FZ/PZ as a flat bad channel), `pick` the 19 in order, `set_montage('{MONTAGE}')` (= `standard_1020`), `interpolate_bads` (MNE's spherical-spline interpolation) |
| resample | FFT resampling to 256 Hz | `resample(sfreq=256)`: MNE's FFT resampling (with its edge padding, `npad='auto'`) |
| filter | causal Butterworth order 3, 0.5-120 Hz, then a causal 60 Hz notch (`iirnotch`, Q 30) | {filt} |
| normalize | per-channel z-score over the recording, `(x - mean) / (std + 1e-8)` in microvolts | `Preprocessor(zscore)` on the array: `(x - mean) / std` per channel (no eps: MNE holds volts, where an eps of 1e-8 would not be negligible) |
| windows | 60 s every 10 s, the last partial window dropped; stored as an index (recording, start, label) over the continuous signal | `create_fixed_length_windows(window_size_samples={WINDOW}, window_stride_samples={STRIDE}, on_last_window='drop', preload=False)`: `EEGWindowsDataset`s, windows as metadata over the continuous raw |
| on disk | one Zarr store: float32 `[19, n]` per recording, uncompressed, the window index and per-sample seizure labels | `windows_ds.save(path, overwrite=True)`: per recording a folder with the continuous raw as `-raw.fif` (MNE's default, single precision: float32), the window metadata, description and the preprocessing kwargs as JSON |

Both end with the same thing: per recording, the 19 channels at 256 Hz, filtered and z-scored, as
float32 on disk, and 60 s windows every 10 s over it. Check on this run's outputs (the braindecode
folder loaded back with `braindecode.datautil.serialization.load_concat_dataset`): {check["recordings"]} recordings;
window counts per recording equal: **{"yes" if check["counts_equal"] else "NO"}** (brainbrr {windows[a]} windows,
braindecode {windows[b]}); signal shapes `[19, n]` equal: **{"yes" if check["shapes_equal"] else "NO"}**.
The signals are close but not equal, since the filters differ: per-channel correlation between
the two (first and last 10 s left out) median {check["corr_median"]:.4f}, lowest {check["corr_min"]:.4f}; largest absolute
difference {check["max_abs_diff"]:.2g} (z-scored units).

## Where they differ

- **Filter.** braindecode (MNE) filters with a zero-phase FIR by default; brainbrr with a causal
  IIR (Butterworth 3 + `iirnotch`), which is the old pipeline's (`tests/old_pipeline.py`). The FIR
  is non-causal and has a different response (flat passband, steeper edges, no phase shift); a
  braindecode user wanting brainbrr's filter passes `method='iir'`, `iir_params`, `phase='forward'`
  (`--iir` here); MNE's IIR notch is not `iirnotch(60, 30)` either.
- **Resampling.** Both resample by FFT, but MNE's `resample` pads the signal first
  (`npad='auto'`, to a fast FFT length), which at a non-integer ratio shifts the output by a
  fraction of a sample that grows along the recording: the 250 and 400 Hz recordings differ in
  their high frequencies (with `--iir`, the per-channel correlation of a 15 MB development corpus was
  0.97-0.98 there, 0.9999 at 256 and 512 Hz; `mne.filter.resample(..., npad=0)` equals
  `scipy.signal.resample`, which brainbrr matches).
- **Labels.** brainbrr also reads the `.csv_bi` annotations and stores a seizure label per sample
  and per window; the braindecode side has no labels (it would need a `.csv_bi` reader and
  `mne.Annotations` of the user's own: braindecode's `TUH` dataset class reads the real corpus's
  layout, not these files), so it does less work here.
- **Reading.** MNE decodes every signal of the EDF (27 here, the 1 Hz ones upsampled) to float64
  before the pick; brainbrr decodes the 19 it keeps. Passing `include=` to `read_raw_edf` would
  save MNE some of that, but is not what the braindecode examples do.
- **Serial part.** braindecode reads the EDFs in the main process before `preprocess` starts the
  workers; brainbrr reads inside its workers.
- **Store.** One Zarr store with a global window index against one folder of FIF + JSON per
  recording; both float32 and uncompressed, so their sizes are close.
- **Not measured:** reading the windows back for training (see `bench_loader.py` and
  `bench_epochs.py` for brainbrr's side).
"""
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
