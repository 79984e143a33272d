"""The typed ingest events and summary against the native objects (the core's serde form) they are built from."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from brainbrr import _native
from brainbrr.ingest import Event, Indexing, Recording, SplitStats, Started, Summary, ingest
from brainbrr.ingest_types import event_from_dict
from brainbrr.progress import Progress
from tests.conftest import TuszCorpus


@pytest.fixture(scope="module")
def native_run(tusz_corpus: TuszCorpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The native module's own output: the summary and every event, as the dicts it hands over.

    The TUSZ corpus has failures, skips, warnings and several splits, so every
    field of the summary is filled."""
    events: list[dict[str, Any]] = []
    store = tmp_path_factory.mktemp("types") / "s.zarr"
    summary = _native.ingest([tusz_corpus.root], store, options=_native.IngestOptions(n_jobs=2), progress=events.append)
    return summary, events


def test_summary_round_trips_to_the_native_json(native_run: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    raw, _ = native_run
    assert all(isinstance(k, str) for k in raw) and isinstance(raw["splits"], dict)
    # The serde form as JSON reads it (pairs as lists).
    want = json.loads(json.dumps(raw))
    s = Summary.from_dict(raw)
    assert s.failed and s.skipped and s.warnings and len(s.splits) > 1, "the corpus fills every field"
    assert s.to_dict() == want
    # What `brainbrr-ingest --json` prints, byte for byte.
    assert json.dumps(s.to_dict(), indent=1) == json.dumps(want, indent=1)
    assert all(isinstance(v, SplitStats) for v in s.splits.values())
    assert all(isinstance(p, tuple) and len(p) == 2 for p in s.failed + s.skipped + s.warnings)


def test_events_round_trip_to_the_native_json(native_run: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    _, raw = native_run
    events = [event_from_dict(e) for e in raw]
    assert [e.to_dict() for e in events] == raw
    assert isinstance(events[0], Started) and isinstance(events[-1], Indexing)
    recordings = [e for e in events if isinstance(e, Recording)]
    assert len(recordings) == len(events) - 2
    assert {e.outcome for e in recordings} == {"ingested", "skipped", "failed"}
    assert all((e.reason is None) == (e.outcome == "ingested") for e in recordings)


def test_ingest_returns_the_typed_summary_and_events(tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    events: list[Event] = []
    s = ingest(tusz_corpus.root, tmp_path / "s.zarr", n_jobs=2, progress=events.append)
    assert isinstance(s, Summary) and s.found == s.ingested + len(s.skipped) + len(s.failed)
    assert [type(e) for e in events[:1] + events[-1:]] == [Started, Indexing]
    recordings = [e for e in events if isinstance(e, Recording)]
    assert len(recordings) == s.found and sum(e.outcome == "ingested" for e in recordings) == s.ingested
    for outcome, pairs in (("failed", s.failed), ("skipped", s.skipped)):
        assert sorted((e.path, e.reason) for e in recordings if e.outcome == outcome) == sorted(pairs)


def test_pickle_and_equality(native_run: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    raw, raw_events = native_run
    s = Summary.from_dict(raw)
    assert pickle.loads(pickle.dumps(s)) == s
    assert Summary.from_dict(json.loads(json.dumps(raw))) == s and s != Summary()
    for e in (event_from_dict(x) for x in raw_events):
        assert pickle.loads(pickle.dumps(e)) == e and hash(e) == hash(pickle.loads(pickle.dumps(e)))
    assert Started(3, 1, 10) != Started(3, 1, 11)
    assert Indexing(5) != Started(5, 0, 0)
    assert repr(Recording("a.edf", "failed", "bad", 7)) == "Recording(path='a.edf', outcome='failed', reason='bad', bytes=7)"
    with pytest.raises(AttributeError):
        s.ingested = 0  # type: ignore[misc]


def test_partial_and_unknown_fields_as_serde_reads_them() -> None:
    """Absent fields default (a Dask batch's partial summary), unknown ones are ignored
    (a store's index metadata carries its state beside the summary's fields)."""
    s = Summary.from_dict({"failed": [["a.edf", "a.edf: bad"]], "state": "complete"})
    assert s == Summary(failed=(("a.edf", "a.edf: bad"),))
    assert s.to_dict()["failed"] == [["a.edf", "a.edf: bad"]] and "state" not in s.to_dict()


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"event": "finished"}, "unknown kind 'finished'"),
        ({"found": 1}, "unknown kind None"),
        ({"event": "started", "found": 1}, "ingest event 'started'"),
        ({"event": "indexing", "recordings": 1, "extra": 2}, "ingest event 'indexing'"),
    ],
)
def test_bad_events_are_named(d: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_from_dict(d)


class _Stream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_reads_typed_events() -> None:
    out = _Stream()
    show = Progress(out, interval=0.0)
    show(Started(found=3, current=1, bytes=300))
    show(Recording("a.edf", "ingested", None, 100))
    show(Recording("b.edf", "failed", "b.edf: truncated", 200))
    show(Indexing(recordings=2))
    lines = out.getvalue().splitlines()
    assert lines[0] == "3 recordings found, 1 already in the store, 2 to ingest"
    assert "failed: b.edf: truncated" in lines
    assert lines[-2].startswith("2/2 recordings") and lines[-2].endswith("1 failed, 0 skipped")
    assert lines[-1] == "rebuilding the index over 2 recordings"
