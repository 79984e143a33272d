"""Typed ingest results: the progress events and the summary.

The native module hands them over in the Rust core's serde form, as plain
dicts and lists (what also crosses process boundaries in a Dask ingest); they
are typed here once, on the driver, so callers read attributes instead of dict
keys. ``to_dict()`` gives back exactly that object, which ``brainbrr-ingest
--json`` prints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

__all__ = ["Event", "Indexing", "Recording", "SplitStats", "Started", "Summary", "event_from_dict"]

Outcome: TypeAlias = Literal["ingested", "skipped", "failed"]
Pairs: TypeAlias = tuple[tuple[str, str], ...]


class _Event:
    """What every event has: its kind, and its serde form."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """The event in the core's serde form (an ``"event"`` tag, then the fields)."""
        return {"event": self.kind, **dataclasses.asdict(self)}  # type: ignore[call-overload]  # subclasses are dataclasses


@dataclass(frozen=True)
class Started(_Event):
    """Discovery is done.

    Attributes
    ----------
    found : int
        Recordings found.
    current : int
        Of those, already committed with the same source and config.
    bytes : int
        EDF bytes to process.
    """

    kind: ClassVar[str] = "started"
    found: int
    current: int
    bytes: int


@dataclass(frozen=True)
class Recording(_Event):
    """One recording is done.

    Attributes
    ----------
    path : str
        Path relative to the source.
    outcome : {"ingested", "skipped", "failed"}
        What became of it.
    reason : str or None
        Why, for skipped and failed recordings.
    bytes : int
        Size of the EDF file.
    """

    kind: ClassVar[str] = "recording"
    path: str
    outcome: Outcome
    reason: str | None
    bytes: int


@dataclass(frozen=True)
class Indexing(_Event):
    """All recordings are done; the index is being rebuilt.

    Attributes
    ----------
    recordings : int
        Committed recordings the index covers.
    """

    kind: ClassVar[str] = "indexing"
    recordings: int


#: A progress event, as ``ingest(progress=)`` callbacks receive it.
Event: TypeAlias = Started | Recording | Indexing

_EVENTS: dict[str, type[Event]] = {cls.kind: cls for cls in (Started, Recording, Indexing)}


def event_from_dict(d: dict[str, Any]) -> Event:
    """The typed event of ``d``, an event in the core's serde form.

    Raises
    ------
    ValueError
        ``d`` is not an event of a known kind with its fields.
    """
    kind = d.get("event")
    cls = _EVENTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"ingest event: unknown kind {kind!r} (expected one of {sorted(_EVENTS)})")
    try:
        return cls(**{k: v for k, v in d.items() if k != "event"})
    except TypeError as e:
        raise ValueError(f"ingest event {kind!r}: {e}") from None


@dataclass(frozen=True)
class SplitStats:
    """The numbers a researcher checks first, for one split of the store.

    Attributes
    ----------
    recordings, patients : int
        Recordings; distinct patients (recordings without one count as none).
    hours : float
        Hours of signal.
    windows, seizure_windows : int
        Windows in the index; those with a seizure sample.
    seizure_events : int
        Maximal runs of seizure samples within one recording.
    seizure_seconds : float
        Seconds of seizure samples.
    unlabeled_recordings : int
        Recordings without annotation.
    seizure_seconds_by_type : dict of str to float
        Seconds of seizure samples per seizure type name.
    """

    recordings: int = 0
    patients: int = 0
    hours: float = 0.0
    windows: int = 0
    seizure_windows: int = 0
    seizure_events: int = 0
    seizure_seconds: float = 0.0
    unlabeled_recordings: int = 0
    seizure_seconds_by_type: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitStats:
        """From the core's serde form; absent fields default as in the Rust core, unknown ones are ignored."""
        return cls(**_known(cls, d))

    def to_dict(self) -> dict[str, Any]:
        """The core's serde form."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Summary:
    """What an ingest did, and what the store now holds.

    Attributes
    ----------
    store : str
        The store (a path, or an ``s3://`` URL).
    found, ingested, current : int
        Recordings found in the source; committed by this run; already
        committed and current, not redone.
    skipped, failed : tuple of (path, reason)
        Recordings left out for a documented reason; recordings that failed.
    warnings : tuple of (path, warning)
        What looked wrong in ingested recordings, and (path ``""``) in the store.
    cancelled : bool
        Ctrl-C stopped the run; the store holds what was committed, the index is stale.
    recordings : int
        Recordings in the store (all runs).
    hours : float
        Hours of signal in the store.
    windows, seizure_windows, unlabeled_windows : int
        Windows in the index; with any seizure sample; of unlabeled recordings.
    store_bytes : int
        Bytes on disk of the store.
    source_bytes : int
        EDF bytes processed by this run.
    seconds : float
        Wall time of this run.
    splits : dict of str to SplitStats
        The store's totals per split (``""``: recordings without one).
    corpora : dict of str to (dict of str to SplitStats)
        The same per corpus, then per split (``""``: recordings ingested
        before corpora were recorded).
    """

    store: str = ""
    found: int = 0
    ingested: int = 0
    current: int = 0
    skipped: Pairs = ()
    failed: Pairs = ()
    warnings: Pairs = ()
    cancelled: bool = False
    recordings: int = 0
    hours: float = 0.0
    windows: int = 0
    seizure_windows: int = 0
    unlabeled_windows: int = 0
    store_bytes: int = 0
    source_bytes: int = 0
    seconds: float = 0.0
    splits: dict[str, SplitStats] = field(default_factory=dict)
    corpora: dict[str, dict[str, SplitStats]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Summary:
        """From the core's serde form (or a store's index metadata, which holds the
        same fields); absent fields default as in the Rust core, unknown ones are ignored."""
        known = _known(cls, d)
        for name in ("skipped", "failed", "warnings"):
            if name in known:
                known[name] = tuple((str(p), str(r)) for p, r in known[name])
        if "splits" in known:
            known["splits"] = {k: SplitStats.from_dict(v) for k, v in known["splits"].items()}
        if "corpora" in known:
            known["corpora"] = {
                c: {k: SplitStats.from_dict(v) for k, v in splits.items()} for c, splits in known["corpora"].items()
            }
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        """The core's serde form: pairs as lists, as ``json.loads`` reads them."""
        d = dataclasses.asdict(self)
        for name in ("skipped", "failed", "warnings"):
            d[name] = [list(pair) for pair in d[name]]
        return d


def _known(cls: type[Any], d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}
