"""Shared fixtures: where the real EDF files live; generated TUSZ-like corpora and the CLI for the ingest tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import zarr

from brainbrr._native import write_edf
from brainbrr.synthetic import EEG_19, make_corpus, write_recording

REPO = Path(__file__).resolve().parents[1]
#: Real EDF/BDF files from the wild, carried by the repository (origin and licence in SOURCES.md there);
#: ``BRAINBRR_REAL_EDF`` may point at another folder of them.
REAL_EDF = Path(os.environ.get("BRAINBRR_REAL_EDF", REPO / "tests" / "data" / "real-edf"))


@pytest.fixture(scope="session")
def real_edf_dir() -> Path:
    if not REAL_EDF.is_dir():
        pytest.fail(f"real EDF files not found at {REAL_EDF}; set BRAINBRR_REAL_EDF")
    return REAL_EDF


# --- Generated TUSZ-like corpora for the ingest tests -------------------------

Intervals = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ExpectedRecording:
    """What one readable source must become in the store, known from how it was written."""

    rel: str
    fs_in: float
    n_in: int
    #: Seizure intervals in seconds, unclipped; None when there is no annotation (unlabeled).
    seizures: Intervals | None
    split: str = ""
    patient: str = ""
    session: str = ""
    montage: str | None = None
    interpolated: tuple[str, ...] = ()
    #: A recording written with the same physical samples: the stored signals must be equal.
    same_signal_as: str | None = None


@dataclass(frozen=True)
class TuszCorpus:
    """A corpus root and the truth of every file under it."""

    root: Path
    recordings: dict[str, ExpectedRecording] = field(default_factory=dict)
    #: rel -> substrings the failure reason must contain (the file and the problem).
    failed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def found(self) -> int:
        return len(self.recordings) + len(self.failed) + len(self.skipped)


def csv_bi(duration: str, rows: list[tuple[float, float, str]]) -> str:
    """A TUSZ ``.csv_bi`` text; ``duration`` is written as given (2 or 4 decimals)."""
    head = f"# version = csv_v1.0.0\n# bname = x\n# duration = {duration} secs\n#\n"
    body = "".join(f"TERM,{a:.4f},{b:.4f},{label},1.0000\n" for a, b, label in rows)
    return head + "channel,start_time,stop_time,label,confidence\n" + body


def edf_to_bdf(edf: Path, bdf: Path) -> None:
    """Rewrite a plain EDF as a BDF with the same digital values: 24-bit samples, BIOSEMI version."""
    raw = edf.read_bytes()
    header_bytes = int(raw[184:192])
    header = bytearray(raw[:header_bytes])
    header[0:8] = b"\xffBIOSEMI"
    header[192:236] = b"24BIT".ljust(44)
    samples = np.frombuffer(raw[header_bytes:], "<i2").astype("<i4")
    # Records keep their layout: every 2-byte sample becomes 3 bytes, in order.
    data = samples.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    bdf.write_bytes(bytes(header) + data)


def _build_tusz_corpus(root: Path) -> TuszCorpus:
    """make_corpus (mixed rates, REF and LE, FZ/PZ missing) plus every bad-input kind and a non-TUSZ tree."""
    corpus = TuszCorpus(root)
    written = make_corpus(root, n_patients=6, seed=0)
    for f in written:
        rel = f.path.relative_to(root).as_posix()
        corpus.recordings[rel] = ExpectedRecording(
            rel,
            f.fs,
            f.fs * f.duration_s,
            f.seizures,
            f.split,
            f.patient,
            f.session.split("_")[0],  # the session is read from the file name: s001
            f.montage,
            tuple(c for c in EEG_19 if c not in f.channels),
        )

    # A second TUSZ-layout patient (session folder written the other TUSZ way) with the labeling edge cases.
    session = "edf/dev/aaaazzzz/s002_2007_10_22/01_tcp_ar"
    (root / session).mkdir(parents=True)
    tusz = {"split": "dev", "patient": "aaaazzzz", "session": "s002", "montage": "01_tcp_ar"}

    def add(name: str, fs: int, duration: int, seizures: Intervals | None, missing: tuple[str, ...] = ()) -> Path:
        path = root / session / name
        seed = len(corpus.recordings)
        write_recording(
            path,
            fs=fs,
            duration_s=duration,
            seizures=seizures or (),
            missing=missing,
            seed=seed,
            annotations=seizures is not None,
        )
        rel = f"{session}/{name}"
        corpus.recordings[rel] = ExpectedRecording(rel, fs, fs * duration, seizures, interpolated=missing, **tusz)
        return path

    add("aaaazzzz_s002_t000.edf", 256, 130, None)  # no annotation: unlabeled
    past_end = add("aaaazzzz_s002_t001.edf", 400, 100, ((80.0, 250.0),))
    past_end.with_suffix(".csv_bi").write_text(csv_bi("100.00", [(0, 80, "bckg"), (80, 250, "seiz")]))
    # Only a .csv (event-based): a seizure on any channel counts, overlapping rows merge.
    csv_only = add("aaaazzzz_s002_t002.edf", 512, 90, ((10.5, 30.0), (61.0, 62.5)))
    csv_only.with_suffix(".csv_bi").unlink()
    csv_only.with_suffix(".csv").write_text(
        "# version = csv_v1.0.0\n# duration = 90.0000 secs\n#\nchannel,start_time,stop_time,label,confidence\n"
        "FP1-F7,10.5000,20.2500,fnsz,1.0000\nF7-T3,15.0000,30.0000,gnsz,1.0000\n"
        "T3-T5,0.0000,90.0000,bckg,1.0000\nC3-CZ,61.0000,62.5000,tcsz,1.0000\n"
    )
    add("aaaazzzz_s002_t003.edf", 250, 45, ((5.0, 12.0),))  # shorter than one window
    add("aaaazzzz_s002_t008.edf", 256, 200, ((100.0, 130.0),), missing=("FZ", "PZ"))  # both interpolated
    add("aaaazzzz_s002_t009.edf", 512, 60, ((59.5, 70.0),))  # exactly one window, seizure in its last 0.5 s

    missing = root / session / "aaaazzzz_s002_t004.edf"
    write_recording(missing, fs=256, duration_s=70, missing=("O1", "C4"))
    corpus.skipped[f"{session}/{missing.name}"] = (missing.name, "O1", "C4")
    bad_csv = root / session / "aaaazzzz_s002_t005.edf"
    write_recording(bad_csv, fs=256, duration_s=70, seizures=((12.3, 40.0),))
    text = bad_csv.with_suffix(".csv_bi").read_text()
    bad_csv.with_suffix(".csv_bi").write_text(text.replace("12.3000", "12.3x00"))
    corpus.failed[f"{session}/{bad_csv.name}"] = ("aaaazzzz_s002_t005.csv_bi", "12.3x00")
    (root / session / "aaaazzzz_s002_t006.edf").write_bytes(b"")
    corpus.failed[f"{session}/aaaazzzz_s002_t006.edf"] = ("aaaazzzz_s002_t006.edf", "0 bytes")
    dup = [f"EEG {c}-REF" for c in EEG_19] + ["EEG C3-LE"]
    rng = np.random.default_rng(1)
    write_edf(
        root / session / "aaaazzzz_s002_t007.edf",
        list(rng.standard_normal((len(dup), 256 * 70))),
        [256.0] * len(dup),
        dup,
    )
    corpus.failed[f"{session}/aaaazzzz_s002_t007.edf"] = ("aaaazzzz_s002_t007.edf", "C3", "more than once")

    # A tree without the TUSZ layout: no split/patient/session.
    other = root / "other"
    (other / "site_b").mkdir(parents=True)
    # 0.1 s records at 250 Hz, 70.3 s: 17575 samples -> 17996.8 at 256 Hz, a length that must be rounded.
    plain = other / "site_b" / "rec01.edf"
    write_edf(plain, list(rng.standard_normal((19, 17575)) * 30), [250.0] * 19, list(EEG_19), record_duration=0.1)
    plain.with_suffix(".csv_bi").write_text(
        csv_bi("70.3000", [(0, 3.3, "bckg"), (3.3, 9.9, "seiz"), (9.9, 70.3, "bckg")])
    )
    corpus.recordings["other/site_b/rec01.edf"] = ExpectedRecording("other/site_b/rec01.edf", 250, 17575, ((3.3, 9.9),))
    for name, source in (("UPPER.EDF", written[1]), ("conv.bdf", written[3])):
        twin = source.path.relative_to(root).as_posix()
        if name.endswith(".bdf"):
            edf_to_bdf(source.path, other / name)
        else:
            shutil.copyfile(source.path, other / name)
        shutil.copyfile(source.path.with_suffix(".csv_bi"), (other / name).with_suffix(".csv_bi"))
        corpus.recordings[f"other/{name}"] = ExpectedRecording(
            f"other/{name}", source.fs, source.fs * source.duration_s, source.seizures, same_signal_as=twin
        )

    junk = other / "junk"
    junk.mkdir()
    raw = written[0].path.read_bytes()
    header_bytes = int(raw[184:192])
    bad: dict[str, tuple[bytes, tuple[str, ...]]] = {
        "png.edf": (b"\x89PNG\r\n\x1a\n" + bytes(2000), ("not an EDF",)),
        "zip.edf": (b"PK\x03\x04" + bytes(2000), ("not an EDF",)),
        "header_cut.edf": (raw[: header_bytes - 300], ("header",)),
        "first_record_cut.edf": (raw[: header_bytes + 1000], ("record",)),
        "header_corrupt.edf": (raw[:252] + b"x9  " + raw[256:], ("number of signals", "x9")),
    }
    for name, (content, words) in bad.items():
        (junk / name).write_bytes(content)
        corpus.failed[f"other/junk/{name}"] = (name, *words)
    (junk / "notes.txt").write_text("not a recording")  # discovery ignores it
    return corpus


@pytest.fixture(scope="session")
def tusz_corpus(tmp_path_factory: pytest.TempPathFactory) -> TuszCorpus:
    """A TUSZ-like corpus with every bad-input kind; read-only for the tests that share it."""
    return _build_tusz_corpus(tmp_path_factory.mktemp("tusz"))


@pytest.fixture(scope="session")
def small_corpus_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four short TUSZ-layout recordings; copy it (``copytree``) before changing anything."""
    root = tmp_path_factory.mktemp("small")
    make_corpus(root, n_patients=2, duration_s=(70, 90), seed=3)
    return root


# --- The CLI and the store, as a user reaches them ----------------------------

#: The console scripts of the environment running the tests.
BIN = Path(sys.executable).parent


def run_cli(program: str, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``brainbrr`` or ``brainbrr-ingest`` as a user would; output captured as text."""
    return subprocess.run([str(BIN / program), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def start_ingest(source: Path, store: Path, *args: str | Path, jobs: int = 2) -> subprocess.Popen[str]:
    """``brainbrr-ingest SOURCE --out STORE --json -j JOBS ARGS``, started and left running."""
    return subprocess.Popen(
        [str(BIN / "brainbrr-ingest"), str(source), "--out", str(store), "--json", "-j", str(jobs), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_ingest(
    source: Path, store: Path, *args: str | Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """``brainbrr-ingest SOURCE --out STORE --json -j 2 ARGS``; the parsed summary when one was printed."""
    proc = run_cli("brainbrr-ingest", source, "--out", store, "--json", "-j", "2", *args)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None


def open_store(store: Path) -> zarr.Group:
    return zarr.open_group(store, mode="r")


def store_arrays(store: Path) -> dict[str, zarr.Array[Any]]:
    """Every array of the store, by path, found by walking the hierarchy with zarr-python."""
    with warnings.catch_warnings():
        # zarr-python warns about the store's `.brainbrr-tmp` folder when listing the root;
        # expected until the lead moves the temporaries out of the hierarchy.
        warnings.filterwarnings("ignore", "Object at .brainbrr-tmp is not recognized", UserWarning)
        members = list(open_store(store).members(max_depth=None))
    return {name: node for name, node in members if isinstance(node, zarr.Array)}


def read_array(store: Path, name: str) -> npt.NDArray[Any]:
    """The whole array ``name`` of the store, read by zarr-python."""
    node = open_store(store)[name]
    assert isinstance(node, zarr.Array), name
    return np.asarray(node[...])


def read_column(store: Path, name: str) -> list[Any]:
    """An index column as a Python list (strings as str)."""
    values = read_array(store, name)
    return [str(v) for v in values] if values.dtype.kind in "OTU" else list(values.tolist())


def read_attrs(store: Path, name: str = "") -> dict[str, Any]:
    """The attributes of the group or array ``name`` (the root by default)."""
    node = open_store(store)[name] if name else open_store(store)
    return dict(node.attrs.asdict())


@pytest.fixture(scope="session")
def tusz_store(tusz_corpus: TuszCorpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tusz_corpus`` ingested (with its failures and skips), for the read-only researcher tools."""
    from brainbrr.ingest import ingest

    store = tmp_path_factory.mktemp("tusz-store") / "cache.zarr"
    ingest(tusz_corpus.root, store, n_jobs=2)
    return store
