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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from brainbrr import _native

if TYPE_CHECKING:
    from brainbrr.dataset import ZarrWindowDataset

__all__ = ["Event", "from_labels", "from_windows", "write_csv_bi", "write_events_tsv"]

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
    #: The seizure type most of its samples carry (stored labels), else ``seiz``.
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
    """Seizure events from one score per window of ``ds``.

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
        sigmoid outputs; NaN is an error.
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
    if s.shape != (len(ds),):
        raise ValueError(f"scores has shape {s.shape}; expected one score per window of the dataset: ({len(ds)},)")
    bad = np.flatnonzero(np.isnan(s))
    if bad.size:
        raise ValueError(f"scores are NaN at {bad.size} windows (the first: window {int(bad[0])})")
    rec, start = ds._rec, ds._start
    order = np.argsort(rec, kind="stable")
    bounds = np.flatnonzero(np.diff(rec[order])) + 1
    out: dict[str, list[Event]] = {}
    for group in np.split(order, bounds) if order.size else []:
        r = int(rec[group[0]])
        rid = ds.rids[r]
        edges, values = _pieces_of_windows(start[group], s[group], ds.window_samples, int(ds.n_samples[r]), combine)
        found = _find(edges, values, threshold, min_duration_s * ds.fs, merge_gap_s * ds.fs)
        out[rid] = [Event(rid, a / ds.fs, b / ds.fs, score) for a, b, score in found]
    return out


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


def _recordings(ds: ZarrWindowDataset, rids: Sequence[str]) -> dict[str, tuple[Path, float]]:
    """``rid -> (source path relative to the corpus, duration in seconds)``, from the store's index."""
    index = _native.StoreReader(ds.path).index()["recordings"]
    paths = dict(zip(index["rid"], index["path"], strict=True))
    position = {rid: r for r, rid in enumerate(ds.rids)}
    missing = [rid for rid in rids if rid not in position]
    if missing:
        raise ValueError(f"recording {missing[0]!r} is not in the dataset ({len(missing)} events keys are not)")
    return {rid: (Path(paths[rid]), int(ds.n_samples[position[rid]]) / ds.fs) for rid in rids}


def _targets(out_dir: Path, recordings: Mapping[str, tuple[Path, float]], suffix: str) -> dict[str, Path]:
    """``rid -> the file to write``: at the recording's source path under
    ``out_dir``, all checked before any is written. An index path is data (a
    crafted store can hold anything): one that is absolute, has a ``..``
    segment, or leads out of ``out_dir`` through a symlink is refused."""
    root = out_dir.resolve()
    out = {}
    for rid, (rel, _) in recordings.items():
        path = out_dir / rel.parent / (rel.stem + suffix)
        if rel.is_absolute() or ".." in rel.parts or not path.resolve().is_relative_to(root):
            raise ValueError(
                f"recording {rid!r}: its path in the store's index, {str(rel)!r}, leads outside {str(out_dir)!r}; "
                "no file written (an index path is relative to the corpus, without '..')"
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
    recordings = _recordings(ds, list(events))
    targets = _targets(Path(out_dir), recordings, ".csv_bi")
    for rid, (rel, duration) in recordings.items():
        rows, t = [], 0.0
        for e in sorted(events[rid], key=lambda e: e.start_s):
            if e.start_s > t:
                rows.append(f"TERM,{_time(t)},{_time(e.start_s)},bckg,1.0000")
            rows.append(f"TERM,{_time(e.start_s)},{_time(e.stop_s)},seiz,{min(max(e.score, 0.0), 1.0):.4f}")
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
) -> list[Path]:
    """Write one SzCORE ``*_events.tsv`` per recording of ``events`` under
    ``out_dir``, at the recording's source path (``.../x_s001_t000_events.tsv``),
    so a reference and a hypothesis written from the same store pair up file
    by file for ``szcore-evaluation``.

    Columns ``onset duration eventType confidence channels dateTime
    recordingDuration``; one ``sz`` row per event (confidence: its score), or
    one ``bckg`` row over the whole recording when it has none, as the BIDS
    conversions of TUSZ do. ``dateTime`` is the recording's start from
    ``start_times`` (e.g. ``brainbrr.read_edf(path).start``); the store does
    not keep it, so it is otherwise ``1970-01-01 00:00:00`` (SzCORE reads but
    does not score it). Returns the paths written. A recording whose index path is
    absolute, has a ``..`` segment or leads out of ``out_dir`` through a
    symlink raises ``ValueError`` before any file is written.
    """
    recordings = _recordings(ds, list(events))
    targets = _targets(Path(out_dir), recordings, "_events.tsv")
    for rid, (_, duration) in recordings.items():
        when = (start_times or {}).get(rid) or dt.datetime(1970, 1, 1)
        common = f"n/a\t{when:%Y-%m-%d %H:%M:%S}\t{duration:.4f}"
        rows = [
            f"{e.start_s:.4f}\t{e.duration_s:.4f}\tsz\t{min(max(e.score, 0.0), 1.0):.4f}\t{common}"
            for e in sorted(events[rid], key=lambda e: e.start_s)
        ] or [f"0.0000\t{duration:.4f}\tbckg\tn/a\t{common}"]
        _write(targets[rid], "\t".join(TSV_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return list(targets.values())
