"""Several corpora in one store: ``brainbrr-ingest tusz chbmit siena seizeit bids --out all.zarr``.

Five local sources (the TUSZ-like fixture corpus, copied under a folder named ``tusz``, and the four
generated corpora of tests/corpora.py) go into one store with the TCP montage and 4 s windows. Every
expected value comes from how the sources were written (the generators' records, the TUSZ fixture's
``ExpectedRecording``s, its EDF headers read with pyedflib) and from class maps written out here by
hand; nothing is compared with an earlier brainbrr output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyedflib
import pytest

from brainbrr import IngestError, ZarrWindowDataset
from brainbrr.ingest import ingest
from tests.conftest import BIN, ExpectedRecording, TuszCorpus, read_column
from tests.corpora import WRITERS, CorpusRecording
from tests.test_ingest import chunk_identities, labels_of, n_out, rid_of, windows_of

FS = 256
WINDOW_S = 4
WINDOW = WINDOW_S * FS
#: The sources, as the user names them on the command line (each is a folder of that name).
SOURCES = ("tusz", "chbmit", "siena", "seizeit", "bids")
#: TCP: CHB-MIT (and SzCORE's copy of it) is bipolar, usable only with it; 4 s windows for 20-64 s recordings.
FLAGS = ("--montage", "tcp", "--window", str(WINDOW_S), "--stride", str(WINDOW_S), "-j", "2")

#: The stored type codes' names, in code order (rust/core/src/labels/types.rs TYPE_CODES), written out here.
TUSZ_NAMES = ["bckg", "seiz", "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz", "fbtc"]
#: The same codes' SzCORE (HED-SCORE) names (types.rs SZCORE_NAMES), in the same order.
SZCORE_NAMES = [
    "bckg", "sz", "sz_foc", "sz_gen", "sz_foc_a", "sz_foc_ia", "sz_gen_nm", "sz_gen_m_tonic",
    "sz_gen_m_clonic", "sz_gen_m_tonicClonic", "sz_gen_m_atonic", "sz_gen_nm_myoclonic", "sz_foc_f2b",
]  # fmt: skip
#: Focal, generalized, unknown type: a classifier's merged classes.
MERGED = {"bckg": 0, "sz_foc": 1, "sz_gen": 2, "sz": 3}


def merged_class(szcore: str) -> int:
    """``MERGED``'s class of a SzCORE name, by hand: its own entry, else its nearest ancestor's
    (``sz_foc_ia`` is under ``sz_foc``, ``sz_gen_m_tonicClonic`` under ``sz_gen``)."""
    if szcore in ("bckg", "sz"):
        return MERGED[szcore]
    family = "_".join(szcore.split("_")[:2])
    assert family in ("sz_foc", "sz_gen"), szcore
    return MERGED[family]


# --- The sources and the store --------------------------------------------------


def cli(cwd: Path, program: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``program ARGS`` run in ``cwd``, so that sources are named as a user names them (``tusz chbmit ...``)."""
    return subprocess.run(
        [str(BIN / program), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def ingest_json(cwd: Path, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``brainbrr-ingest ARGS --json`` in ``cwd``: the process and its parsed summary."""
    proc = cli(cwd, "brainbrr-ingest", *args, "--json")
    assert proc.stdout.strip(), (proc.returncode, proc.stderr)
    return proc, json.loads(proc.stdout)


def write_sources(root: Path, tusz: TuszCorpus) -> dict[str, list[CorpusRecording]]:
    """The TUSZ fixture copied to ``root/tusz`` (a copy: a symlink's recordings are stored under its
    target's name) and the four generated corpora under ``root/<corpus>``; the generators' records."""
    shutil.copytree(tusz.root, root / "tusz")
    return {name: write(root / name) for name, write in WRITERS.items()}


@dataclass(frozen=True)
class Multi:
    """The five sources under ``root`` and the store ``root/all.zarr`` the CLI built from them."""

    root: Path
    tusz: TuszCorpus
    records: dict[str, list[CorpusRecording]]
    proc: subprocess.CompletedProcess[str]
    summary: dict[str, Any]

    @property
    def store(self) -> Path:
        return self.root / "all.zarr"

    def expected(self) -> dict[str, tuple[str, ExpectedRecording, CorpusRecording | None]]:
        """Stored path -> (corpus, what the recording must be, the generator's record or None for TUSZ)."""
        out: dict[str, tuple[str, ExpectedRecording, CorpusRecording | None]] = {
            f"tusz/{rel}": ("tusz", e, None) for rel, e in self.tusz.recordings.items()
        }
        for corpus, records in self.records.items():
            for rec in records:
                out[f"{corpus}/{rec.rel}"] = (corpus, as_expected(rec), rec)
        return out


def as_expected(rec: CorpusRecording) -> ExpectedRecording:
    """A generated recording as test_ingest's label helpers take it."""
    return ExpectedRecording(rec.rel, rec.fs, rec.n_samples, rec.seizures)


@pytest.fixture(scope="module")
def multi(tusz_corpus: TuszCorpus, tmp_path_factory: pytest.TempPathFactory) -> Multi:
    """One CLI ingest of the five sources; read-only for the tests."""
    root = tmp_path_factory.mktemp("multi")
    records = write_sources(root, tusz_corpus)
    proc, summary = ingest_json(root, *SOURCES, "--out", "all.zarr", *FLAGS)
    return Multi(root, tusz_corpus, records, proc, summary)


def prefixed(rels: Iterable[str]) -> list[str]:
    """TUSZ-fixture paths as the multi-source store names them, sorted."""
    return sorted(f"tusz/{rel}" for rel in rels)


def index(store: Path) -> dict[str, dict[str, Any]]:
    """index/recordings as path -> row."""
    names = ("rid", "path", "corpus", "patient", "session", "run", "split", "start_time")
    cols = {name: read_column(store, f"index/recordings/{name}") for name in names}
    return {path: {name: cols[name][i] for name in names} for i, path in enumerate(cols["path"])}


# --- 1. One ingest of five sources ------------------------------------------------


def test_every_recording_of_every_source_is_stored_once(multi: Multi) -> None:
    """Each readable file of each source is one recording, its path ``<folder>/<rel>``; the TUSZ copy's
    failures and skip are its own, prefixed too (exit 1: some of them failed)."""
    s = multi.summary
    want = multi.expected()
    tusz = multi.tusz
    assert multi.proc.returncode == 1, multi.proc.stderr
    assert (s["found"], s["ingested"], s["current"], s["recordings"]) == (
        len(want) + len(tusz.failed) + len(tusz.skipped),
        len(want),
        0,
        len(want),
    )
    assert sorted(p for p, _ in s["failed"]) == prefixed(tusz.failed)
    assert sorted(p for p, _ in s["skipped"]) == prefixed(tusz.skipped)
    paths = read_column(multi.store, "index/recordings/path")
    rids = read_column(multi.store, "index/recordings/rid")
    assert len(set(paths)) == len(paths) and len(set(rids)) == len(rids)
    assert sorted(paths) == sorted(want)
    for path, rid in zip(paths, rids, strict=True):
        assert rid == rid_of(path) and path.split("/")[0] == want[path][0], path
    # The store holds the failures under their prefixed paths too.
    assert sorted(read_column(multi.store, "index/failures/path")) == prefixed([*tusz.failed, *tusz.skipped])


def test_corpus_patient_session_run_per_source(multi: Multi) -> None:
    """Each recording's corpus is its source's (``tusz`` for the TUSZ copy, whose ``other/`` tree fits no
    corpus), and its patient/session/run/split are as its generator wrote them."""
    rows = index(multi.store)
    for path, (corpus, e, rec) in multi.expected().items():
        row = rows[path]
        if rec is None:  # TUSZ: the layout gives split/patient/session; TUSZ names no run
            want = ("tusz", e.patient, e.session, "", e.split)
        else:
            want = (corpus, rec.patient, rec.session, rec.run, "")
        assert (row["corpus"], row["patient"], row["session"], row["run"], row["split"]) == want, path


@dataclass(frozen=True)
class Stats:
    """The per-corpus, per-split statistics a test can count from the sources."""

    recordings: int = 0
    patients: frozenset[str] = frozenset()
    windows: int = 0
    seizure_windows: int = 0
    unlabeled_recordings: int = 0

    def add(self, e: ExpectedRecording, patient: str) -> Stats:
        labels = windows_of(labels_of(e), WINDOW, WINDOW)[1]
        return Stats(
            self.recordings + 1,
            self.patients | ({patient} if patient else set()),
            self.windows + len(labels),
            self.seizure_windows + labels.count(1),
            self.unlabeled_recordings + (e.seizures is None),
        )


def expected_stats(multi: Multi) -> dict[str, dict[str, Stats]]:
    """corpus -> split -> Stats, counted from the TUSZ fixture's truth and the generators' records."""
    out: dict[str, dict[str, Stats]] = {}
    for corpus, e, rec in multi.expected().values():
        split, patient = (e.split, e.patient) if rec is None else ("", rec.patient)
        splits = out.setdefault(corpus, {})
        splits[split] = splits.get(split, Stats()).add(e, patient)
    return out


def info_tables(text: str) -> dict[str, dict[str, int]]:
    """``brainbrr info``'s per-corpus tables as corpus -> split -> recordings; each table must start
    with its header line."""
    tables: dict[str, dict[str, int]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"corpus (\S+):", line)
        if not m:
            continue
        assert lines[i + 1].split()[:2] == ["split", "recordings"], lines[i + 1]
        rows = tables.setdefault(m[1], {})
        for row in lines[i + 2 :]:
            if row.startswith(" "):  # a row's seizure seconds by type
                continue
            fields = row.split()
            if not fields or not re.fullmatch(r"\(none\)|train|dev|eval", fields[0]):
                break
            rows["" if fields[0] == "(none)" else fields[0]] = int(fields[1])
    return tables


def test_info_prints_a_table_per_corpus(multi: Multi) -> None:
    """``brainbrr info all.zarr``: one per-split table per corpus, headed ``corpus NAME:``, each split
    row with the recordings the sources hold."""
    proc = cli(multi.root, "brainbrr", "info", "all.zarr")
    assert proc.returncode == 0, proc.stderr
    want = {c: {split: st.recordings for split, st in splits.items()} for c, splits in expected_stats(multi).items()}
    assert info_tables(proc.stdout) == want, proc.stdout
    # One table each, in name order.
    headings = re.findall(r"^corpus (\S+):$", proc.stdout, re.M)
    assert headings == sorted(SOURCES), headings


def test_info_json_counts_per_corpus_and_split(multi: Multi) -> None:
    """``info --json``'s ``index.corpora``: per corpus and split, the recordings, patients, windows,
    seizure windows and unlabeled recordings counted from the sources."""
    proc = cli(multi.root, "brainbrr", "info", "all.zarr", "--json")
    assert proc.returncode == 0, proc.stderr
    corpora = json.loads(proc.stdout)["index"]["corpora"]
    want = expected_stats(multi)
    assert {c: sorted(splits) for c, splits in corpora.items()} == {c: sorted(s) for c, s in want.items()}
    for corpus, splits in want.items():
        for split, st in splits.items():
            got = corpora[corpus][split]
            fields = ("recordings", "patients", "windows", "seizure_windows", "unlabeled_recordings")
            assert tuple(got[f] for f in fields) == (
                st.recordings,
                len(st.patients),
                st.windows,
                st.seizure_windows,
                st.unlabeled_recordings,
            ), (corpus, split)


# --- 2. Resume ----------------------------------------------------------------------


def test_same_command_again_ingests_nothing_then_just_a_new_file(multi: Multi, tmp_path: Path) -> None:
    """Run again, the store is current (0 ingested, every recording current, no recording file
    rewritten); a new EDF in one source is then the only one ingested, under that source's name."""
    root = tmp_path / "run"
    root.mkdir()
    for name in SOURCES:
        shutil.copytree(multi.root / name, root / name)
    n = len(multi.expected())
    proc, first = ingest_json(root, *SOURCES, "--out", "all.zarr", *FLAGS)
    assert first["ingested"] == n, proc.stderr
    store = root / "all.zarr"
    rids, files = read_column(store, "index/recordings/rid"), chunk_identities(store)

    # Sources in another order are the same sources.
    for order in (SOURCES, tuple(reversed(SOURCES))):
        proc, again = ingest_json(root, *order, "--out", "all.zarr", *FLAGS)
        assert proc.returncode == 1, proc.stderr  # the TUSZ copy's broken files fail again
        assert (again["found"], again["ingested"], again["current"], again["recordings"]) == (
            first["found"],
            0,
            n,
            n,
        ), order
        assert read_column(store, "index/recordings/rid") == rids
        assert chunk_identities(store) == files, order

    # One more SeizeIT run: P_ID64_r10 (background) copied with its annotations as run 11.
    folder = root / "seizeit" / "P_ID64"
    shutil.copyfile(folder / "P_ID64_r10.edf", folder / "P_ID64_r11.edf")
    shutil.copyfile(folder / "P_ID64_r10_a1.tsv", folder / "P_ID64_r11_a1.tsv")
    proc, grown = ingest_json(root, *SOURCES, "--out", "all.zarr", *FLAGS)
    assert (grown["found"], grown["ingested"], grown["current"], grown["recordings"]) == (
        first["found"] + 1,
        1,
        n,
        n + 1,
    ), proc.stderr
    new = "seizeit/P_ID64/P_ID64_r11.edf"
    row = index(store)[new]
    assert (row["rid"], row["corpus"], row["patient"], row["session"], row["run"]) == (
        rid_of(new),
        "seizeit",
        "P_ID64",
        "",
        "P_ID64_r11",
    )
    after = chunk_identities(store)
    assert {k: v for k, v in after.items() if k in files} == files
    assert {k.split("/")[1] for k in set(after) - set(files)} == {rid_of(new)}


@pytest.mark.parametrize(
    "runs",
    [(("seizeit", "bids"), ("seizeit",)), (("seizeit",), ("seizeit", "bids"))],
    ids=["several-then-one", "one-then-several"],
)
def test_a_source_is_never_stored_twice(runs: tuple[tuple[str, ...], ...], multi: Multi, tmp_path: Path) -> None:
    """One source's recordings are stored without its folder's name, several sources' with it: a run
    naming its sources the other way must not store the same EDF files a second time under other paths
    (refused, or recognized as current), or the store's windows and statistics count them twice."""
    for name in ("seizeit", "bids"):
        shutil.copytree(multi.root / name, tmp_path / name)
    first, second = (cli(tmp_path, "brainbrr-ingest", *sources, "--out", "s.zarr", *FLAGS, "--json") for sources in runs)
    assert first.returncode == 0, first.stderr
    # Refused, naming the recording and how the store holds it.
    assert second.returncode == 2 and "the store holds this recording as" in second.stderr, second.stderr
    rows = index(tmp_path / "s.zarr")
    seizeit = sorted(path for path, row in rows.items() if row["corpus"] == "seizeit")
    assert len(seizeit) == len(multi.records["seizeit"]), seizeit


# --- 3. Refusals ------------------------------------------------------------------


def test_two_sources_with_one_name_are_refused(multi: Multi, tmp_path: Path) -> None:
    """``a/chbmit b/chbmit`` would store both under ``chbmit/``: exit 2, one error line naming both, no
    store; the API raises IngestError with the same."""
    for parent in ("a", "b"):
        shutil.copytree(multi.root / "chbmit", tmp_path / parent / "chbmit")
    proc = cli(tmp_path, "brainbrr-ingest", "a/chbmit", "b/chbmit", "--out", "s.zarr", *FLAGS)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, (proc.returncode, err)
    assert err.startswith("error: ") and "a/chbmit" in err and "b/chbmit" in err and '"chbmit"' in err, err
    assert not (tmp_path / "s.zarr").exists()
    with pytest.raises(IngestError, match=r"a/chbmit.*b/chbmit"):
        ingest([tmp_path / "a" / "chbmit", tmp_path / "b" / "chbmit"], tmp_path / "s.zarr", n_jobs=2)
    assert not (tmp_path / "s.zarr").exists()


def test_files_list_takes_one_source(multi: Multi, tmp_path: Path) -> None:
    """``--files`` lists paths relative to one source: with two it is refused (exit 2, no store)."""
    (tmp_path / "list.txt").write_text("chb01/chb01_01.edf\n")
    files = ("--files", tmp_path / "list.txt")
    proc = cli(multi.root, "brainbrr-ingest", "chbmit", "siena", *files, "--out", tmp_path / "s.zarr", *FLAGS)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "--files" in err, (proc.returncode, err)
    assert not (tmp_path / "s.zarr").exists()


class _Untouchable:
    """A stand-in Dask client that fails the test if anything is asked of it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the client was used ({name}) before the sources were checked")


def test_dask_takes_one_source(multi: Multi, tmp_path: Path) -> None:
    """A Dask ingest takes one source: several raise IngestError before the client is touched."""
    sources = [multi.root / "chbmit", multi.root / "siena"]
    with pytest.raises(IngestError, match="one source"):
        ingest(sources, tmp_path / "s.zarr", client=cast(Any, _Untouchable()))
    assert not (tmp_path / "s.zarr").exists()


def test_a_missing_source_among_several_is_named_as_missing(multi: Multi, tmp_path: Path) -> None:
    """A source that does not exist is reported as missing (as it is when it is the only source), not as
    a folder without a name."""
    proc = cli(multi.root, "brainbrr-ingest", "chbmit", "nonexistent", "--out", tmp_path / "s.zarr", *FLAGS)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "nonexistent" in err, (proc.returncode, err)
    assert re.search(r"No such file or directory|does not exist|not found", err), err
    assert not (tmp_path / "s.zarr").exists()


# --- 4. Classes ---------------------------------------------------------------------


def window_types(multi: Multi) -> dict[tuple[str, int], str]:
    """(rid, start) -> the SzCORE type a generated recording's window must carry: the type most of its
    seizure samples have (sample k in a seizure when a <= k / 256 < b), ``bckg`` without any; labeled
    recordings only (unlabeled windows are left out of a dataset)."""
    out: dict[tuple[str, int], str] = {}
    for corpus, records in multi.records.items():
        for rec in records:
            if rec.seizures is None:
                continue
            n = n_out(as_expected(rec))
            t = np.arange(n) / FS
            code = np.zeros(n, np.int64)
            for (a, b), name in zip(rec.seizures, rec.types, strict=True):
                code[(t >= a) & (t < b)] = SZCORE_NAMES.index(name)
            for start in range(0, n - WINDOW + 1, WINDOW):
                w = code[start : start + WINDOW]
                seizure = w[w > 0]
                majority = int(np.bincount(seizure).argmax()) if seizure.size else 0
                out[(rid_of(f"{corpus}/{rec.rel}"), start)] = SZCORE_NAMES[majority]
    return out


def expected_szcore(ds: ZarrWindowDataset, multi: Multi) -> list[str]:
    """Each window's SzCORE type: the generator's for the generated corpora; for the TUSZ copy (whose
    fixture keeps no types) the stored TUSZ label in SzCORE's words, checked against the window label
    and the labels the fixture writes."""
    generated = window_types(multi)
    out = []
    for i in range(len(ds)):
        info = ds.info(i)
        if info["corpus"] == "tusz":
            stored = info["type"]
            assert stored in ("bckg", "seiz", "fnsz", "gnsz", "cpsz", "absz", "tcsz"), info
            assert (stored == "bckg") == (info["label"] == 0), info
            out.append(SZCORE_NAMES[TUSZ_NAMES.index(stored)])
        else:
            out.append(generated[(info["recording"], info["start"])])
    return out


def ys(ds: ZarrWindowDataset) -> tuple[list[int], list[int]]:
    """Every window's ``y``, through ``ds[i]`` and through ``ds.batches`` (in window order)."""
    items = [int(ds[i][1]) for i in range(len(ds))]
    batched = [int(y) for _, yb in ds.batches(64, shuffle=False, device="cpu") for y in yb.tolist()]
    return items, batched


@pytest.fixture(scope="module")
def szcore_types(multi: Multi) -> list[str]:
    return expected_szcore(ZarrWindowDataset(multi.store, label="type"), multi)


def test_type_classes_are_the_13_codes(multi: Multi, szcore_types: list[str]) -> None:
    """``label="type"``: the 13 TUSZ names in code order, ``y`` the window's type code; ``types="szcore"``
    names the same classes in SzCORE's words, with the same ``y``."""
    tusz = ZarrWindowDataset(multi.store, label="type")
    assert (tusz.classes, tusz.num_classes) == (TUSZ_NAMES, 13)
    want = [SZCORE_NAMES.index(name) for name in szcore_types]
    items, batched = ys(tusz)
    assert items == batched == want
    assert all(0 <= y <= 12 for y in items)
    szcore = ZarrWindowDataset(multi.store, label="type", types="szcore")
    assert (szcore.classes, szcore.num_classes) == (SZCORE_NAMES, 13)
    assert ys(szcore) == (want, want)
    # Every type the sources carry appears: the check covers each corpus's labels.
    assert set(szcore_types) >= {"bckg", "sz", "sz_foc_a", "sz_foc_ia", "sz_foc_f2b", "sz_gen_m_tonicClonic"}


def test_a_mapping_merges_types_by_ancestor(multi: Multi, szcore_types: list[str]) -> None:
    """``{"bckg": 0, "sz_foc": 1, "sz_gen": 2, "sz": 3}``: focal types (sz_foc_ia, sz_foc_a, sz_foc_f2b,
    TUSZ's fnsz/cpsz) are 1, generalized 2, unknown type (CHB-MIT's sz, TUSZ's seiz) 3, background 0."""
    ds = ZarrWindowDataset(multi.store, label="type", types=MERGED)
    assert (ds.classes, ds.num_classes) == (["bckg", "sz_foc", "sz_gen", "sz"], 4)
    want = [merged_class(name) for name in szcore_types]
    assert set(want) == {0, 1, 2, 3}
    items, batched = ys(ds)
    assert items == want
    assert batched == want


def test_a_mapping_must_place_every_type(multi: Multi) -> None:
    """A mapping that leaves ``seiz`` (SzCORE ``sz``) without a class is refused naming it; so are
    class ids with a gap."""
    with pytest.raises(ValueError, match=r'"seiz"'):
        ZarrWindowDataset(multi.store, label="type", types={"bckg": 0, "sz_foc": 1, "sz_gen": 2})
    with pytest.raises(ValueError, match=r"class 1\b"):
        ZarrWindowDataset(multi.store, label="type", types={"bckg": 0, "sz": 2})


# --- 5. Start times ------------------------------------------------------------------


def header_start(path: Path) -> str:
    """The EDF/BDF header's start, read by pyedflib."""
    with pyedflib.EdfReader(str(path)) as f:
        start: dt.datetime = f.getStartdatetime()
    return start.strftime("%Y-%m-%dT%H:%M:%S")


def test_recording_start_is_the_edf_start(multi: Multi) -> None:
    """``start_times`` and each window's ``recording_start`` are the EDF header's start: the generators'
    ``start`` (midnight roll-overs and surrogate years included), the TUSZ files' as pyedflib reads it."""
    want: dict[str, str] = {}
    for path, (_, _, rec) in multi.expected().items():
        start = header_start(multi.root / path) if rec is None else rec.start.strftime("%Y-%m-%dT%H:%M:%S")
        want[rid_of(path)] = start
    ds = ZarrWindowDataset(multi.store, drop_unlabeled=False)
    assert dict(zip(ds.rids, ds.start_times, strict=True)) == want
    for i in range(len(ds)):
        info = ds.info(i)
        assert info["recording_start"] == want[info["recording"]], info
    assert len(set(want.values())) > 10  # the starts differ: a mix-up would show
