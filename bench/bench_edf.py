"""EDF decode throughput: brainbrr against pyedflib, edfio and MNE on the same files.

Every reader decodes every data signal of a TUSZ-like file (31 EEG-like
signals at 250 Hz plus IBI/BURSTS/SUPPR at 1 Hz, 16-bit, 1 s records) to
physical values; the figure is MB of EDF per second, median of ``--repeat``
runs with the page cache warm, and the ratio to brainbrr's float64 path.

    python bench/bench_edf.py [--minutes 60] [--repeat 5] [--out bench/RESULTS-edf.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import edfio
import mne
import numpy as np
import pyedflib

import brainbrr

EEG = [f"EEG {c}-REF" for c in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()]
EXTRA = ["EEG EKG1-REF", "EEG ROC-REF", "EEG LOC-REF", "EEG T1-REF", "EEG T2-REF", "EMG-REF"]
EXTRA += [f"EEG {n}-REF" for n in (26, 27, 28, 29)]
SLOW = ["IBI", "BURSTS", "SUPPR"]


def write_tusz_like(path: Path, minutes: float, fs: int = 250, seed: int = 0) -> None:
    """A TUSZ-like EDF written by pyedflib (an independent writer)."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60)
    labels = EEG + EXTRA + SLOW
    headers, data = [], []
    for label in labels:
        rate = 1 if label in SLOW else fs
        x = np.cumsum(rng.standard_normal(n * rate)) * 2.0
        x = np.clip(x - x.mean(), -4999.0, 4999.0)
        headers.append(
            {"label": label, "dimension": "uV", "sample_frequency": rate, "physical_max": 4999.84,
             "physical_min": -4999.84, "digital_max": 32767, "digital_min": -32767, "prefilter": "HP:0.000 Hz LP:0.0 Hz N:0.0"}
        )
        data.append(x)
    with pyedflib.EdfWriter(str(path), len(labels), file_type=pyedflib.FILETYPE_EDF) as w:
        w.setSignalHeaders(headers)
        w.writeSamples(data)


# Each reader returns every signal as an array, all alive at once, as a user holds them.
def brainbrr_f64(path: Path) -> list[np.ndarray]:
    return brainbrr.read_edf(path).signals()


def brainbrr_f32(path: Path) -> list[np.ndarray]:
    return brainbrr.read_edf(path).signals(dtype=np.float32)


def pyedflib_f64(path: Path) -> list[np.ndarray]:
    with pyedflib.EdfReader(str(path)) as r:
        return [r.readSignal(i) for i in range(r.signals_in_file)]


def edfio_f64(path: Path) -> list[np.ndarray]:
    return [s.data for s in edfio.read_edf(path).signals]


def mne_f64(path: Path) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    return [raw.get_data()]


READERS = {
    "brainbrr float64": brainbrr_f64,
    "brainbrr float32": brainbrr_f32,
    "pyedflib float64": pyedflib_f64,
    "edfio float64": edfio_f64,
    "MNE read_raw_edf(preload=True)": mne_f64,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the test recording")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, help="write a Markdown report here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tusz_like.edf"
        write_tusz_like(path, args.minutes)
        mb = path.stat().st_size / 1e6
        path.read_bytes()  # warm the page cache
        rows = []
        for name, read in READERS.items():
            read(path)  # warm-up
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                signals = read(path)
                times.append(time.perf_counter() - t)
                del signals
            rows.append((name, statistics.median(times)))
    base = rows[0][1]
    lines = [
        f"# EDF decode throughput ({dt.date.today()}, {platform.machine()}, {platform.python_version()})",
        "",
        f"File: TUSZ-like EDF, {args.minutes:g} min, {len(EEG + EXTRA)} signals at 250 Hz + {len(SLOW)} at 1 Hz, {mb:.1f} MB.",
        f"Median of {args.repeat} runs, page cache warm, one thread each.",
        "Command: `python bench/bench_edf.py " + f"--minutes {args.minutes:g} --repeat {args.repeat}`",
        "",
        "| reader | median s | MB/s | brainbrr float64 is faster by |",
        "|---|---|---|---|",
    ]
    for name, t in rows:
        lines.append(f"| {name} | {t:.4f} | {mb / t:.0f} | {t / base:.1f}x |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
