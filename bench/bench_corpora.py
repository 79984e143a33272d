"""Ingest speed per corpus: TUSZ beside CHB-MIT, Siena, SeizeIT1 and SzCORE's BIDS.

Each corpus is written in its native layout (its channel labels, rate and
annotation files, as ``tests/corpora.py`` describes them) to about ``--mb`` MB
of EDF, then ingested by ``brainbrr-ingest`` in a subprocess, ``--runs`` times
(``--overwrite``); the table gives the median wall time and MB of EDF per
second. CHB-MIT and the bipolar BIDS subject go through the recorded-pairs
path of the TCP montage, so every corpus is also ingested with ``--montage
tcp`` for a like-for-like row; Siena's 512 Hz and 38 labels are read as they are.

    python bench/bench_corpora.py [--mb 150] [--runs 3] [--out bench/RESULTS-corpora.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brainbrr._native import write_edf  # noqa: E402
from brainbrr.synthetic import make_corpus  # noqa: E402
from tests.corpora import BIDS_AVG, CHBMIT_CHANNELS, SEIZEIT_CHANNELS, SIENA_CHANNELS  # noqa: E402

#: Seconds per generated recording (the real files: CHB-MIT 1 h, Siena ~2 h, SeizeIT ~1 h).
DURATION_S = 600
START = dt.datetime(2016, 1, 1, 10, 0, 0)


def edf(path: Path, labels: tuple[str, ...], fs: float, seed: int) -> int:
    """One recording of noise and a 10 Hz rhythm; its bytes."""
    rng = np.random.default_rng(seed)
    n = int(fs * DURATION_S)
    t = np.arange(n) / fs
    signals = [10 * rng.standard_normal(n) + 20 * np.sin(2 * np.pi * 10 * t) for _ in labels]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_edf(path, signals, [fs] * len(labels), list(labels), start=START)
    return path.stat().st_size


def clock(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).strftime("%H.%M.%S")


def chbmit(root: Path, i: int) -> int:
    name = f"chb01_{i + 1:02d}.edf"
    size = edf(root / "chb01" / name, CHBMIT_CHANNELS, 256.0, i)
    with (root / "chb01" / "chb01-summary.txt").open("a") as f:
        f.write(f"File Name: {name}\nFile Start Time: 10:00:00\nFile End Time: 10:10:00\n"
                "Number of Seizures in File: 1\nSeizure Start Time: 100 seconds\nSeizure End Time: 160 seconds\n\n")
    return size


def siena(root: Path, i: int) -> int:
    name = f"PN00-{i + 1}.edf"
    size = edf(root / "PN00" / name, SIENA_CHANNELS, 512.0, i)
    if i == 0:
        (root / "subject_info.csv").write_text("patient_id, age_years, gender, seizure\nPN00,55,Male,IAS\n")
    with (root / "PN00" / "Seizures-list-PN00.txt").open("a") as f:
        f.write(f"Seizure n {i + 1}\nFile name: {name}\nRegistration start time: {clock(0)}\n"
                f"Registration end time: {clock(DURATION_S)}\nSeizure start time: {clock(100)}\n"
                f"Seizure end time: {clock(160)}\n\n")
    return size


def seizeit(root: Path, i: int) -> int:
    stem = f"P_ID01_r{i + 1}"
    size = edf(root / "P_ID01" / f"{stem}.edf", SEIZEIT_CHANNELS, 250.0, i)
    (root / "P_ID01" / f"{stem}_a1.tsv").write_text("# SeizeIT1\n100\t160\tFIA\tHem:L\n")
    return size


def bids(root: Path, i: int) -> int:
    stem = f"sub-01_ses-01_task-szMonitoring_run-{i:02d}"
    size = edf(root / "sub-01" / "ses-01" / "eeg" / f"{stem}_eeg.edf", BIDS_AVG, 256.0, i)
    (root / "sub-01" / "ses-01" / "eeg" / f"{stem}_events.tsv").write_text(
        "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"
        f"100.00\t60.00\tsz_foc_ia\tn/a\tn/a\t2016-01-01 10:00:00\t{DURATION_S:.2f}\n"
    )
    return size


WRITERS: dict[str, Callable[[Path, int], int]] = {"chbmit": chbmit, "siena": siena, "seizeit": seizeit, "bids": bids}


def write(name: str, root: Path, mb: float) -> int:
    """The corpus ``name`` under ``root``, about ``mb`` MB of EDF, written once; its EDF bytes."""
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        if name == "tusz":
            make_corpus(root, n_patients=max(2, int(mb / 12)), duration_s=(DURATION_S, DURATION_S))
        else:
            total, i = 0, 0
            while total < mb * 1e6:
                total += WRITERS[name](root, i)
                i += 1
        done.touch()
    return sum(p.stat().st_size for p in root.rglob("*") if p.suffix.lower() == ".edf")


def ingest_s(source: Path, out: Path, montage: str | None) -> float:
    cmd = [str(Path(sys.executable).with_name("brainbrr-ingest")), str(source), "--out", str(out), "--overwrite"]
    if montage:
        cmd += ["--montage", montage]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=150.0, help="MB of EDF per corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpora", type=Path, default=REPO / "bench" / "out" / "corpora")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS-corpora.md")
    args = ap.parse_args()
    rows = []
    for name in ("tusz", "chbmit", "siena", "seizeit", "bids"):
        source = args.corpora / name
        size = write(name, source, args.mb)
        for montage in ([None, "tcp"] if name != "chbmit" else ["tcp"]):
            store = args.corpora / f"{name}-{montage or 'ref'}.zarr"
            walls = [ingest_s(source, store, montage) for _ in range(args.runs)]
            wall = statistics.median(walls)
            rows.append((name, montage or "referential", size / 1e6, wall, size / 1e6 / wall))
            print(f"{name:8} {montage or 'referential':12} {size / 1e6:7.1f} MB {wall:6.2f} s {size / 1e6 / wall:7.1f} MB/s", flush=True)
            shutil.rmtree(store, ignore_errors=True)
    lines = [
        "# Ingest speed per corpus",
        "",
        f"`python bench/bench_corpora.py --mb {args.mb:g} --runs {args.runs}` on {platform.node()} "
        f"({os.cpu_count()} cores), {dt.date.today()}: median of {args.runs} runs of `brainbrr-ingest` "
        f"(all cores, 256 Hz output), {DURATION_S // 60}-minute recordings in each corpus's native layout.",
        "",
        "| corpus | montage | EDF MB | wall s (median) | MB/s |",
        "|---|---|---:|---:|---:|",
        *(f"| {n} | {m} | {mb:.1f} | {w:.2f} | {r:.1f} |" for n, m, mb, w, r in rows),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
