"""The store written by brainbrr-core (zarrs), read by plain zarr-python and numpy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import zarr

from brainbrr import _native
from brainbrr.errors import StoreError

C = 3
WINDOW = 10
STRIDE = 5
Recording = tuple[str, npt.NDArray[Any], npt.NDArray[np.uint8]]
#: The window geometry `verify` rebuilds the index with: WINDOW and STRIDE samples at 256 Hz.
CONFIG = json.dumps({"dsp": {"fs": 256}, "window_s": WINDOW / 256, "stride_s": STRIDE / 256})


def _recordings() -> list[Recording]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((C, 100)).astype(np.float32)
    ya = (np.arange(100) % 17 < 5).astype(np.uint8)
    c = rng.standard_normal((C, 50)).astype(np.float16)
    yc = np.full(50, 255, np.uint8)
    return [
        ("a", a, ya),
        ("b_empty", np.zeros((C, 0), np.float32), np.zeros(0, np.uint8)),
        ("c_f16", c.view(np.uint16), yc),  # float16 travels as its bit patterns
    ]


def _index(recordings: list[Recording]) -> dict[str, Any]:
    rid, n_samples, n_windows, offset = [], [], [], []
    rec, start, label, frac = [], [], [], []
    for row, (name, _, y) in enumerate(sorted(recordings, key=lambda r: r[0])):
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
            frac.append((w == 1).mean())
    return {
        "window_samples": WINDOW,
        "stride_samples": STRIDE,
        "recordings": {
            "rid": rid,
            "path": [f"{r}.edf" for r in rid],
            "split": ["train", "", "eval"][: len(rid)],
            "patient": ["p1", "", "p2"][: len(rid)],
            "session": ["s001", "", "s002"][: len(rid)],
            "n_samples": np.array(n_samples, np.int64),
            "n_windows": np.array(n_windows, np.int64),
            "window_offset": np.array(offset, np.int64),
        },
        "windows": {
            "recording": np.array(rec, np.int32),
            "start": np.array(start, np.int64),
            "label": np.array(label, np.uint8),
            "seizure_fraction": np.array(frac, np.float32),
        },
        "failures": {"path": ["bad.edf", "ünïcode.edf"], "reason": ["not an EDF file", "truncated"]},
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "cache.zarr"
    recordings = _recordings()
    _native._write_test_store(path, recordings, CONFIG, _index(recordings))
    return path


def test_zarr_python_reads_recordings(store: Path) -> None:
    g = zarr.open_group(store, mode="r")
    root = g.attrs["brainbrr"]
    assert root["format"] == 1
    assert root["config"] == json.loads(CONFIG)
    assert root["channels"] == ["ch0", "ch1", "ch2"]
    assert root["label_names"] == {"0": "bckg", "1": "seiz", "255": "unlabeled"}
    assert root["index"]["complete"] is True
    for rid, x, y in _recordings():
        rec = g[f"recordings/{rid}"]
        assert rec.attrs["brainbrr_recording"]["n_samples"] == x.shape[1]
        signal = rec["signal"]
        expected = x.view(np.float16) if x.dtype == np.uint16 else x
        assert signal.dtype == expected.dtype
        assert signal.shape == expected.shape
        assert signal.chunks == (C, max(x.shape[1], 1))
        np.testing.assert_array_equal(signal[:], expected)
        assert rec["label"].dtype == np.uint8
        assert rec["label"].fill_value == 255
        np.testing.assert_array_equal(rec["label"][:], y)


def test_zarr_python_reads_index(store: Path) -> None:
    g = zarr.open_group(store, mode="r")
    expected = _index(_recordings())
    for table in ("recordings", "windows", "failures"):
        for name, values in expected[table].items():
            got = g[f"index/{table}/{name}"][:]
            if isinstance(values, list):
                assert got.dtype.kind in "OTU", (name, got.dtype)  # zarr's string dtype
                assert [str(v) for v in got] == values
            else:
                assert got.dtype == values.dtype, name
                np.testing.assert_array_equal(got, values)
    assert g["index"].attrs["brainbrr_index"]["window_samples"] == WINDOW


def test_native_read_index_round_trips(store: Path) -> None:
    got = _native.read_index(store)
    expected = _index(_recordings())
    assert (got["window_samples"], got["stride_samples"]) == (WINDOW, STRIDE)
    for table in ("recordings", "windows", "failures"):
        for name, values in expected[table].items():
            np.testing.assert_array_equal(got[table][name], values)


def test_chunk_file_is_the_memory_mappable_signal(store: Path) -> None:
    g = zarr.open_group(store, mode="r")
    path = Path(_native.chunk_path(store, "a", "signal"))
    assert path == store / "recordings" / "a" / "signal" / "c" / "0" / "0"
    mm = np.memmap(path, dtype="<f4", mode="r", shape=(C, 100))
    np.testing.assert_array_equal(mm, g["recordings/a/signal"][:])
    window = mm[:, 20:30]  # a window is a view of the map, not a copy
    assert np.shares_memory(window, mm)
    f16 = np.memmap(_native.chunk_path(store, "c_f16", "signal"), dtype="<f2", mode="r", shape=(C, 50))
    np.testing.assert_array_equal(f16, g["recordings/c_f16/signal"][:])
    # Each chunk file ends with the crc32c codec's 4 bytes, after the elements.
    label_file = Path(_native.chunk_path(store, "a", "label"))
    assert label_file.stat().st_size == 100 + 4 and path.stat().st_size == C * 100 * 4 + 4
    labels = np.fromfile(label_file, dtype=np.uint8)[:100]
    np.testing.assert_array_equal(labels, g["recordings/a/label"][:])
    assert not Path(_native.chunk_path(store, "b_empty", "signal")).exists()


def test_info_and_verify(store: Path) -> None:
    info = json.loads(_native.store_info(store))
    assert info["format"] == 1 and info["fs"] == 256.0
    report = _native.verify_store(store)
    # The fixture mixes float32 and float16 recordings, which no ingest writes:
    # the float16 one disagrees with the root's dtype (float32 by default).
    assert len(report["problems"]) == 1, report["problems"]
    assert "recordings/c_f16/signal: data type" in report["problems"][0]
    # Signal, label and seizure types of a; label and types of c_f16.
    assert report["checksummed"] == 5 and report["unchecksummed"] == 0
    path = store.parent / "one-dtype.zarr"
    _native._write_test_store(path, _recordings()[:2], CONFIG, _index(_recordings()[:2]))
    report = _native.verify_store(path)
    assert report["problems"] == [] and report["checksummed"] == 3 and report["windows"] == 19


def test_zarr_python_and_verify_both_check_the_checksums(tmp_path: Path) -> None:
    """zarr-python (an independent reader of the crc32c codec) and verify refuse a flipped byte."""
    path = tmp_path / "cache.zarr"
    recordings = _recordings()[:2]
    _native._write_test_store(path, recordings, CONFIG, _index(recordings))
    chunk = Path(_native.chunk_path(path, "a", "signal"))
    data = bytearray(chunk.read_bytes())
    data[123] ^= 0x01
    chunk.write_bytes(bytes(data))
    with pytest.raises(Exception, match="(?i)checksum|crc"):
        zarr.open_group(path, mode="r")["recordings/a/signal"][:]
    problems = _native.verify_store(path)["problems"]
    assert len(problems) == 1 and "recordings/a/signal" in problems[0] and "checksum" in problems[0], problems


def test_verify_reports_damage(tmp_path: Path) -> None:
    path = tmp_path / "cache.zarr"
    recordings = _recordings()[:2]
    _native._write_test_store(path, recordings, CONFIG, _index(recordings))
    Path(_native.chunk_path(path, "a", "signal")).unlink()
    problems = _native.verify_store(path)["problems"]
    assert len(problems) == 1 and "recordings/a/signal: chunk file" in problems[0]


def test_empty_store_has_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.zarr"
    empty: dict[str, Any] = _index([])
    empty["recordings"].update(split=[], patient=[], session=[])
    empty["failures"] = {"path": [], "reason": []}
    _native._write_test_store(path, [], CONFIG, empty)
    g = zarr.open_group(path, mode="r")
    assert g["index/windows/start"].shape == (0,)
    assert g["index/recordings/rid"].shape == (0,)
    assert _native.verify_store(path)["problems"] == []


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _native.store_info(tmp_path / "missing.zarr")
    (tmp_path / "not_a_store").mkdir()
    with pytest.raises(StoreError, match="not a brainbrr store"):
        _native.verify_store(tmp_path / "not_a_store")
    path = tmp_path / "s.zarr"
    _native._write_test_store(path, _recordings()[:1])
    with pytest.raises(StoreError, match="not committed"):
        _native.chunk_path(path, "zz", "signal")
    with pytest.raises(StoreError, match="no index"):
        _native.read_index(path)
    assert any("index not complete" in p for p in _native.verify_store(path)["problems"])
