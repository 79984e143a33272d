"""The pipeline brainbrr replaces, re-implemented from its description in DESIGN.md.

This is the reference the parity test and the ingest benchmark hold brainbrr
against, so it uses MNE, scipy and numpy only (never brainbrr):

- ``mne.io.read_raw_edf(preload=True)``; the 19 channels picked by their
  cleaned names (upper case, ``EEG `` prefix and ``-REF``/``-LE``/``-AR``
  suffix removed, T7/T8/P7/P8 read as T3/T4/T5/T6) in the design order;
- FZ/PZ missing: added as bad channels and interpolated by
  ``raw.interpolate_bads()`` on ``standard_1020`` positions;
- microvolts; ``scipy.signal.resample`` to 256 Hz; ``butter(3, [0.5, 120])``
  and ``iirnotch(60, 30)``, each with ``lfilter``; per-channel z-score;
- per-sample labels from the ``.csv_bi`` TERM rows;
- the cache: one ``np.savez_compressed`` per EDF holding every 60 s window
  (stride 10 s) materialised, which is why the old cache was 306 GB.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import mne
import numpy as np
import numpy.typing as npt
import scipy.signal

__all__ = [
    "CHANNELS",
    "FS",
    "build_npz_cache",
    "clean_name",
    "labels_from_csv_bi",
    "preprocess_bipolar_file",
    "preprocess_file",
]

CHANNELS = ("FP1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "FZ", "CZ", "PZ", "FP2", "F4", "C4", "P4", "F8", "T4", "T6", "O2")
INTERPOLATED = ("FZ", "PZ")
ALIASES = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
SEIZURE_LABELS = ("seiz", "fnsz", "gnsz", "cpsz", "absz", "spsz", "tcsz", "tnsz", "mysz")
FS = 256
WINDOW = 60 * FS
STRIDE = 10 * FS


def _standard_1020() -> mne.channels.DigMontage:
    # MNE 1.13 renamed standard_1020 to colin27_1020 (identical positions) and
    # warns on the old name, which is the one the old pipeline used.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Montage name 'standard_1020'", FutureWarning)
        return mne.channels.make_standard_montage("standard_1020")


MONTAGE = _standard_1020()
# MNE matches montage names case-sensitively: FP1 must be called Fp1, FZ Fz.
MNE_NAME = {name.upper(): name for name in MONTAGE.ch_names}


def clean_name(label: str) -> str:
    """Channel name of an EDF label: ``"EEG T7-LE"`` -> ``"T3"``.

    Parameters
    ----------
    label : str
        The EDF signal label.

    Returns
    -------
    str
        Upper case, without the ``EEG `` prefix and ``-REF``/``-LE``/``-AR``
        suffix, with the new 10-20 names T7/T8/P7/P8 read as T3/T4/T5/T6.
    """
    name = label.strip().upper()
    name = name.removeprefix("EEG ")
    for suffix in ("-REF", "-LE", "-AR"):
        name = name.removesuffix(suffix)
    name = name.strip()
    return ALIASES.get(name, name)


def preprocess_file(edf_path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float32], int]:
    """Preprocess one EDF as the old pipeline did.

    Parameters
    ----------
    edf_path : path-like
        A TUSZ-like EDF file.

    Returns
    -------
    signal : ndarray of float32, shape (19, n)
        The 19 channels in ``CHANNELS`` order at 256 Hz, band-passed, notched
        and z-scored per channel.
    fs : int
        256.

    Raises
    ------
    ValueError
        A channel other than FZ/PZ is missing.
    """
    raw = mne.io.read_raw_edf(edf_path, preload=True, verbose=False)
    by_name = {clean_name(label): label for label in raw.ch_names}
    present = [c for c in CHANNELS if c in by_name]
    missing = [c for c in CHANNELS if c not in by_name]
    if set(missing) - set(INTERPOLATED):
        raise ValueError(f"{edf_path}: missing channels {missing}")
    raw.pick([by_name[c] for c in present])
    raw.rename_channels({by_name[c]: MNE_NAME[c] for c in present})
    if missing:
        zeros = mne.io.RawArray(
            np.zeros((len(missing), raw.n_times)),
            mne.create_info([MNE_NAME[c] for c in missing], raw.info["sfreq"], "eeg"),
            verbose=False,
        )
        raw.add_channels([zeros], force_update_info=True)
        raw.info["bads"] = [MNE_NAME[c] for c in missing]
    raw.reorder_channels([MNE_NAME[c] for c in CHANNELS])
    raw.set_montage(MONTAGE, verbose=False)
    if missing:
        raw.interpolate_bads(verbose=False)

    return _filter_and_normalize(raw.get_data() * 1e6, raw.info["sfreq"]), FS  # volts -> microvolts


def preprocess_bipolar_file(
    edf_path: str | os.PathLike[str], pairs: Iterable[str], optional: Iterable[str] = ()
) -> tuple[npt.NDArray[np.float32], int]:
    """The old pipeline's preprocessing applied to bipolar differences.

    Each pair ``"A-B"`` is the referential signal of electrode A minus that of
    B (read by MNE, picked by :func:`clean_name`, in microvolts), then the
    channels are resampled, filtered and z-scored as :func:`preprocess_file`
    does. A pair that needs a missing ``optional`` electrode is zeros.

    Raises
    ------
    ValueError
        An electrode that is not optional is missing.
    """
    raw = mne.io.read_raw_edf(edf_path, preload=True, verbose=False)
    by_name = {clean_name(label): i for i, label in enumerate(raw.ch_names)}
    data = raw.get_data() * 1e6
    rows = []
    for pair in pairs:
        a, b = pair.split("-")
        if a in by_name and b in by_name:
            rows.append(data[by_name[a]] - data[by_name[b]])
        elif {a, b} - set(by_name) <= set(optional):
            rows.append(np.zeros(raw.n_times))
        else:
            raise ValueError(f"{edf_path}: missing electrodes of {pair}")
    return _filter_and_normalize(np.array(rows), raw.info["sfreq"]), FS


def _filter_and_normalize(x: npt.NDArray[np.float64], fs_in: float) -> npt.NDArray[np.float32]:
    """Resample to 256 Hz, band-pass, notch and z-score each row, as the old pipeline did."""
    if fs_in != FS:
        x = scipy.signal.resample(x, round(x.shape[1] * FS / fs_in), axis=1)
    b, a = scipy.signal.butter(3, [0.5, 120.0], btype="band", fs=FS)
    x = scipy.signal.lfilter(b, a, x, axis=1)
    b, a = scipy.signal.iirnotch(60.0, 30.0, fs=FS)
    x = scipy.signal.lfilter(b, a, x, axis=1)
    x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-8)
    return x.astype(np.float32)


def labels_from_csv_bi(path: str | os.PathLike[str], n: int, fs: float) -> npt.NDArray[np.uint8]:
    """Per-sample labels from the TERM rows of a ``.csv_bi`` file.

    Sample ``k`` (at ``k / fs`` s) is 1 when a seizure row has
    ``start_time <= k / fs < stop_time``, else 0.

    Parameters
    ----------
    path : path-like
        The ``.csv_bi`` file (``#`` comment lines, then a header row).
    n : int
        Number of samples.
    fs : float
        Sample rate of the labelled signal, Hz.

    Returns
    -------
    ndarray of uint8, shape (n,)
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(line for line in f if line.strip() and not line.startswith("#")))
    # Columns by name: reading start/stop/label from columns 0-2 instead is the
    # bug that once produced a cache without a single seizure label.
    header = [h.strip() for h in rows[0]]
    col = {name: header.index(name) for name in ("channel", "start_time", "stop_time", "label")}
    t = np.arange(n) / fs
    labels = np.zeros(n, np.uint8)
    for row in rows[1:]:
        if row[col["channel"]].strip() == "TERM" and row[col["label"]].strip() in SEIZURE_LABELS:
            start, stop = float(row[col["start_time"]]), float(row[col["stop_time"]])
            labels[(t >= start) & (t < stop)] = 1
    return labels


def build_npz_cache(edf_paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Build the old cache: one compressed npz of materialised windows per EDF.

    Parameters
    ----------
    edf_paths : iterable of path-like
        EDF files, each with its ``.csv_bi`` beside it; processed one after the
        other in this process, as the old code did.
    out_dir : path-like
        Folder for ``<stem>.npz``, each holding ``windows`` (float32,
        [n_windows, 19, 15360]: 60 s every 10 s at 256 Hz) and ``labels``
        (uint8 [n_windows], 1 if any sample of the window is a seizure).

    Returns
    -------
    list of Path
        The npz files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for edf in map(Path, edf_paths):
        x, fs = preprocess_file(edf)
        y = labels_from_csv_bi(edf.with_suffix(".csv_bi"), x.shape[1], fs)
        starts = range(0, x.shape[1] - WINDOW + 1, STRIDE)
        windows = np.stack([x[:, s : s + WINDOW] for s in starts]) if starts else np.zeros((0, len(CHANNELS), WINDOW), np.float32)
        labels = np.array([y[s : s + WINDOW].max() for s in starts], np.uint8)
        path = out / f"{edf.stem}.npz"
        np.savez_compressed(path, windows=windows, labels=labels)
        written.append(path)
    return written
