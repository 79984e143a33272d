"""The store written by brainbrr-core (zarrs), read by plain zarr-python and numpy.

The stores are written the way a user writes one, by the public ingest of
synthetic EDFs; what the ingest cannot write (a recording without samples) is
checked by `rust/core/tests/store_roundtrip.rs`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import zarr

from brainbrr import _native
from brainbrr.ingest import ingest
from brainbrr.errors import StoreError
from brainbrr.synthetic import write_recording

FS = 256
C = 19
#: Short windows, so that a 30 s recording has many: 4 s every 2 s.
CONFIG = {"window_s": 4.0, "stride_s": 2.0}
WINDOW, STRIDE = 4 * FS, 2 * FS
#: source -> (duration s, seizure interval or None for a recording without annotation).
RECORDINGS = {"a_s001_t000.edf": (30, (5.0, 12.0)), "c_s001_t000.edf": (20, None)}
FAILED = ("bad.edf", "ünïcode.edf")
SKIPPED = "nooc_s001_t000.edf"


def _corpus(root: Path) -> Path:
    root.mkdir()
    for i, (name, (duration, seizure)) in enumerate(RECORDINGS.items()):
        seizures = (seizure,) if seizure else ()
        write_recording(root / name, fs=FS, duration_s=duration, seizures=seizures, seed=i, annotations=bool(seizure))
    write_recording(root / SKIPPED, fs=FS, duration_s=20, missing=("O1",))
    for name in FAILED:
        (root / name).write_bytes(b"not an EDF file" * 20)
    return root


def _labels(name: str) -> npt.NDArray[np.uint8]:
    """The per-sample labels of source ``name``, from the interval it was written with."""
    duration, seizure = RECORDINGS[name]
    t = np.arange(duration * FS) / FS
    if seizure is None:
        return np.full(t.size, 255, np.uint8)
    return ((t >= seizure[0]) & (t < seizure[1])).astype(np.uint8)


def _index() -> dict[str, Any]:
    """The index tables, computed with numpy from the labels the corpus was written with."""
    rid, n_samples, n_windows, offset = [], [], [], []
    rec, start, label, frac = [], [], [], []
    for row, name in enumerate(sorted(RECORDINGS)):
        y = _labels(name)
        starts = np.arange(0, len(y) - WINDOW + 1, STRIDE)
        rid.append(name)
        n_samples.append(len(y))
        offset.append(len(start))
        n_windows.append(len(starts))
        for s in starts:
            w = y[s : s + WINDOW]
            rec.append(row)
            start.append(s)
            label.append(255 if (w == 255).any() else int((w == 1).any()))
            frac.append((w == 1).mean() if not (w == 255).any() else 0.0)
    failures = sorted([(p, "failed") for p in FAILED] + [(SKIPPED, "skipped")])
    return {
        "window_samples": WINDOW,
        "stride_samples": STRIDE,
        "recordings": {
            "rid": rid,
            "path": rid,
            "n_samples": np.array(n_samples, np.int64),
            "n_windows": np.array(n_windows, np.int64),
            "window_offset": np.array(offset, np.int64),
            "channel_present": np.ones((len(rid), C), bool),
        },
        "windows": {
            "recording": np.array(rec, np.int32),
            "start": np.array(start, np.int64),
            "label": np.array(label, np.uint8),
            "seizure_fraction": np.array(frac, np.float32),
        },
        "failures": {"path": [p for p, _ in failures], "kind": [k for _, k in failures]},
    }


def _sorted_failures(table: dict[str, Any]) -> dict[str, list[str]]:
    rows = sorted(zip(table["path"], table["kind"], strict=True))
    return {"path": [p for p, _ in rows], "kind": [k for _, k in rows]}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _corpus(tmp_path_factory.mktemp("corpus") / "edf")


@pytest.fixture(scope="module")
def store(corpus: Path) -> Path:
    path = corpus.parent / "cache.zarr"
    ingest(corpus, path, CONFIG, n_jobs=1)
    return path


@pytest.fixture
def copy(store: Path, tmp_path: Path) -> Path:
    """A copy of ``store`` a test may damage."""
    return Path(shutil.copytree(store, tmp_path / "copy.zarr"))


def test_zarr_python_reads_recordings(store: Path) -> None:
    g = zarr.open_group(store, mode="r")
    root = g.attrs["brainbrr"]
    assert root["format"] == 1
    assert (root["config"]["window_s"], root["config"]["stride_s"]) == (4.0, 2.0)
    assert len(root["channels"]) == len(set(root["channels"])) == C
    assert root["label_names"] == {"0": "bckg", "1": "seiz", "255": "unlabeled"}
    assert root["index"]["complete"] is True
    for name, (duration, _) in RECORDINGS.items():
        rec = g[f"recordings/{name}"]
        assert rec.attrs["brainbrr_recording"]["n_samples"] == duration * FS
        signal = rec["signal"]
        assert signal.dtype == np.float32
        assert signal.shape == (C, duration * FS)
        assert signal.chunks == (C, duration * FS)
        assert np.isfinite(signal[:]).all()
        assert rec["label"].dtype == np.uint8
        assert rec["label"].fill_value == 255
        np.testing.assert_array_equal(rec["label"][:], _labels(name))


def test_zarr_python_reads_index(store: Path) -> None:
    g = zarr.open_group(store, mode="r")
    expected = _index()
    for table in ("recordings", "windows"):
        for name, values in expected[table].items():
            got = g[f"index/{table}/{name}"][:]
            if isinstance(values, list):
                assert got.dtype.kind in "OTU", (name, got.dtype)  # zarr's string dtype
                assert [str(v) for v in got] == values
            else:
                assert got.dtype == values.dtype, name
                np.testing.assert_array_equal(got, values)
    failures = {name: [str(v) for v in g[f"index/failures/{name}"][:]] for name in ("path", "kind")}
    assert g["index/failures/kind"][:].dtype.kind in "OTU"
    assert _sorted_failures(failures) == expected["failures"]
    assert g["index"].attrs["brainbrr_index"]["window_samples"] == WINDOW


def test_native_read_index_round_trips(store: Path) -> None:
    got = _native.read_index(store)
    expected = _index()
    assert (got["window_samples"], got["stride_samples"]) == (WINDOW, STRIDE)
    for table in ("recordings", "windows"):
        for name, values in expected[table].items():
            np.testing.assert_array_equal(got[table][name], values)
    assert _sorted_failures(got["failures"]) == expected["failures"]


def test_chunk_file_is_the_memory_mappable_signal(store: Path, corpus: Path) -> None:
    g = zarr.open_group(store, mode="r")
    n = RECORDINGS["a_s001_t000.edf"][0] * FS
    path = Path(_native.chunk_path(store, "a_s001_t000.edf", "signal"))
    assert path == store / "recordings" / "a_s001_t000.edf" / "signal" / "c" / "0" / "0"
    mm = np.memmap(path, dtype="<f4", mode="r", shape=(C, n))
    np.testing.assert_array_equal(mm, g["recordings/a_s001_t000.edf/signal"][:])
    window = mm[:, 20:30]  # a window is a view of the map, not a copy
    assert np.shares_memory(window, mm)
    # Each chunk file ends with the crc32c codec's 4 bytes, after the elements.
    label_file = Path(_native.chunk_path(store, "a_s001_t000.edf", "label"))
    assert label_file.stat().st_size == n + 4 and path.stat().st_size == C * n * 4 + 4
    labels = np.fromfile(label_file, dtype=np.uint8)[:n]
    np.testing.assert_array_equal(labels, g["recordings/a_s001_t000.edf/label"][:])
    # A float16 store maps as float16.
    f16 = corpus.parent / "f16.zarr"
    ingest(corpus, f16, {**CONFIG, "dtype": "float16"}, n_jobs=1)
    m = RECORDINGS["c_s001_t000.edf"][0] * FS
    mm16 = np.memmap(_native.chunk_path(f16, "c_s001_t000.edf", "signal"), dtype="<f2", mode="r", shape=(C, m))
    assert zarr.open_group(f16, mode="r")["recordings/c_s001_t000.edf/signal"].dtype == np.float16
    np.testing.assert_array_equal(mm16, zarr.open_group(f16, mode="r")["recordings/c_s001_t000.edf/signal"][:])


def test_info_and_verify(store: Path, copy: Path) -> None:
    info = json.loads(_native.store_info(store))
    assert info["format"] == 1 and info["fs"] == 256.0
    report = _native.verify_store(store)
    # Signal, label and seizure types of each of the two recordings.
    assert report["problems"] == [] and report["checksummed"] == 6 and report["unchecksummed"] == 0
    assert report["windows"] == len(_index()["windows"]["start"])
    # A recording whose dtype disagrees with the root's: the root says float16 now.
    meta = copy / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["brainbrr"]["config"]["dtype"] = "float16"
    meta.write_text(json.dumps(doc))
    problems = _native.verify_store(copy)["problems"]
    assert len(problems) == 2, problems
    assert all("/signal: data type" in p for p in problems), problems


def test_zarr_python_and_verify_both_check_the_checksums(copy: Path) -> None:
    """zarr-python (an independent reader of the crc32c codec) and verify refuse a flipped byte."""
    chunk = Path(_native.chunk_path(copy, "a_s001_t000.edf", "signal"))
    data = bytearray(chunk.read_bytes())
    data[123] ^= 0x01
    chunk.write_bytes(bytes(data))
    with pytest.raises(Exception, match="(?i)checksum|crc"):
        zarr.open_group(copy, mode="r")["recordings/a_s001_t000.edf/signal"][:]
    problems = _native.verify_store(copy)["problems"]
    assert len(problems) == 1 and "recordings/a_s001_t000.edf/signal" in problems[0] and "checksum" in problems[0]


def test_verify_reports_damage(copy: Path) -> None:
    Path(_native.chunk_path(copy, "a_s001_t000.edf", "signal")).unlink()
    problems = _native.verify_store(copy)["problems"]
    assert len(problems) == 1 and "recordings/a_s001_t000.edf/signal: chunk file" in problems[0]


def test_a_store_written_before_the_failure_kind_is_read_from_the_prefix(copy: Path) -> None:
    """A store without `index/failures/kind` marked a skip by a ``skipped: `` reason prefix."""
    g = zarr.open_group(copy / "index" / "failures", mode="r+")
    kinds = [str(k) for k in g["kind"][:]]
    reasons = [f"skipped: {r}" if k == "skipped" else str(r) for k, r in zip(kinds, g["reason"][:], strict=True)]
    want = _native.read_index(copy)["failures"]
    g["reason"][:] = np.array(reasons, dtype=g["reason"].dtype)
    shutil.rmtree(copy / "index" / "failures" / "kind")
    got = _native.read_index(copy)["failures"]
    assert got == want and "skipped" in got["kind"] and not any(r.startswith("skipped") for r in got["reason"])
    assert _native.verify_store(copy)["problems"] == []


def test_empty_store_has_empty_tables(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bad.edf").write_bytes(b"not an EDF file" * 20)
    path = tmp_path / "empty.zarr"
    ingest(corpus, path, CONFIG, n_jobs=1)
    g = zarr.open_group(path, mode="r")
    assert g["index/windows/start"].shape == (0,)
    assert g["index/recordings/rid"].shape == (0,)
    assert _native.verify_store(path)["problems"] == []


def test_errors(tmp_path: Path, copy: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _native.store_info(tmp_path / "missing.zarr")
    (tmp_path / "not_a_store").mkdir()
    with pytest.raises(StoreError, match="not a brainbrr store"):
        _native.verify_store(tmp_path / "not_a_store")
    with pytest.raises(StoreError, match="not committed"):
        _native.chunk_path(copy, "zz", "signal")
    # As an ingest leaves a store it was stopped in before writing the index.
    shutil.rmtree(copy / "index")
    meta = copy / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["brainbrr"]["index"] = {"complete": False}
    meta.write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="no index"):
        _native.read_index(copy)
    assert any("index not complete" in p for p in _native.verify_store(copy)["problems"])
