"""The window table of a dataset: its recordings and its windows, as columns.

A dataset's recordings are numbered ``0 .. n-1`` by their position in
:class:`_Recordings`, and each window names its recording by that position.
``take`` keeps some rows of either table (recordings renumber the windows
that remain), so a subset of a dataset is a subset of its two tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from brainbrr.channels import ChannelSeizures

LabelMode = Literal["any", "fraction", "per_sample", "type", "channel"]

#: ``y`` of each label mode the index holds: its column of :class:`_Windows`
#: and its dtype. ``per_sample`` labels are read from the recordings' chunks.
_TARGETS: dict[str, tuple[str, type[np.generic]]] = {
    "any": ("label", np.int64),
    "type": ("type", np.int64),
    "fraction": ("frac", np.float32),
}


def _member(values: list[str], wanted: Sequence[str], what: str) -> npt.NDArray[np.bool_]:
    """Which ``values`` are ``wanted``; a wanted value the store does not hold is an error."""
    held = set(values)
    missing = sorted(set(wanted) - held)
    if missing:
        have = ", ".join(repr(v) for v in sorted(held)[:20]) + (" ..." if len(held) > 20 else "")
        raise ValueError(f"no {what} {', '.join(map(repr, missing))} in the store; it holds: {have or 'none'}")
    return np.fromiter((v in set(wanted) for v in values), bool, len(values))


@dataclasses.dataclass(frozen=True)
class _Recordings:
    """The dataset's recordings, one row each: the names are the dataset's attributes."""

    rids: list[str]
    #: Each recording's source path relative to its corpus (the index's ``path``).
    paths: list[str]
    patients: list[str]
    splits: list[str]
    sessions: list[str]
    runs: list[str]
    #: The corpus each recording was read as (``""`` in stores written before corpora).
    corpus: list[str]
    #: Each recording's start from its EDF header (``2016-01-01T18:28:27``; ``""`` when unknown).
    start_times: list[str]
    n_samples: npt.NDArray[np.int64]
    #: The source's sampling rate, Hz (NaN in stores written before it was indexed).
    fs_in: npt.NDArray[np.float64]
    #: ``[recording, channel]``: False where a channel is zeros (an optional electrode missing).
    channel_present: npt.NDArray[np.bool_]
    #: Whether the annotation names the channels each seizure is seen on (a TUSZ ``.csv``).
    channel_annotated: npt.NDArray[np.bool_]
    #: With ``label="channel"``, each recording's seizures per store channel; else None each.
    channel_seizures: list[ChannelSeizures | None]

    @classmethod
    def select(
        cls,
        recs: dict[str, Any],
        split: str | Sequence[str] | None,
        patients: Sequence[str] | None,
        require_channels: bool,
        corpus: str | Sequence[str] | None = None,
    ) -> tuple[_Recordings, npt.NDArray[np.int64]]:
        """The recordings of the index table ``recs`` that the filters keep, and their rows in it."""
        all_splits, all_patients = list(recs["split"]), list(recs["patient"])
        all_corpora = list(recs.get("corpus", [""] * len(all_splits)))
        keep = np.ones(len(all_splits), dtype=bool)
        if split is not None:
            keep &= _member(all_splits, [split] if isinstance(split, str) else split, "split")
        if patients is not None:
            keep &= _member(all_patients, patients, "patient")
        if corpus is not None:
            keep &= _member(all_corpora, [corpus] if isinstance(corpus, str) else corpus, "corpus")
        present = np.asarray(recs["channel_present"], dtype=bool).reshape(keep.size, -1)
        if require_channels:
            keep &= present.all(axis=1)
        n_samples = np.asarray(recs["n_samples"], dtype=np.int64)
        n = len(all_splits)
        runs, starts = (list(recs.get(k, [""] * len(all_splits))) for k in ("run", "start_time"))
        every = cls(
            list(recs["rid"]),
            list(recs["path"]),
            all_patients,
            all_splits,
            list(recs["session"]),
            runs,
            all_corpora,
            starts,
            n_samples,
            np.asarray(recs.get("fs_in", np.full(n, np.nan)), dtype=np.float64),
            present,
            np.asarray(recs.get("channel_annotated", np.zeros(n, bool)), dtype=bool),
            [None] * n,
        )
        rows = np.flatnonzero(keep)
        return every.take(rows), rows

    def __len__(self) -> int:
        return len(self.rids)

    def take(self, rows: npt.NDArray[np.int64]) -> _Recordings:
        """The recordings at positions ``rows``, in that order."""
        taken: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            taken[f.name] = [v[r] for r in rows] if isinstance(v, list) else v[rows]
        return _Recordings(**taken)


@dataclasses.dataclass(frozen=True)
class _Windows:
    """The dataset's windows in item order: the recording (a position in
    :class:`_Recordings`), the start in samples, and the index's label columns."""

    rec: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    label: npt.NDArray[np.uint8]
    frac: npt.NDArray[np.float32]
    type: npt.NDArray[np.uint8]

    @classmethod
    def of_index(cls, w: dict[str, Any], rows: npt.NDArray[np.int64], n_rows: int) -> _Windows:
        """The windows of the index table ``w`` (of ``n_rows`` recordings) that belong to recordings ``rows``."""
        every = cls(
            np.asarray(w["recording"], dtype=np.int64),
            np.asarray(w["start"], dtype=np.int64),
            np.asarray(w["label"], dtype=np.uint8),
            np.asarray(w["seizure_fraction"], dtype=np.float32),
            np.asarray(w["type"], dtype=np.uint8),
        )
        return every.of_recordings(rows, n_rows)

    def __len__(self) -> int:
        return int(self.rec.size)

    def take(self, rows: npt.NDArray[Any]) -> _Windows:
        """The windows at ``rows`` (indices or a mask)."""
        return _Windows(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

    def of_recordings(self, rows: npt.NDArray[np.int64], n_recordings: int) -> _Windows:
        """The windows of recordings ``rows`` (sorted positions among ``n_recordings``),
        naming their recording by its position in ``rows``."""
        position = np.full(n_recordings, -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        rec = position[self.rec]
        keep = rec >= 0
        return dataclasses.replace(self.take(keep), rec=rec[keep])

    def labeled(self) -> _Windows:
        """The windows of labeled recordings (label 0 or 1, not 255)."""
        return self.take(self.label != 255)

    def target(self, mode: LabelMode, idx: int | npt.NDArray[np.int64]) -> npt.NDArray[Any] | None:
        """``y`` of window ``idx`` (or windows) for label ``mode``, from the index;
        None for ``per_sample``, whose labels are in the recordings' chunks."""
        if mode not in _TARGETS:
            return None
        column, dtype = _TARGETS[mode]
        return np.asarray(getattr(self, column)[idx], dtype=dtype)

    def columns(self, recordings: _Recordings, fs: float, type_names: dict[int, str]) -> dict[str, npt.NDArray[Any]]:
        """Every window as columns (see :attr:`ZarrWindowDataset.windows`)."""
        per_recording = {
            "recording": recordings.rids,
            "patient": recordings.patients,
            "split": recordings.splits,
            "session": recordings.sessions,
            "run": recordings.runs,
            "corpus": recordings.corpus,
        }
        names = np.array([type_names.get(c, str(c)) for c in range(256)], dtype=object)
        columns: dict[str, npt.NDArray[Any]] = {
            k: np.asarray(v, dtype=object)[self.rec] if v else np.zeros(0, object)
            for k, v in per_recording.items()
        }
        columns.update(
            start=self.start.copy(),
            start_s=self.start / fs,
            label=self.label.copy(),
            seizure_fraction=self.frac.copy(),
            type=self.type.copy(),
            type_name=names[self.type],
        )
        return columns


def patient_split(
    recordings: _Recordings, windows: _Windows, val_fraction: float, by: str, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The recording positions of ``(train, val)`` (see :meth:`ZarrWindowDataset.split`)."""
    if by != "patient":
        raise ValueError(f"split by {by!r}: only 'patient' is supported")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), not {val_fraction}")
    patients = np.asarray(recordings.patients, dtype=object)
    seizure = {recordings.patients[r] for r in np.unique(windows.rec[windows.label == 1])}
    rng = np.random.default_rng(seed)
    val: set[str] = set()
    for group in (sorted(seizure), sorted(set(recordings.patients) - seizure)):
        if not group:
            continue
        k = round(len(group) * val_fraction)
        # Each side gets at least one patient of a group of two or more.
        k = min(max(k, 1), len(group) - 1) if len(group) > 1 else 0
        val.update(rng.permutation(np.asarray(group, dtype=object))[:k].tolist())
    in_val = np.isin(patients, list(val)) if val else np.zeros(len(patients), bool)
    rows = np.arange(len(patients))
    return rows[~in_val], rows[in_val]
