"""Seizure events: window predictions or stored labels back to events, and
events to the files the standard scorers read.

A model scores windows; a scorer wants events (onset, offset) per recording.
:func:`from_windows` turns one score per window of a :class:`ZarrWindowDataset`
into events, :func:`from_labels` does the same for the store's own per-sample
labels (the reference), and the writers put either in TUSZ's own ``.csv_bi``
(NEDC's scorer, and brainbrr's ingest, read it) or in the BIDS ``*_events.tsv``
that SzCORE (``szcore-evaluation``, ``timescoring``) reads.

A recording's score is piecewise constant: it only changes where a window
starts or stops. Events are found on those pieces, so a TUSZ-size store never
needs a per-sample array of scores.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from brainbrr import _native

if TYPE_CHECKING:
    from brainbrr.dataset import ZarrWindowDataset

__all__ = ["Event", "from_labels", "from_windows", "write_csv", "write_csv_bi", "write_events_tsv"]

Combine = Literal["mean", "max"]


@dataclass(frozen=True)
class Event:
    """One seizure event of recording ``rid``, ``[start_s, stop_s)`` in seconds
    from the start of the stored recording."""

    rid: str
    start_s: float
    stop_s: float
    #: The highest per-sample score inside the event (1.0 for stored labels).
    score: float
    #: Its seizure type: the type most of its samples carry (stored labels),
    #: the most probable class (class scores), else ``seiz``; a name of either
    #: vocabulary (``fnsz`` or ``sz_foc``), which the writers translate.
    type: str = "seiz"

    @property
    def duration_s(self) -> float:
        return self.stop_s - self.start_s


# --- finding events on a piecewise-constant score ------------------------------


def runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(first, stop)`` of each maximal run of True in ``mask`` (stop exclusive)."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _find(
    edges: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    threshold: float,
    min_samples: float,
    merge_samples: float,
) -> list[tuple[int, int, float]]:
    """``(a, b, score)`` in samples: runs of pieces ``[edges[j], edges[j+1])``
    whose value is ``>= threshold`` (NaN never is), joined across gaps of at
    most ``merge_samples``, then those shorter than ``min_samples`` dropped."""
    first, stop = runs(values >= threshold)
    if first.size == 0:
        return []
    if first.size > 1:
        joined = np.concatenate([[False], edges[first[1:]] - edges[stop[:-1]] <= merge_samples])
        keep = ~joined
        first, stop = first[keep], stop[np.append(keep[1:], True)]
    a, b = edges[first], edges[stop]
    # The score of an event: its highest piece (gaps it absorbed are below the threshold).
    padded = np.append(np.where(np.isnan(values), -np.inf, values), -np.inf)
    score = np.maximum.reduceat(padded, np.ravel(np.column_stack([first, stop])))[::2]
    return [(int(x), int(y), float(s)) for x, y, s in zip(a, b, score, strict=True) if y - x >= min_samples]


def _check_params(threshold: float, min_duration_s: float, merge_gap_s: float) -> None:
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, not {threshold}")
    for name, v in (("min_duration_s", min_duration_s), ("merge_gap_s", merge_gap_s)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, not {v}")


def _pieces_of_windows(
    starts: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], length: int, n: int, combine: Combine
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A recording of ``n`` samples scored by windows ``[start, start + length)``:
    the per-sample score (``combine`` of the windows covering the sample, NaN
    where none does) as pieces ``(edges, values)``."""
    stops = np.minimum(starts + length, n)
    edges = np.unique(np.concatenate([[0, n], starts, stops]))
    first, last = np.searchsorted(edges, starts), np.searchsorted(edges, stops)
    # Every (window, piece it covers) pair: a window covers a handful of pieces.
    counts = last - first
    window = np.repeat(np.arange(starts.size), counts)
    piece = first[window] + np.arange(window.size) - np.repeat(np.cumsum(counts) - counts, counts)
    m = edges.size - 1
    covered = np.bincount(piece, minlength=m)
    if combine == "max":
        values = np.full(m, -np.inf)
        np.maximum.at(values, piece, scores[window])
    else:
        values = np.bincount(piece, weights=scores[window], minlength=m) / np.maximum(covered, 1)
    values[covered == 0] = np.nan
    return edges, values


def from_windows(
    ds: ZarrWindowDataset,
    scores: Any,
    threshold: float = 0.5,
    min_duration_s: float = 0.0,
    merge_gap_s: float = 0.0,
    combine: Combine = "mean",
) -> dict[str, list[Event]]:
    """Seizure events from one score per window of ``ds``, or from class
    probabilities per window (a type classifier, ``label="type"``).

    Each sample gets the ``combine`` (mean, default, or max) of the scores of
    the windows that cover it; samples no window covers (a recording's tail
    shorter than the stride, a recording shorter than a window) get none and
    are never in an event. An event is a maximal run of samples scoring
    ``>= threshold``; events separated by at most ``merge_gap_s`` seconds are
    joined, then events shorter than ``min_duration_s`` dropped. With 60 s
    windows every 10 s, ``mean`` places an edge where half the covering
    windows vote seizure; ``max`` stretches every event over its whole window.

    Parameters
    ----------
    ds : ZarrWindowDataset
        The dataset the scores were computed on, in item order.
    scores : array-like
        ``[len(ds)]`` scores (a numpy array, a torch tensor, a list), e.g.
        sigmoid outputs; or ``[len(ds), ds.num_classes]`` probabilities of
        the classes :attr:`ZarrWindowDataset.classes` (softmax outputs: each
        row sums to 1), whose seizure score is ``1 - p[bckg]`` and where each
        event takes the class with the largest probability summed over the
        samples of the event its windows cover. NaN is an error.
    threshold, min_duration_s, merge_gap_s : float
        As above.
    combine : {"mean", "max"}
        How overlapping windows combine on a sample.

    Returns
    -------
    dict
        ``rid -> [Event, ...]`` (sorted by time) for every recording with at
        least one window in ``ds``; an empty list means no seizure. Recordings
        without windows in ``ds`` (e.g. unlabeled ones left out) are absent.
    """
    _check_params(threshold, min_duration_s, merge_gap_s)
    if combine not in ("mean", "max"):
        raise ValueError(f"combine must be 'mean' or 'max', not {combine!r}")
    if hasattr(scores, "detach"):  # a torch tensor, possibly on the GPU
        scores = scores.detach().cpu().numpy()
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    bad = np.flatnonzero(np.isnan(s).reshape(len(s), -1).any(axis=1)) if s.ndim in (1, 2) else np.zeros(0, int)
    if bad.size:
        raise ValueError(f"scores are NaN at {bad.size} windows (the first: window {int(bad[0])})")
    classes = None
    if s.ndim == 2 and s.shape == (len(ds), ds.num_classes):
        if ds.classes[0] != "bckg":
            raise ValueError(f"class scores need class 0 to be bckg; the dataset's classes are {ds.classes}")
        off = np.flatnonzero(np.abs(s.sum(axis=1) - 1.0) > 1e-3)
        if off.size:
            raise ValueError(
                f"class scores must be probabilities (rows summing to 1, e.g. a softmax); row {int(off[0])} "
                f"sums to {s[off[0]].sum():g}"
            )
        classes, s = s, 1.0 - s[:, 0]
    if s.shape != (len(ds),):
        raise ValueError(
            f"scores has shape {np.shape(scores)}; expected one score per window of the dataset, ({len(ds)},), "
            f"or one probability per class, ({len(ds)}, {ds.num_classes})"
        )
    rec, start = ds._rec, ds._start
    order = np.argsort(rec, kind="stable")
    bounds = np.flatnonzero(np.diff(rec[order])) + 1
    out: dict[str, list[Event]] = {}
    for group in np.split(order, bounds) if order.size else []:
        r = int(rec[group[0]])
        rid = ds.rids[r]
        edges, values = _pieces_of_windows(start[group], s[group], ds.window_samples, int(ds.n_samples[r]), combine)
        found = _find(edges, values, threshold, min_duration_s * ds.fs, merge_gap_s * ds.fs)
        out[rid] = [
            Event(rid, a / ds.fs, b / ds.fs, score, _class_of(ds, classes, start, group, a, b) if classes is not None else "seiz")
            for a, b, score in found
        ]
    return out


def _class_of(
    ds: ZarrWindowDataset,
    p: npt.NDArray[np.float64],
    start: npt.NDArray[np.int64],
    group: npt.NDArray[np.int64],
    a: int,
    b: int,
) -> str:
    """The seizure class of event ``[a, b)`` (samples) of the windows ``group``:
    the largest probability summed over the samples of the event each window covers."""
    overlap = np.clip(np.minimum(start[group] + ds.window_samples, b) - np.maximum(start[group], a), 0, None)
    return ds.classes[1 + int(np.argmax(overlap @ p[group, 1:]))]


def from_labels(ds: ZarrWindowDataset, min_duration_s: float = 0.0, merge_gap_s: float = 0.0) -> dict[str, list[Event]]:
    """The reference: events of the store's per-sample labels (1 = seizure) for
    every labeled recording of ``ds``, each with its majority seizure type.

    With the defaults an event is a maximal run of seizure samples, as in the
    store's per-split statistics. Recordings without annotation (all samples
    255) are absent; the rest map to their events (possibly none). The events
    and their types are the core's (``StoreReader.events``), the rule the
    ingest's statistics use.
    """
    _check_params(0.5, min_duration_s, merge_gap_s)
    out: dict[str, list[Event]] = {}
    reader = ds._store()
    for rid in ds.rids:
        found = reader.events(rid, min_duration_s, merge_gap_s)
        if found is None:
            continue
        out[rid] = [
            Event(rid, int(a) / ds.fs, int(b) / ds.fs, 1.0, ds.type_names.get(int(code), "seiz"))
            for a, b, code in zip(*found, strict=True)
        ]
    return out


# --- writers ------------------------------------------------------------------


def _time(seconds: float) -> str:
    """Seconds to 4 decimals, rounded down: ``start <= k / fs`` then holds for
    exactly the samples it held for before (below 10 kHz, a sample is longer
    than the 0.1 ms lost), so a written file labels the same samples on re-reading."""
    n = math.floor(seconds * 10_000)
    return f"{n // 10_000}.{n % 10_000:04d}"


@dataclass(frozen=True)
class _Recording:
    """What the writers need of one recording, from the store's index."""

    #: Source path relative to the corpus.
    path: Path
    duration_s: float
    #: Its start from the EDF header (``2016-01-01T18:28:27``), ``""`` when unknown.
    start_time: str
    patient: str
    session: str
    run: str


def _recordings(ds: ZarrWindowDataset, rids: Sequence[str]) -> dict[str, _Recording]:
    """The recordings ``rids`` of the dataset, from the store's index."""
    index = _native.StoreReader(ds.path).index()["recordings"]
    paths = dict(zip(index["rid"], index["path"], strict=True))
    position = {rid: r for r, rid in enumerate(ds.rids)}
    missing = [rid for rid in rids if rid not in position]
    if missing:
        raise ValueError(f"recording {missing[0]!r} is not in the dataset ({len(missing)} events keys are not)")
    out = {}
    for rid in rids:
        r = position[rid]
        out[rid] = _Recording(
            Path(paths[rid]), int(ds.n_samples[r]) / ds.fs, ds.start_times[r], ds.recording_patients[r], ds.sessions[r], ds.runs[r]
        )
    return out


def _source_paths(recordings: Mapping[str, _Recording], suffix: str) -> dict[str, Path]:
    """``rid -> path``: the recording's source path, its extension replaced by ``suffix``."""
    return {rid: rec.path.parent / (rec.path.stem + suffix) for rid, rec in recordings.items()}


def _bids_label(value: str, entity: str) -> str:
    """A BIDS label: ``value`` without an ``entity-`` prefix, letters and digits only."""
    value = value.removeprefix(f"{entity}-")
    return "".join(c for c in value if c.isascii() and c.isalnum())


def _bids_paths(recordings: Mapping[str, _Recording]) -> dict[str, Path]:
    """``rid -> sub-<patient>/ses-<session>/eeg/sub-..._ses-..._task-szMonitoring_run-..._events.tsv``,
    as SzCORE's trees name them: the patient, the session (``01`` when none), the
    run (the file's stem when none), each as a BIDS label; recordings without a
    patient are subject ``unknown``. Two recordings given one name raise
    ``ValueError``."""
    out: dict[str, Path] = {}
    named: dict[Path, str] = {}
    for rid, rec in recordings.items():
        sub = _bids_label(rec.patient, "sub") or "unknown"
        ses = _bids_label(rec.session, "ses") or "01"
        run = _bids_label(rec.run, "run") or _bids_label(rec.path.stem, "")
        name = f"sub-{sub}_ses-{ses}_task-szMonitoring_run-{run}_events.tsv"
        path = Path(f"sub-{sub}", f"ses-{ses}", "eeg", name)
        if path in named:
            raise ValueError(f"recordings {named[path]!r} and {rid!r} would both be written as {str(path)!r}")
        named[path], out[rid] = rid, path
    return out


def _targets(out_dir: Path, rels: Mapping[str, Path]) -> dict[str, Path]:
    """``rid -> the file to write``: ``rels``'s path under ``out_dir``, all
    checked before any is written. An index path is data (a crafted store can
    hold anything): one that is absolute, has a ``..`` segment, or leads out of
    ``out_dir`` through a symlink is refused."""
    root = out_dir.resolve()
    out = {}
    for rid, rel in rels.items():
        path = out_dir / rel
        if rel.is_absolute() or ".." in rel.parts or not path.resolve().is_relative_to(root):
            raise ValueError(
                f"recording {rid!r}: its path in the store's index, {str(rel.parent / rel.stem)!r}, leads outside "
                f"{str(out_dir)!r}; no file written (an index path is relative to the corpus, without '..')"
            )
        out[rid] = path
    return out


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_csv_bi(
    events: Mapping[str, Sequence[Event]], ds: ZarrWindowDataset, out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Write one TUSZ ``.csv_bi`` per recording of ``events`` under ``out_dir``,
    at the recording's source path (``edf/train/.../x_s001_t000.csv_bi``).

    The file covers the recording with alternating ``bckg`` and ``seiz``
    ``TERM`` rows (the header and columns of TUSZ v2: ``channel,start_time,
    stop_time,label,confidence``); a ``seiz`` row's confidence is the event's
    score. Times have 4 decimals, rounded down, so brainbrr's ingest (and any
    reader applying ``start <= t < stop``) labels exactly the samples the
    events cover. Returns the paths written. A recording whose index path is
    absolute, has a ``..`` segment or leads out of ``out_dir`` through a
    symlink raises ``ValueError`` before any file is written.
    """
    return _write_term_rows(events, ds, Path(out_dir), ".csv_bi", lambda e: "seiz")


def write_csv(
    events: Mapping[str, Sequence[Event]], ds: ZarrWindowDataset, out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Write one typed TUSZ ``.csv`` per recording of ``events``, as
    :func:`write_csv_bi` writes the ``.csv_bi`` but each seizure row labelled
    with the event's type (``fnsz``, ``cpsz``, ..., ``seiz`` when unknown; a
    SzCORE name is written as its TUSZ one), so
    NEDC's scorer can score a type classifier and brainbrr's ingest reads the
    types back. The rows are channel-free ``TERM`` rows, which both accept."""
    tusz = {v: k for k, v in _szcore_names().items()}
    return _write_term_rows(events, ds, Path(out_dir), ".csv", lambda e: tusz.get(e.type, e.type))


def _write_term_rows(
    events: Mapping[str, Sequence[Event]],
    ds: ZarrWindowDataset,
    out_dir: Path,
    suffix: str,
    label: Callable[[Event], str],
) -> list[Path]:
    """The TUSZ csv files of :func:`write_csv_bi` and :func:`write_csv`, each seizure row labelled ``label(event)``."""
    recordings = _recordings(ds, list(events))
    targets = _targets(out_dir, _source_paths(recordings, suffix))
    for rid, rec in recordings.items():
        rel, duration = rec.path, rec.duration_s
        rows, t = [], 0.0
        for e in sorted(events[rid], key=lambda e: e.start_s):
            if e.start_s > t:
                rows.append(f"TERM,{_time(t)},{_time(e.start_s)},bckg,1.0000")
            rows.append(f"TERM,{_time(e.start_s)},{_time(e.stop_s)},{label(e)},{min(max(e.score, 0.0), 1.0):.4f}")
            t = e.stop_s
        if t < duration:
            rows.append(f"TERM,{_time(t)},{_time(duration)},bckg,1.0000")
        head = [
            "# version = csv_v1.0.0",
            f"# bname = {rel.stem}",
            f"# duration = {_time(duration)} secs",
            "# montage_file = $NEDC_NFC/lib/nedc_eas_default_montage.txt",
            "#",
            "channel,start_time,stop_time,label,confidence",
        ]
        _write(targets[rid], "\n".join(head + rows) + "\n")
    return list(targets.values())


#: The columns of a SzCORE (BIDS, HED-SCORE) ``*_events.tsv``.
TSV_COLUMNS = ("onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration")


def write_events_tsv(
    events: Mapping[str, Sequence[Event]],
    ds: ZarrWindowDataset,
    out_dir: str | os.PathLike[str],
    start_times: Mapping[str, dt.datetime] | None = None,
    layout: Literal["bids", "source"] = "bids",
) -> list[Path]:
    """Write one SzCORE ``*_events.tsv`` per recording of ``events`` under
    ``out_dir``, so that a reference (:func:`from_labels`) and a hypothesis
    written from the same dataset pair up file by file, and
    ``python -m szcore_evaluation REF HYP out.json`` (and ``timescoring``)
    score the two trees as they are.

    ``layout="bids"`` (the default) names the files as SzCORE's trees do:
    ``sub-<patient>/ses-<session>/eeg/sub-<patient>_ses-<session>_task-szMonitoring_run-<run>_events.tsv``,
    each a BIDS label (letters and digits; the session ``01`` when the store has
    none, the run the file's stem when it has none, the subject ``unknown``
    for a recording without a patient). ``layout="source"`` writes at the
    recording's source path instead (``.../x_s001_t000_events.tsv``), which
    SzCORE's scorer does not walk.

    Columns ``onset duration eventType confidence channels dateTime
    recordingDuration``; one row per event (its SzCORE type, ``sz`` when the
    event's type is unknown; confidence: its score), or one ``bckg`` row over
    the whole recording when it has none, as the BIDS conversions of TUSZ do.
    Times have 4 decimals, rounded down as :func:`write_csv_bi` writes them.
    ``dateTime`` is the recording's start from its EDF header, kept by the
    store (``start_times`` overrides it; ``1970-01-01 00:00:00`` when neither
    knows it). Returns the paths written. A recording whose index path is
    absolute, has a ``..`` segment or leads out of ``out_dir`` through a
    symlink raises ``ValueError`` before any file is written.
    """
    recordings = _recordings(ds, list(events))
    rels = _bids_paths(recordings) if layout == "bids" else _source_paths(recordings, "_events.tsv")
    targets = _targets(Path(out_dir), rels)
    szcore = _szcore_names()
    szcore |= {v: v for v in szcore.values()}
    for rid, rec in recordings.items():
        when = (start_times or {}).get(rid) or (
            dt.datetime.fromisoformat(rec.start_time) if rec.start_time else dt.datetime(1970, 1, 1)
        )
        common = f"n/a\t{when:%Y-%m-%d %H:%M:%S}\t{_time(rec.duration_s)}"
        rows = [
            f"{_time(e.start_s)}\t{_time(e.duration_s)}\t{szcore.get(e.type, 'sz')}\t{min(max(e.score, 0.0), 1.0):.4f}\t{common}"
            for e in sorted(events[rid], key=lambda e: e.start_s)
        ] or [f"0.0000\t{_time(rec.duration_s)}\tbckg\tn/a\t{common}"]
        _write(targets[rid], "\t".join(TSV_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return list(targets.values())


def _szcore_names() -> dict[str, str]:
    """A type's name in the store (TUSZ's) to its SzCORE name, by code (the core's table)."""
    _, tusz = _native.type_classes("tusz")
    _, szcore = _native.type_classes("szcore")
    return dict(zip(tusz, szcore, strict=True))
