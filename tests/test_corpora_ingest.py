"""brainbrr ingesting the generated CHB-MIT, Siena, SeizeIT1 and SzCORE BIDS corpora (tests/corpora.py).

Every expected value comes from how the corpora were written (the generator's records) and, where
it reads them as the generator meant (test_corpora_oracle.py), from epilepsy2bids, an independent
reader of all four formats: each stored label is checked against both. Where brainbrr deliberately
reads a file otherwise than epilepsy2bids, ``DEPARTURES`` says why.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from brainbrr import IngestError, read_edf
from brainbrr.ingest import Summary, ingest
from brainbrr.preprocessing import preprocess
from tests.conftest import ExpectedRecording, read_array, read_attrs, read_column, run_cli, run_ingest
from tests.corpora import BIDS_BIPOLAR, CHBMIT_CHANNELS, CHBMIT_LISTED_ABSENT, WRITERS, CorpusRecording
from tests.test_corpora_oracle import DIFFERS, FAILS, read
from tests.test_ingest import labels_of, n_out, rid_of

FS = 256
WINDOW_S = 4.0
#: The TCP montage (bipolar files are usable only with it) and windows short enough for 20-64 s recordings.
CONFIG: dict[str, Any] = {"montage": {"kind": "tcp"}, "window_s": WINDOW_S, "stride_s": WINDOW_S}
WINDOW = int(WINDOW_S * FS)

#: The stored type code's name (the store's ``type_names`` are TUSZ's labels) of each SzCORE name the
#: corpora use: epilepsy2bids' TUSZ mapping (load_annotations/tuh.py) read backwards, and brainbrr's own
#: ``fbtc`` for focal to bilateral tonic-clonic, which TUSZ has no label for.
SZCORE_TO_TUSZ = {
    "sz": "seiz",
    "sz_foc_a": "spsz",
    "sz_foc_ia": "cpsz",
    "sz_foc_f2b": "fbtc",
    "sz_gen_m_tonicClonic": "tcsz",
}

#: Where brainbrr stores other labels than epilepsy2bids reads (every key of the oracle's DIFFERS and
#: FAILS), and why; brainbrr stores what the generator meant in each.
DEPARTURES: dict[str, str] = {
    # epilepsy2bids reads a file its folder's summary does not list as background (one bckg event);
    # brainbrr stores it unlabeled (255): no annotation covers it, and a missing listing is not a
    # statement that the file holds no seizure.
    "chb01/chb01_04.edf": "not in the summary: unlabeled, not background",
    # "Seizure end time: A opure B": epilepsy2bids takes the last time (B, the shorter seizure);
    # brainbrr takes A, as the generator means.
    "PN10/PN10-2.edf": "'A opure B' end: the first time",
    # The list's registration start is 3 h before the EDF header's start: epilepsy2bids counts the
    # seizure from the list's (10805 s, past the end of a 20 s file); brainbrr counts from the header's
    # start, as the generator does (with a warning: test_siena_registration_start_disagreement_is_a_warning).
    "PN14/PN14-3.edf": "registration start disagrees with the header: the header's counts",
    # No _a1.tsv: epilepsy2bids raises FileNotFoundError; brainbrr ingests it unlabeled.
    "P_ID83/P_ID83_r1.edf": "no TSV: unlabeled, not an error",
}

#: The TCP pairs each bipolar corpus's recorded pairs give, under the 10-20 names of the montage.
_OLD_NAMES = {"T7": "T3", "P7": "T5", "T8": "T4", "P8": "T6"}


def _renamed(pair: str) -> str:
    return "-".join(_OLD_NAMES.get(e, e) for e in pair.upper().split("-"))


BIPOLAR_PAIRS = {"chbmit": {_renamed(p) for p in CHBMIT_CHANNELS}, "bids": {_renamed(p) for p in BIDS_BIPOLAR}}


@dataclass(frozen=True)
class Ingested:
    """One generated corpus and the store it was ingested into (TCP montage, 4 s windows)."""

    root: Path
    store: Path
    records: list[CorpusRecording]
    summary: Summary

    def record(self, rel: str) -> CorpusRecording:
        return next(r for r in self.records if r.rel == rel)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ingested]:
    """Each corpus written once and ingested into its own store; read-only for the tests."""
    root, stores = tmp_path_factory.mktemp("corpora"), tmp_path_factory.mktemp("stores")
    out: dict[str, Ingested] = {}
    for name, write in WRITERS.items():
        records = write(root / name)
        store = stores / f"{name}.zarr"
        out[name] = Ingested(root / name, store, records, ingest(root / name, store, CONFIG, n_jobs=2))
    return out


def index_rows(store: Path) -> dict[str, dict[str, Any]]:
    """index/recordings, read with zarr-python, as path -> row (channel_present a bool row)."""
    names = ("rid", "path", "corpus", "patient", "session", "run", "split", "n_samples", "n_windows")
    cols = {name: read_column(store, f"index/recordings/{name}") for name in names}
    present = read_array(store, "index/recordings/channel_present").astype(bool).reshape(len(cols["rid"]), -1)
    return {
        path: {**{name: values[i] for name, values in cols.items()}, "channel_present": present[i]}
        for i, path in enumerate(cols["path"])
    }


def type_codes(store: Path) -> dict[str, int]:
    """SzCORE name -> the code the store's ``type_names`` give its TUSZ label."""
    by_name = {name: int(code) for code, name in read_attrs(store)["brainbrr"]["type_names"].items()}
    return {szcore: by_name[tusz] for szcore, tusz in SZCORE_TO_TUSZ.items()}


def expected(rec: CorpusRecording) -> ExpectedRecording:
    """``rec`` as test_ingest's label helpers (``labels_of``, ``n_out``) take it."""
    return ExpectedRecording(rec.rel, rec.fs, rec.n_samples, rec.seizures)


def types_of(rec: CorpusRecording, codes: dict[str, int]) -> npt.NDArray[np.uint8]:
    """Per-sample type codes, sampled as ``labels_of`` samples labels: 255 unlabeled, 0 background."""
    n = n_out(expected(rec))
    if rec.seizures is None:
        return np.full(n, 255, np.uint8)
    t = np.arange(n) / FS
    y = np.zeros(n, np.uint8)
    for (a, b), name in zip(rec.seizures, rec.types, strict=True):
        y[(t >= a) & (t < b)] = codes[name]
    return y


def stored(store: Path, rel: str, array: str) -> npt.NDArray[Any]:
    return read_array(store, f"recordings/{rid_of(rel)}/{array}")


# --- Every recording as the generator wrote it --------------------------------


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_every_recording_is_stored_with_its_identity(corpus: str, corpora: dict[str, Ingested]) -> None:
    """Each written EDF is one recording, under the corpus's own patient/session/run names; nothing fails."""
    c = corpora[corpus]
    s = c.summary
    assert (s.found, s.ingested, s.skipped, s.failed) == (len(c.records), len(c.records), (), ())
    rows = index_rows(c.store)
    assert sorted(rows) == sorted(r.rel for r in c.records)
    for rec in c.records:
        row = rows[rec.rel]
        n = n_out(expected(rec))
        got = (row["rid"], row["corpus"], row["patient"], row["session"], row["run"], row["split"])
        assert got == (rid_of(rec.rel), corpus, rec.patient, rec.session, rec.run, ""), rec.rel
        assert (row["n_samples"], row["n_windows"]) == (n, n // WINDOW), rec.rel
    if corpus == "chbmit":
        # Listed in chb01's summary with a seizure, but not on disk: nothing to store, nothing failed.
        assert CHBMIT_LISTED_ABSENT not in rows and not read_column(c.store, "index/failures/path")


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_labels_and_types_are_the_generators(corpus: str, corpora: dict[str, Ingested]) -> None:
    """Per-sample labels (255 unlabeled, 0 background, 1 seizure) and type codes follow the intervals written."""
    c = corpora[corpus]
    codes = type_codes(c.store)
    for rec in c.records:
        np.testing.assert_array_equal(stored(c.store, rec.rel, "label"), labels_of(expected(rec)), err_msg=rec.rel)
        np.testing.assert_array_equal(stored(c.store, rec.rel, "type"), types_of(rec, codes), err_msg=rec.rel)


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_labels_agree_with_epilepsy2bids(corpus: str, corpora: dict[str, Ingested]) -> None:
    """Where epilepsy2bids reads a file as the generator meant, brainbrr's labels and types are its events."""
    c = corpora[corpus]
    codes = type_codes(c.store)
    for rec in c.records:
        if rec.rel in DIFFERS or rec.rel in FAILS:
            continue
        seizures, types = read(corpus, c.root, rec)
        oracle = replace(rec, seizures=seizures, types=types)
        np.testing.assert_array_equal(stored(c.store, rec.rel, "label"), labels_of(expected(oracle)), err_msg=rec.rel)
        np.testing.assert_array_equal(stored(c.store, rec.rel, "type"), types_of(oracle, codes), err_msg=rec.rel)


def test_where_brainbrr_departs_from_epilepsy2bids(corpora: dict[str, Ingested]) -> None:
    """Each file epilepsy2bids reads otherwise is a documented departure; brainbrr keeps the generator's labels."""
    assert sorted(DEPARTURES) == sorted({*DIFFERS, *FAILS})
    by_rel = {rec.rel: (c, rec) for c in corpora.values() for rec in c.records}
    for rel in DEPARTURES:
        c, rec = by_rel[rel]
        got = stored(c.store, rel, "label")
        np.testing.assert_array_equal(got, labels_of(expected(rec)), err_msg=rel)
        if rel in DIFFERS:
            theirs = labels_of(expected(replace(rec, seizures=DIFFERS[rel][0])))
            assert not np.array_equal(got, theirs), rel


@pytest.mark.parametrize("corpus", list(WRITERS))
def test_montage_channels_present_and_absent(corpus: str, corpora: dict[str, Ingested]) -> None:
    """TCP pairs: a bipolar file gives the pairs it records, the rest are zeros and absent;
    a referential file gives every pair but those of A1/A2, which these corpora lack."""
    c = corpora[corpus]
    channels: list[str] = read_attrs(c.store)["brainbrr"]["channels"]
    rows = index_rows(c.store)
    for rec in c.records:
        # SzCORE's BIDS copy of CHB-MIT (sub-01) is bipolar too.
        bipolar = BIPOLAR_PAIRS[corpus] if corpus == "chbmit" or rec.patient == "sub-01" else None
        want = [ch in bipolar if bipolar is not None else not {"A1", "A2"} & set(ch.split("-")) for ch in channels]
        assert rows[rec.rel]["channel_present"].tolist() == want, rec.rel
        signal = stored(c.store, rec.rel, "signal")
        assert [bool(np.any(row)) for row in signal] == want, rec.rel


def test_bipolar_pairs_are_used_as_recorded(corpora: dict[str, Ingested]) -> None:
    """CHB-MIT's T7-P7 is the montage's T3-T5 (not P7-T7 reversed), and of its two T8-P8 channels the first
    is T4-T6: each stored channel is that EDF signal preprocessed alone."""
    c = corpora["chbmit"]
    rec = c.record("chb01/chb01_01.edf")
    edf = read_edf(c.root / rec.rel)
    channels: list[str] = read_attrs(c.store)["brainbrr"]["channels"]
    signal = stored(c.store, rec.rel, "signal")
    labels = list(edf.labels)
    candidates = {
        i: preprocess(edf.signal(i)[None, :], rec.fs, CONFIG)[0][0]
        for i, label in enumerate(labels)
        if label in ("T7-P7", "P7-T7", "T8-P8")
    }
    for montage_pair, edf_index in (("T3-T5", labels.index("T7-P7")), ("T4-T6", labels.index("T8-P8"))):
        got = signal[channels.index(montage_pair)]
        closest = min(candidates, key=lambda i: float(np.max(np.abs(candidates[i] - got))))
        assert closest == edf_index, (montage_pair, labels[closest], closest)
        np.testing.assert_allclose(got, candidates[edf_index], atol=1e-4, err_msg=montage_pair)


# --- Warnings and skips -----------------------------------------------------------


def line_of(path: Path, prefix: str) -> int:
    """The 1-based number of the first line of ``path`` that starts with ``prefix``."""
    lines = path.read_bytes().decode().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))


def test_siena_hour_typo_is_corrected_with_a_warning(corpora: dict[str, Ingested]) -> None:
    """PN00-3's listed end is an hour late: read an hour earlier (the labels test checks that), and
    reported at the line that holds the wrong hour, the end's."""
    siena = corpora["siena"]
    pn00 = siena.root / "PN00" / "Seizures-list-PN00.txt"
    hour = dict(siena.summary.warnings).get("PN00/PN00-3.edf", "")
    assert f"{pn00}:{line_of(pn00, 'Seizure end time:')}:" in hour and "an hour" in hour, siena.summary.warnings


def test_siena_registration_start_disagreement_is_a_warning(corpora: dict[str, Ingested]) -> None:
    """PN14-3's listed registration start is 3 h before its EDF header's start: the header's counts, with a
    warning at the registration line."""
    siena = corpora["siena"]
    pn14 = siena.root / "PN14" / "Seizures-list-PN14.txt"
    start = dict(siena.summary.warnings).get("PN14/PN14-3.edf", "")
    assert f"{pn14}:{line_of(pn14, 'Registration start time:')}:" in start, siena.summary.warnings
    assert "registration start" in start and "header" in start and "10800 s" in start, start


def test_chbmit_duplicate_channel_is_a_warning(corpora: dict[str, Ingested]) -> None:
    """Every CHB-MIT file records T8-P8 twice: the first copy is T4-T6, and each file says so."""
    chbmit = corpora["chbmit"]
    for rec in chbmit.records:
        notes = [text for path, text in chbmit.summary.warnings if path == rec.rel]
        assert any("T8-P8" in t and "2 times" in t and "first" in t for t in notes), (rec.rel, notes)


@pytest.fixture(scope="module")
def chbmit_referential(
    corpora: dict[str, Ingested], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, dict[str, Any]]:
    """``brainbrr-ingest`` on CHB-MIT with the default (referential) montage: exit status, stderr, summary."""
    store = tmp_path_factory.mktemp("referential") / "s.zarr"
    proc, summary = run_ingest(corpora["chbmit"].root, store, "--window", "4", "--stride", "4")
    assert summary is not None, proc.stderr
    return proc.returncode, proc.stderr, summary


def test_referential_montage_skips_bipolar_files_saying_why(
    corpora: dict[str, Ingested], chbmit_referential: tuple[int, str, dict[str, Any]]
) -> None:
    """Every CHB-MIT file is skipped (not failed) with a reason that says to use --montage tcp; nothing
    ingested is exit 2 with one error line giving that reason."""
    code, stderr, s = chbmit_referential
    records = corpora["chbmit"].records
    assert (s["found"], s["ingested"], s["failed"]) == (len(records), 0, [])
    skipped = dict(s["skipped"])
    assert sorted(skipped) == sorted(r.rel for r in records)
    for rel, reason in skipped.items():
        assert rel in reason and "bipolar" in reason and "--montage tcp" in reason, reason
    assert code == 2, stderr
    err = stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert f"{len(records)} skipped" in err and "--montage tcp" in err, err


def test_following_the_skip_advice_ingests_them(corpora: dict[str, Ingested], tmp_path: Path) -> None:
    """``--montage tcp``, as the skip reason says, ingests every CHB-MIT file (exit 0), as the API did."""
    c = corpora["chbmit"]
    proc, s = run_ingest(c.root, tmp_path / "s.zarr", "--montage", "tcp", "--window", "4", "--stride", "4")
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["ingested"], s["skipped"], s["failed"]) == (len(c.records), [], [])
    for rec in c.records:
        np.testing.assert_array_equal(stored(tmp_path / "s.zarr", rec.rel, "label"), stored(c.store, rec.rel, "label"))


def test_referential_bids_skips_only_the_bipolar_subject(corpora: dict[str, Ingested], tmp_path: Path) -> None:
    """SzCORE's CHB-MIT subject (sub-01) is bipolar: skipped with the same advice; sub-02 (-Avg) is ingested."""
    c = corpora["bids"]
    s = ingest(c.root, tmp_path / "s.zarr", {"window_s": WINDOW_S, "stride_s": WINDOW_S}, n_jobs=2)
    bipolar = sorted(r.rel for r in c.records if r.patient == "sub-01")
    assert sorted(p for p, _ in s.skipped) == bipolar and not s.failed
    assert all("--montage tcp" in reason for _, reason in s.skipped), s.skipped
    assert s.ingested == len(c.records) - len(bipolar)


# --- Reading the stores back -------------------------------------------------------


@pytest.fixture(scope="module")
def two_corpora(corpora: dict[str, Ingested], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CHB-MIT and Siena ingested in turn into one store."""
    store = tmp_path_factory.mktemp("two") / "s.zarr"
    for name in ("chbmit", "siena"):
        s = ingest(corpora[name].root, store, CONFIG, n_jobs=2)
        assert s.ingested == len(corpora[name].records) and not s.failed, s
    return store


def test_dataset_filters_by_corpus(corpora: dict[str, Ingested], two_corpora: Path) -> None:
    """``corpus=`` keeps that corpus's windows, each traced back to its recording; ``corpora`` lists the store's."""
    from brainbrr import ZarrWindowDataset

    everything = ZarrWindowDataset(two_corpora, drop_unlabeled=False)
    assert everything.corpora == ["chbmit", "siena"]
    c = corpora["chbmit"]
    ds = ZarrWindowDataset(two_corpora, corpus="chbmit", drop_unlabeled=False, label="per_sample")
    assert ds.corpora == ["chbmit"]
    by_rid = {rid_of(rec.rel): rec for rec in c.records}
    assert sorted(ds.rids) == sorted(by_rid)
    for r, rid in enumerate(ds.rids):
        rec = by_rid[rid]
        assert (ds.recording_patients[r], ds.sessions[r], ds.runs[r]) == (rec.patient, rec.session, rec.run), rid
    assert len(ds) == sum(n_out(expected(rec)) // WINDOW for rec in c.records)
    for i in range(len(ds)):
        info = ds.info(i)
        rec = by_rid[info["recording"]]
        assert (info["corpus"], info["patient"], info["session"], info["run"]) == (
            "chbmit",
            rec.patient,
            rec.session,
            rec.run,
        )
        _, y = ds[i]
        want = labels_of(expected(rec))[info["start"] : info["start"] + WINDOW]
        np.testing.assert_array_equal(y.numpy(), want, err_msg=str(info))
    # The unlabeled recording's windows are 255, and left out by default.
    labeled = ZarrWindowDataset(two_corpora, corpus="chbmit")
    assert len(labeled) == len(ds) - n_out(expected(c.record("chb01/chb01_04.edf"))) // WINDOW


def test_dataset_refuses_a_corpus_the_store_lacks(two_corpora: Path) -> None:
    """An unknown corpus is an error naming what the store holds, never an empty dataset."""
    from brainbrr import ZarrWindowDataset

    with pytest.raises(ValueError, match=r"'tusz'.*'chbmit', 'siena'"):
        ZarrWindowDataset(two_corpora, corpus="tusz")


# --- Malformed annotations fail their recordings, naming file and line --------------


def _lines(path: Path) -> tuple[list[str], str]:
    """The lines of ``path`` and its line ending (Siena's PN06 list is CRLF)."""
    text = path.read_bytes().decode()
    return text.splitlines(), "\r\n" if "\r\n" in text else "\n"


def _rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines, newline = _lines(path)
    path.write_bytes((newline.join(edit(lines)) + newline).encode())


def _chbmit_count(root: Path) -> dict[str, tuple[str, ...]]:
    """chb01_01's block says 2 seizures and lists 1: the summary is read whole, so its folder's files fail."""
    summary = root / "chb01" / "chb01-summary.txt"
    lines, _ = _lines(summary)
    block = lines.index("File Name: chb01_01.edf")
    n = next(i for i in range(block, len(lines)) if lines[i].startswith("Number of Seizures in File:"))
    _rewrite(summary, lambda ls: [*ls[:n], "Number of Seizures in File: 2", *ls[n + 1 :]])
    where = (f"{summary}:{n + 1}:", "Number of Seizures in File: 2")
    return {f"chb01/{p.name}": where for p in sorted((root / "chb01").glob("*.edf"))}


def _siena_open_start(root: Path) -> dict[str, tuple[str, ...]]:
    """PN06's seizure loses its end line: the start's line is named, and its text quoted."""
    path = root / "PN06" / "Seizures-list-PN06.txt"
    lines, _ = _lines(path)
    start = line_of(path, "Seizure start time:")
    _rewrite(path, lambda ls: [line for line in ls if not line.startswith("Seizure end time:")])
    return {"PN06/PN06-1.edf": (f"{path}:{start}:", "without its end", lines[start - 1].strip())}


def _seizeit_bad_number(root: Path) -> dict[str, tuple[str, ...]]:
    """A row's start is ``abc``."""
    path = root / "P_ID64" / "P_ID64_r2_a1.tsv"
    row = line_of(path, "5\t12\t")
    _rewrite(path, lambda ls: [("abc" + line[1:] if i == row else line) for i, line in enumerate(ls, 1)])
    return {"P_ID64/P_ID64_r2.edf": (f"{path}:{row}:", '"abc"')}


def _bids_no_event_type(root: Path) -> dict[str, tuple[str, ...]]:
    """An events.tsv without its eventType column."""
    stem = "sub-02/ses-01/eeg/sub-02_ses-01_task-szMonitoring_run-01"
    path = root / f"{stem}_events.tsv"

    def drop(lines: list[str]) -> list[str]:
        column = lines[0].split("\t").index("eventType")
        return ["\t".join(f for j, f in enumerate(line.split("\t")) if j != column) for line in lines]

    _rewrite(path, drop)
    return {f"{stem}_eeg.edf": (f"{path}:1:", "eventType")}


DAMAGE: dict[str, tuple[str, Callable[[Path], dict[str, tuple[str, ...]]]]] = {
    "chbmit summary count mismatch": ("chbmit", _chbmit_count),
    "siena start without end": ("siena", _siena_open_start),
    "seizeit bad number": ("seizeit", _seizeit_bad_number),
    "bids no eventType column": ("bids", _bids_no_event_type),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_malformed_annotation_fails_its_recordings(case: str, corpora: dict[str, Ingested], tmp_path: Path) -> None:
    """A malformed annotation file fails the recordings it annotates, the reason naming file:line and the
    text; the corpus's other recordings are ingested."""
    corpus, damage = DAMAGE[case]
    root = tmp_path / corpus
    shutil.copytree(corpora[corpus].root, root)
    want = damage(root)
    s = ingest(root, tmp_path / "s.zarr", CONFIG, n_jobs=2)
    failed = dict(s.failed)
    assert sorted(failed) == sorted(want), failed
    for rel, words in want.items():
        assert all(w in failed[rel] for w in words), (rel, failed[rel], words)
    assert s.ingested == len(corpora[corpus].records) - len(want) and not s.skipped


# --- A source whose names fit two corpora -------------------------------------------


def _mixed(corpora: dict[str, Ingested], root: Path) -> Path:
    """A source holding CHB-MIT's chb17 and Siena's PN14 (with Siena's subject_info.csv)."""
    shutil.copytree(corpora["chbmit"].root / "chb17", root / "chb17")
    shutil.copytree(corpora["siena"].root / "PN14", root / "PN14")
    shutil.copyfile(corpora["siena"].root / "subject_info.csv", root / "subject_info.csv")
    return root


def test_mixed_source_is_ambiguous(corpora: dict[str, Ingested], tmp_path: Path) -> None:
    """A CHB-MIT and a Siena file in one source: the CLI exits 2 with one line naming both candidates,
    the API raises IngestError (as ``ingest``'s docstring says) with the same; no store is created."""
    mixed = _mixed(corpora, tmp_path / "mixed")
    store = tmp_path / "s.zarr"
    candidates = r"chbmit \(chb17/chb17a_03\.edf\).*siena \(PN14/PN14-3\.edf\)"
    proc = run_cli("brainbrr-ingest", mixed, "--out", store, "--montage", "tcp")
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and re.search(candidates, err), (proc.returncode, err)
    assert not store.exists()
    with pytest.raises(IngestError, match=candidates):
        ingest(mixed, store, CONFIG, n_jobs=2)
    assert not store.exists()


def test_mixed_source_read_as_the_corpus_given(corpora: dict[str, Ingested], tmp_path: Path) -> None:
    """``corpus="siena"`` reads both files as Siena: PN14-3 labelled from its list, the CHB-MIT file unlabeled."""
    mixed = _mixed(corpora, tmp_path / "mixed")
    store = tmp_path / "s.zarr"
    s = ingest(mixed, store, CONFIG, n_jobs=2, corpus="siena")
    assert (s.found, s.ingested, s.failed, s.skipped) == (2, 2, (), ())
    rows = index_rows(store)
    assert {row["corpus"] for row in rows.values()} == {"siena"}
    pn14 = corpora["siena"].record("PN14/PN14-3.edf")
    np.testing.assert_array_equal(stored(store, pn14.rel, "label"), labels_of(expected(pn14)))
    # Read as Siena, the CHB-MIT file has no seizure list covering it (unlabeled) and no Siena patient
    # name: the patient it lacks is left empty and named in the warnings, as for a path a layout does not fit.
    chb = corpora["chbmit"].record("chb17/chb17a_03.edf")
    assert (rows[chb.rel]["patient"], rows[chb.rel]["run"]) == ("", "chb17a_03")
    np.testing.assert_array_equal(stored(store, chb.rel, "label"), labels_of(expected(replace(chb, seizures=None))))
    assert any(path == chb.rel and "patient" in text for path, text in s.warnings), s.warnings
