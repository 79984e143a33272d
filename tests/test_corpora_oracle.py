"""The generated CHB-MIT, Siena, SeizeIT1 and SzCORE corpora, read by epilepsy2bids (the converter
behind SzCORE, an independent reader of all four): it finds the seizures and types the generator
meant, except where it is known to read the files otherwise (DIFFERS, FAILS, each with its reason)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyedflib
import pytest
from epilepsy2bids.annotations import Annotations, SeizureType  # type: ignore[import-untyped]
from epilepsy2bids.load_annotations import chbmit, seizeit, siena  # type: ignore[import-untyped]

from tests.corpora import CHBMIT_LISTED_ABSENT, SEIZEIT_OPEN_END_S, WRITERS, CorpusRecording, Intervals

#: Seizures (None: unlabeled) and their types.
Read = tuple[Intervals | None, tuple[str, ...]]
Corpora = dict[str, tuple[Path, list[CorpusRecording]]]

LOADERS: dict[str, Callable[[str], Annotations]] = {
    "chbmit": chbmit.loadAnnotationsFromEdf,
    "siena": siena.loadAnnotationsFromEdf,
    "seizeit": seizeit.loadAnnotationsFromEdf,
    "bids": lambda edf: Annotations.loadTsv(edf.removesuffix("_eeg.edf") + "_events.tsv"),
}
#: Where epilepsy2bids reads other seizures than the dataset means, and what it reads.
DIFFERS: dict[str, Read] = {
    # A file the summary leaves out is unannotated; it reads it as background, like one listed with 0.
    "chb01/chb01_04.edf": ((), ()),
    # "Seizure end time: 11.40.50 opure 11.40.43": it takes the last time in a line.
    "PN10/PN10-2.edf": (((2.0, 8.0),), ("sz_foc_f2b",)),
    # It counts from the list's registration start, which is 3 h before the EDF header's start.
    "PN14/PN14-3.edf": (((10805.0, 10817.0),), ("sz_foc_a",)),
}
#: What it raises for: an EDF without its annotation file (unlabeled).
FAILS: dict[str, type[Exception]] = {"P_ID83/P_ID83_r1.edf": FileNotFoundError}


def _rounded(seizures: Intervals) -> Intervals:
    """To 0.01 s, the resolution of SzCORE's TSVs (the native formats have whole seconds)."""
    return tuple((round(a, 2), round(b, 2)) for a, b in seizures)


def read(corpus: str, root: Path, rec: CorpusRecording) -> Read:
    """The seizures and types epilepsy2bids reads; without seizures it must give one ``bckg`` event over the file."""
    events: list[dict[str, Any]] = LOADERS[corpus](str(root / rec.rel)).events
    duration = rec.n_samples / rec.fs
    for e in events:
        assert (e["dateTime"], e["recordingDuration"]) == (rec.start, duration), rec.rel
    seizures = [e for e in events if e["eventType"].value != "bckg"]
    if not seizures:
        assert [(e["onset"], e["duration"]) for e in events] == [(0, duration)], rec.rel
    intervals = tuple((float(e["onset"]), float(e["onset"]) + float(e["duration"])) for e in seizures)
    return _rounded(intervals), tuple(e["eventType"].value for e in seizures)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Corpora:
    root = tmp_path_factory.mktemp("corpora")
    return {name: (root / name, write(root / name)) for name, write in WRITERS.items()}


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_epilepsy2bids_reads_the_seizures_written(corpus: str, corpora: Corpora) -> None:
    root, records = corpora[corpus]
    got: dict[str, Read] = {}
    want: dict[str, Read] = {}
    for rec in records:
        if rec.rel in FAILS:
            with pytest.raises(FAILS[rec.rel]):
                read(corpus, root, rec)
            continue
        got[rec.rel] = read(corpus, root, rec)
        seizures = None if rec.seizures is None else _rounded(rec.seizures)
        want[rec.rel] = DIFFERS[rec.rel] if rec.rel in DIFFERS else (seizures, rec.types)
    assert got == want


def test_every_known_difference_is_written(corpora: Corpora) -> None:
    written = {rec.rel for _, records in corpora.values() for rec in records}
    assert set(DIFFERS) | set(FAILS) <= written


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_edf_headers_hold_what_the_records_say(corpus: str, corpora: Corpora) -> None:
    """pyedflib, a third reader, sees the labels, rate, length and start each record promises."""
    root, records = corpora[corpus]
    for rec in records:
        with pyedflib.EdfReader(str(root / rec.rel)) as edf:
            got = (tuple(edf.getSignalLabels()), set(edf.getSampleFrequencies()), set(edf.getNSamples()))
            assert (*got, edf.getStartdatetime()) == (rec.channels, {rec.fs}, {rec.n_samples}, rec.start), rec.rel


def test_types_are_szcore_seizure_types(corpora: Corpora) -> None:
    """One type per seizure, each in the HED-SCORE vocabulary of epilepsy2bids' events.json."""
    for _, records in corpora.values():
        for rec in records:
            assert len(rec.types) == len(rec.seizures or ()), rec.rel
            assert set(rec.types) <= set(SeizureType.__members__), rec.rel


def test_seizeit_open_end_is_30_s_of_half_confidence(corpora: Corpora) -> None:
    """SeizeIT1 leaves some ends out (``None``); SzCORE gives such a seizure 30 s and confidence 0.5."""
    root, _ = corpora["seizeit"]
    (event,) = seizeit.loadAnnotationsFromEdf(str(root / "P_ID64/P_ID64_r1.edf")).events
    assert (event["onset"], event["duration"], event["confidence"]) == (10, SEIZEIT_OPEN_END_S, 0.5)


def test_chbmit_summary_lists_a_file_that_is_absent(corpora: Corpora) -> None:
    root, records = corpora["chbmit"]
    folder, name = CHBMIT_LISTED_ABSENT.split("/")
    assert f"File Name: {name}\n" in (root / folder / f"{folder}-summary.txt").read_text()
    assert not (root / CHBMIT_LISTED_ABSENT).exists()
    assert CHBMIT_LISTED_ABSENT not in {rec.rel for rec in records}


def test_corpora_are_deterministic_and_small(corpora: Corpora, tmp_path: Path) -> None:
    """Written again, every file is the same byte for byte; all four corpora hold under 15 MB."""
    total = 0
    for name, write in WRITERS.items():
        first, _ = corpora[name]
        write(tmp_path / name)
        files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file())
        for f in files:
            assert (first / f).read_bytes() == (tmp_path / name / f).read_bytes(), f
            total += (first / f).stat().st_size
    assert total < 15 * 2**20
