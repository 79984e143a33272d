"""A hypothesis scored against a reference as SzCORE scores them.

Both are trees of SzCORE ``*_events.tsv`` files (``events.write_events_tsv``
writes them; SzCORE's BIDS copies of the corpora hold them); a reference file
pairs with the hypothesis file at the same relative path, and a missing one is
a hypothesis without events. Each file becomes a mask at 1 Hz exactly as
``szcore-evaluation`` builds it (``recordingDuration`` seconds long; every
non-``bckg`` event from ``int(onset)`` to ``int(onset + duration)``), scored
by ``timescoring`` with its default (SzCORE's) parameters: sample-based, and
event-based with 30 s tolerance before an event and 60 s after it, events over
5 min split, events closer than 90 s merged. The totals sum every recording's
counts, as ``szcore-evaluation ... avg_per_subject=False`` does.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Report", "RecordingScore", "Scores", "score"]

#: The mask rate SzCORE scores at, Hz.
FS = 1


@dataclass(frozen=True)
class Scores:
    """Counts and metrics of one scoring (sample- or event-based).

    ``sensitivity`` is NaN without a reference seizure, ``precision`` without a
    detection, ``f1`` without either (timescoring's conventions).
    """

    tp: float
    fp: float
    ref_true: float
    #: Seconds scored.
    seconds: float
    sensitivity: float
    precision: float
    f1: float
    #: False alarms per 24 h.
    fp_per_day: float

    @classmethod
    def of(cls, tp: float, fp: float, ref_true: float, seconds: float) -> Scores:
        return cls(
            tp,
            fp,
            ref_true,
            seconds,
            tp / ref_true if ref_true else math.nan,
            tp / (tp + fp) if tp + fp else math.nan,
            2 * tp / (2 * tp + fp + ref_true - tp) if ref_true + fp else math.nan,
            fp / (seconds / 86_400) if seconds else math.nan,
        )

    def __add__(self, other: Scores) -> Scores:
        return Scores.of(self.tp + other.tp, self.fp + other.fp, self.ref_true + other.ref_true, self.seconds + other.seconds)


@dataclass(frozen=True)
class RecordingScore:
    """One recording's scores; ``path`` is its reference file relative to the reference tree."""

    path: str
    sample: Scores
    event: Scores


@dataclass(frozen=True)
class Report:
    """Every recording's scores and their totals."""

    recordings: tuple[RecordingScore, ...]
    sample: Scores
    event: Scores

    def to_dict(self) -> dict[str, Any]:
        """As ``brainbrr score --json`` prints it (NaN as null)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and math.isnan(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        d: dict[str, Any] = clean(dataclasses.asdict(self))
        return d


def score(reference: str | os.PathLike[str], hypothesis: str | os.PathLike[str]) -> Report:
    """Score the tree ``hypothesis`` against the tree ``reference`` (see the module doc).

    Raises
    ------
    ImportError
        ``timescoring`` is not installed (``pip install 'brainbrr[score]'``).
    ValueError
        No ``*_events.tsv`` under ``reference``; a file without the columns it
        needs or with a value that is not a number (naming file and line); a
        hypothesis whose ``recordingDuration`` is not its reference's.
    """
    try:
        from timescoring import scoring
        from timescoring.annotations import Annotation
    except ImportError as e:
        raise ImportError("scoring needs timescoring (SzCORE's scorer): pip install 'brainbrr[score]'") from e
    ref_root, hyp_root = Path(reference), Path(hypothesis)
    files = sorted(ref_root.rglob("*_events.tsv"))
    if not files:
        raise ValueError(f"{ref_root}: no *_events.tsv file to score against")
    out = []
    for ref_file in files:
        rel = ref_file.relative_to(ref_root)
        ref = _mask(ref_file)
        hyp_file = hyp_root / rel
        hyp = _mask(hyp_file) if hyp_file.is_file() else np.zeros_like(ref)
        if hyp.size != ref.size:
            raise ValueError(
                f"{hyp_file}: recordingDuration gives {hyp.size} s, its reference {ref_file} {ref.size} s: "
                "not the same recording"
            )
        r, h = Annotation(ref, FS), Annotation(hyp, FS)
        seconds = ref.size / FS
        parts = []
        for s in (scoring.SampleScoring(r, h), scoring.EventScoring(r, h)):
            parts.append(Scores.of(float(s.tp), float(s.fp), float(s.refTrue), seconds))
        out.append(RecordingScore(rel.as_posix(), *parts))
    zero = Scores.of(0.0, 0.0, 0.0, 0.0)
    sample, event = zero, zero
    for rec in out:
        sample, event = sample + rec.sample, event + rec.event
    return Report(tuple(out), sample, event)


def _mask(path: Path) -> npt.NDArray[np.bool_]:
    """The file's seizure mask at :data:`FS`, as szcore-evaluation builds it."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    need = ("onset", "duration", "eventType", "recordingDuration")
    if not rows:
        raise ValueError(f"{path}: no event rows (a recording without seizures has one bckg row)")
    missing = [c for c in need if c not in rows[0]]
    if missing:
        raise ValueError(f"{path}:1: no {missing[0]!r} column: {list(rows[0])}")

    def number(row: dict[str, str], column: str, line: int) -> float:
        try:
            return float(row[column])
        except (TypeError, ValueError):
            raise ValueError(f"{path}:{line}: {column} is not a number: {row[column]!r}") from None

    mask = np.zeros(int(number(rows[0], "recordingDuration", 2) * FS), dtype=bool)
    for line, row in enumerate(rows, start=2):
        if row["eventType"] != "bckg":
            onset = number(row, "onset", line)
            mask[int(onset * FS) : int((onset + number(row, "duration", line)) * FS)] = True
    return mask
