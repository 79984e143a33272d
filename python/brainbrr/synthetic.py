"""Synthetic TUSZ-like corpora: the built-in demo, test fixtures and benchmark inputs.

The files follow the TUSZ v2 layout: ``edf/<split>/<patient>/<session>/<montage>/``
folders, ``<patient>_sNNN_tNNN.edf`` with ``.csv_bi`` and ``.csv`` beside each,
``EEG FP1-REF`` / ``EEG FP1-LE`` labels plus EKG, PHOTIC and the 1 Hz
IBI/BURSTS/SUPPR signals, 250/256/400/512 Hz, and FZ/PZ missing in some
``03_tcp_ar_a`` files. Seizures are high-amplitude 3 Hz spike-and-wave bursts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainbrr._native import write_edf

__all__ = ["CorpusFile", "make_corpus", "write_recording"]

EEG_19 = ("FP1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "FZ", "CZ", "PZ", "FP2", "F4", "C4", "P4", "F8", "T4", "T6", "O2")
EXTRA = ("A1", "A2", "EKG1", "ROC", "LOC", "T1", "T2")
SLOW = ("IBI", "BURSTS", "SUPPR")
MONTAGES = ("01_tcp_ar", "02_tcp_le", "03_tcp_ar_a")
RATES = (250, 256, 400, 512)
SEIZURE_TYPES = ("fnsz", "gnsz", "cpsz", "absz", "tcsz")


@dataclass(frozen=True)
class CorpusFile:
    """One written recording and the truth it was written with."""

    path: Path
    split: str
    patient: str
    session: str
    montage: str
    fs: int
    duration_s: int
    seizures: tuple[tuple[float, float], ...]
    channels: tuple[str, ...]


def _eeg(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Brown-ish background with an alpha rhythm, microvolts."""
    x = np.cumsum(rng.standard_normal(n)) * 0.8
    x -= np.convolve(x, np.ones(int(fs)) / int(fs), mode="same")  # remove the drift
    t = np.arange(n) / fs
    return x + 15 * np.sin(2 * np.pi * rng.uniform(8, 12) * t + rng.uniform(0, 6.28)) + 3 * rng.standard_normal(n)


def write_recording(
    path: Path,
    *,
    fs: int,
    duration_s: int,
    seizures: tuple[tuple[float, float], ...] = (),
    montage: str = "01_tcp_ar",
    missing: tuple[str, ...] = (),
    seed: int = 0,
    seizure_type: str = "cpsz",
    annotations: bool = True,
) -> tuple[str, ...]:
    """Write one TUSZ-like EDF (and its ``.csv_bi``/``.csv``); return the EEG channels it holds."""
    rng = np.random.default_rng(seed)
    suffix = "-LE" if montage == "02_tcp_le" else "-REF"
    n = fs * duration_s
    t = np.arange(n) / fs
    channels = tuple(c for c in EEG_19 if c not in missing)
    extras = EXTRA[2:] if montage == "03_tcp_ar_a" else EXTRA
    burst = np.zeros(n)
    for start, stop in seizures:
        inside = (t >= start) & (t < stop)
        burst[inside] = 120 * np.sign(np.sin(2 * np.pi * 3 * t[inside])) + 60 * np.sin(2 * np.pi * 3 * t[inside])
    signals, rates, labels = [], [], []
    for c in channels + extras:
        signals.append(_eeg(rng, n, fs) + burst * rng.uniform(0.6, 1.0))
        rates.append(float(fs))
        labels.append(f"EEG {c}{suffix}")
    signals.append(rng.standard_normal(n) * 5)
    rates.append(float(fs))
    labels.append(f"PHOTIC{suffix}")
    for c in SLOW:
        signals.append(rng.uniform(0, 1, duration_s))
        rates.append(1.0)
        labels.append(c)
    patient = path.stem.split("_")[0]
    write_edf(
        path,
        signals,
        rates,
        labels,
        patient=f"{patient} M 01-JAN-1987 {patient} Age:26",
        recording="Startdate 01-JAN-2010 X X X",
        start=dt.datetime(2010, 1, 1, 10, 0, 0),
    )
    if annotations:
        _write_csv(path, duration_s, seizures, seizure_type)
    return channels


def _write_csv(path: Path, duration_s: int, seizures: tuple[tuple[float, float], ...], seizure_type: str) -> None:
    head = f"# version = csv_v1.0.0\n# bname = {path.stem}\n# duration = {duration_s:.4f} secs\n"
    head += "# montage_file = $NEDC_NFC/lib/nedc_eas_default_montage.txt\n#\n"
    head += "channel,start_time,stop_time,label,confidence\n"
    edges = [0.0, *[x for s in seizures for x in s], float(duration_s)]
    term_rows, chan_rows = [], []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if b <= a:
            continue
        seiz = i % 2 == 1
        term_rows.append(f"TERM,{a:.4f},{b:.4f},{'seiz' if seiz else 'bckg'},1.0000\n")
        for ch in ("FP1-F7", "F7-T3", "T3-T5"):
            chan_rows.append(f"{ch},{a:.4f},{b:.4f},{seizure_type if seiz else 'bckg'},1.0000\n")
    path.with_suffix(".csv_bi").write_text(head + "".join(term_rows))
    path.with_suffix(".csv").write_text(head + "".join(chan_rows))


def make_corpus(
    root: str | Path,
    *,
    n_patients: int = 6,
    sessions: int = 1,
    recordings_per_session: int = 2,
    duration_s: tuple[int, int] = (120, 300),
    seed: int = 0,
) -> list[CorpusFile]:
    """Write a TUSZ-layout corpus under ``root/edf`` and return what was written.

    Patients are spread over train/dev/eval (one split per patient), montage
    folders, sample rates and durations; about half the recordings carry a
    seizure; every other ``03_tcp_ar_a`` recording lacks FZ, PZ or both.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    out: list[CorpusFile] = []
    splits = ("train", "dev", "eval")
    k = n_ar_a = 0
    for p in range(n_patients):
        patient = "aaaa" + "".join(chr(ord("a") + int(d)) for d in f"{p:04d}")
        split = splits[p % 3]
        for s in range(sessions):
            session = f"s{s + 1:03d}_{2010 + s}"
            montage = MONTAGES[(p + s) % 3]
            for r in range(recordings_per_session):
                fs = RATES[k % len(RATES)]
                dur = int(rng.integers(duration_s[0], duration_s[1] + 1))
                seizures: tuple[tuple[float, float], ...] = ()
                if k % 2 == 1 and dur > 60:
                    a = float(rng.uniform(10, dur - 50))
                    seizures = ((round(a, 4), round(a + float(rng.uniform(15, 40)), 4)),)
                missing: tuple[str, ...] = ()
                if montage == "03_tcp_ar_a":
                    missing = ((), ("FZ",), (), ("PZ",), (), ("FZ", "PZ"))[n_ar_a % 6]
                    n_ar_a += 1
                folder = root / "edf" / split / patient / session / montage
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{patient}_s{s + 1:03d}_t{r:03d}.edf"
                channels = write_recording(
                    path,
                    fs=fs,
                    duration_s=dur,
                    seizures=seizures,
                    montage=montage,
                    missing=missing,
                    seed=seed * 1000 + k,
                    seizure_type=SEIZURE_TYPES[k % len(SEIZURE_TYPES)],
                )
                out.append(CorpusFile(path, split, patient, session, montage, fs, dur, seizures, channels))
                k += 1
    return out
