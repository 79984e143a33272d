"""Annotation parsing, per-sample labels and the window index, through the
bindings, against an independent reference written here with ``csv`` and numpy."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from brainbrr import _native as native
from brainbrr.errors import AnnotationError, BrainbrrError

SEIZURE = {"seiz", "fnsz", "gnsz", "cpsz", "absz", "spsz", "tcsz", "tnsz", "mysz"}
#: The 22 channels of the TCP bipolar montage that TUSZ ``.csv`` files annotate.
TCP = (
    "FP1-F7 F7-T3 T3-T5 T5-O1 FP2-F8 F8-T4 T4-T6 T6-O2 A1-T3 T3-C3 C3-CZ "
    "CZ-C4 C4-T4 T4-A2 FP1-F3 F3-C3 C3-P3 P3-O1 FP2-F4 F4-C4 C4-P4 P4-O2"
).split()
HEADER = "channel,start_time,stop_time,label,confidence"


# --- writers of TUSZ-like files -------------------------------------------------


def _preamble(bname: str, duration: float, decimals: int) -> str:
    return (
        "# version = csv_v1.0.0\n"
        f"# bname = {bname}\n"
        f"# duration = {duration:.{decimals}f} secs\n"
        "# montage_file = $NEDC_NFC/lib/nedc_eas_default_montage.txt\n"
        "#\n"
    )


def _covering(duration: float, seizures: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Seizure events plus the ``bckg`` events that fill the gaps, as TUSZ writes them."""
    rows, t = [], 0.0
    for start, stop, label in sorted(seizures):
        if start > t:
            rows.append((t, start, "bckg"))
        rows.append((start, stop, label))
        t = max(t, stop)
    if t < duration:
        rows.append((t, duration, "bckg"))
    return rows


def write_csv_bi(path: Path, duration: float, seizures: list[tuple[float, float]], decimals: int = 4) -> Path:
    rows = _covering(duration, [(a, b, "seiz") for a, b in seizures])
    body = "".join(f"TERM,{a:.4f},{b:.4f},{label},1.0000\n" for a, b, label in rows)
    path.write_text(_preamble(path.stem, duration, decimals) + HEADER + "\n" + body)
    return path


def write_csv(path: Path, duration: float, per_channel: dict[str, list[tuple[float, float, str]]]) -> Path:
    body = ""
    for ch in TCP:
        for a, b, label in _covering(duration, per_channel.get(ch, [])):
            body += f"{ch},{a:.4f},{b:.4f},{label},1.0000\n"
    path.write_text(_preamble(path.stem, duration, 4) + HEADER + "\n" + body)
    return path


# --- the reference --------------------------------------------------------------


def ref_parse(path: Path) -> tuple[list[tuple[float, float]], float | None]:
    """Seizure intervals (merged) and declared duration, with the csv module."""
    text = path.read_text()
    m = re.search(r"^#\s*duration\s*=\s*([0-9.]+)", text, re.MULTILINE)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    spans = sorted(
        (float(r["start_time"]), float(r["stop_time"]))
        for r in csv.DictReader(lines)
        if r["label"].strip().lower() in SEIZURE and float(r["stop_time"]) > float(r["start_time"])
    )
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged, float(m.group(1)) if m else None


def ref_labels(intervals: list[tuple[float, float]], n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    out = np.zeros(n, np.uint8)
    for a, b in intervals:
        out[(t >= a) & (t < b)] = 1
    return out


def ref_windows(labels: np.ndarray, fs: float, window_s: float, stride_s: float):
    # Rust's f64::round: halves away from zero (Python's round() goes to even).
    w, s = int(np.floor(window_s * fs + 0.5)), int(np.floor(stride_s * fs + 0.5))
    starts = np.arange(0, len(labels) - w + 1, s, dtype=np.int64) if len(labels) >= w else np.zeros(0, np.int64)
    win = np.lib.stride_tricks.sliding_window_view(labels, w)[starts] if len(starts) else np.zeros((0, w), np.uint8)
    unlabeled = (win == 255).any(axis=1)
    frac = np.where(unlabeled, 0.0, (win == 1).sum(axis=1) / w).astype(np.float32)
    cls = np.where(unlabeled, 255, np.where(frac > 0, 1, 0)).astype(np.uint8)
    return starts, cls, frac


def assert_windows_equal(got, expected) -> None:
    (gs, gl, gf), (es, el, ef) = got, expected
    assert gs.dtype == np.int64 and gl.dtype == np.uint8 and gf.dtype == np.float32
    np.testing.assert_array_equal(gs, es)
    np.testing.assert_array_equal(gl, el)
    np.testing.assert_allclose(gf, ef, rtol=0, atol=1e-6)


# --- tests ----------------------------------------------------------------------


def test_csv_bi_matches_reference(tmp_path: Path) -> None:
    path = write_csv_bi(tmp_path / "aaaaaasf_s001_t000.csv_bi", 1289.0, [(42.2786, 81.7760)])
    a = native.parse_annotation(path)
    seizures, duration = ref_parse(path)
    assert a["seizures"] == seizures == [(42.2786, 81.776)]
    assert a["duration"] == duration == 1289.0
    assert a["version"] == "csv_v1.0.0" and a["bname"] == "aaaaaasf_s001_t000"
    assert (a["rows"], a["seizure_rows"]) == (3, 1)
    assert a["label_counts"] == {"bckg": 2, "seiz": 1}
    assert a["seizure_seconds"] == pytest.approx(39.4974)


def test_csv_per_channel_rows_merged(tmp_path: Path) -> None:
    per_channel = {
        "FP1-F7": [(36.8868, 183.3055, "cpsz")],
        "F7-T3": [(30.0, 60.0, "cpsz"), (400.0, 410.5, "gnsz")],
        "C4-P4": [(183.3055, 190.0, "fnsz")],  # touches the first seizure
        "P4-O2": [(600.25, 700.0, "tcsz"), (650.0, 800.0, "tcsz")],
    }
    path = write_csv(tmp_path / "aaaaaimu_s005_t001.csv", 900.0, per_channel)
    a = native.parse_annotation(path)
    seizures, _ = ref_parse(path)
    assert a["seizures"] == seizures == [(30.0, 190.0), (400.0, 410.5), (600.25, 800.0)]
    assert a["rows"] == sum(1 for ln in path.read_text().splitlines() if ln.split(",")[0] in TCP)
    assert a["seizure_rows"] == 6


def test_regression_columns_by_name(tmp_path: Path) -> None:
    """The old pipeline read start/stop/label from columns 0-2 and found no seizure."""
    standard = write_csv_bi(tmp_path / "a.csv_bi", 300.0, [(100.0, 130.0), (200.0, 210.0)])
    positional = [r[2] for r in csv.reader(ln for ln in standard.read_text().splitlines()[6:])]
    assert not SEIZURE & set(positional)  # the bug: column 2 is stop_time
    # The same events under a permuted header row.
    lines = standard.read_text().splitlines()
    order = [3, 4, 2, 0, 1]  # label,confidence,stop_time,channel,start_time
    permuted = tmp_path / "b.csv_bi"
    permuted.write_text(
        "\n".join(ln if ln.startswith("#") else ",".join(ln.split(",")[i] for i in order) for ln in lines) + "\n"
    )
    assert permuted.read_text().splitlines()[5] == "label,confidence,stop_time,channel,start_time"
    got = native.parse_annotation(permuted)
    assert got["seizures"] == native.parse_annotation(standard)["seizures"] == [(100.0, 130.0), (200.0, 210.0)]
    labels = native.sample_labels(permuted, 300 * 256, 256.0)
    assert labels.sum() == (30 + 10) * 256


@pytest.mark.parametrize("decimals", [2, 4])
def test_duration_decimals(tmp_path: Path, decimals: int) -> None:
    path = write_csv_bi(tmp_path / "d.csv_bi", 301.0, [], decimals=decimals)
    assert f"# duration = 301.{'0' * decimals} secs" in path.read_text()
    a = native.parse_annotation(path)
    assert a["duration"] == ref_parse(path)[1] == 301.0
    assert a["seizures"] == []


def test_seizure_only_file_and_unknown_labels(tmp_path: Path) -> None:
    path = tmp_path / "s.csv_bi"
    path.write_text(f"{HEADER}\nTERM,10.0000,20.0000,seiz,1.0000\nTERM,20.0000,30.0000,artf,1.0000\n")
    a = native.parse_annotation(path)
    assert a["seizures"] == [(10.0, 20.0)]
    assert a["duration"] is None and a["label_counts"] == {"seiz": 1, "artf": 1}
    # A config makes artf a seizure label instead.
    a = native.parse_annotation(path, json.dumps({"seizure_labels": ["ARTF"]}))
    assert a["seizures"] == [(20.0, 30.0)]


@pytest.mark.parametrize("fs", [250.0, 256.0, 400.0, 173.61])
def test_sample_labels_against_numpy(tmp_path: Path, fs: float) -> None:
    rng = np.random.default_rng(int(fs))
    duration = 600.0
    starts = np.sort(rng.uniform(0, duration, 12)).round(4)
    seizures = [(float(a), float(min(a + rng.uniform(0.01, 40), duration))) for a in starts[::2]]
    path = write_csv_bi(tmp_path / "r.csv_bi", duration, seizures)
    n = int(duration * fs)
    got = native.sample_labels(path, n, fs)
    assert got.dtype == np.uint8 and got.shape == (n,)
    np.testing.assert_array_equal(got, ref_labels(ref_parse(path)[0], n, fs))
    assert got.sum() > 0


def test_intervals_past_the_end_are_clipped(tmp_path: Path) -> None:
    # The annotation says 100 s, the preprocessed signal holds only 90 s.
    path = write_csv_bi(tmp_path / "c.csv_bi", 100.0, [(10.0, 20.0), (85.5, 100.0)])
    fs, n = 256.0, 90 * 256
    got = native.sample_labels(path, n, fs)
    assert got.shape == (n,)
    np.testing.assert_array_equal(got, ref_labels([(10.0, 20.0), (85.5, 100.0)], n, fs))
    assert got[-1] == 1 and got.sum() == 10 * 256 + int(4.5 * 256)


def test_unlabeled_recording_never_background(tmp_path: Path) -> None:
    n = 70 * 256
    labels = native.sample_labels(None, n, 256.0)
    assert labels.dtype == np.uint8 and (labels == 255).all() and labels.shape == (n,)
    starts, cls, frac = native.windows(labels, 256.0, 60.0, 10.0)
    assert starts.tolist() == [0, 10 * 256] and (cls == 255).all() and (frac == 0).all()
    assert native.find_annotation(tmp_path / "none.edf") is None


def test_windows_60_10_at_256_against_numpy(tmp_path: Path) -> None:
    fs, duration = 256.0, 1289.0
    path = write_csv_bi(tmp_path / "w.csv_bi", duration, [(42.2786, 81.776), (300.0, 300.5), (1250.0, 1289.0)])
    n = int(duration * fs)
    labels = native.sample_labels(path, n, fs)
    got = native.windows(labels, fs, 60.0, 10.0)
    assert len(got[0]) == (1289 - 60) // 10 + 1 == 123
    assert_windows_equal(got, ref_windows(labels, fs, 60.0, 10.0))
    assert set(got[1].tolist()) == {0, 1}
    # The tail (last 9 s) is dropped: the last window ends within the recording.
    assert got[0][-1] + 60 * 256 <= n < got[0][-1] + 70 * 256
    # Mixed with unlabeled samples, and strided input.
    labels[5000:6000] = 255
    assert_windows_equal(native.windows(labels, fs, 60.0, 10.0), ref_windows(labels, fs, 60.0, 10.0))
    assert_windows_equal(native.windows(labels[::2], fs / 2, 30.0, 7.0), ref_windows(labels[::2], fs / 2, 30.0, 7.0))


def test_short_recording_has_no_windows() -> None:
    for n in [0, 1, 60 * 256 - 1]:
        starts, cls, frac = native.windows(np.zeros(n, np.uint8), 256.0, 60.0, 10.0)
        assert len(starts) == len(cls) == len(frac) == 0
    assert len(native.windows(np.zeros(60 * 256, np.uint8), 256.0, 60.0, 10.0)[0]) == 1


def test_find_annotation_prefers_csv_bi(tmp_path: Path) -> None:
    edf = tmp_path / "aaaaaimu_s005_t001.edf"
    edf.write_bytes(b"")
    write_csv(edf.with_suffix(".csv"), 10.0, {})
    assert native.find_annotation(edf) == edf.with_suffix(".csv")
    write_csv_bi(edf.with_suffix(".csv_bi"), 10.0, [])
    assert native.find_annotation(str(edf)) == edf.with_suffix(".csv_bi")
    assert native.find_annotation(edf, json.dumps({"files": [".csv"]})) == edf.with_suffix(".csv")


@pytest.mark.parametrize(
    ("body", "line", "snippet"),
    [
        ("", 1, "end of the file"),
        ("TERM,0.0,1.0,seiz,1.0\n", 1, "TERM,0.0,1.0,seiz"),
        ("channel,start_time,label\n", 1, "stop_time"),
        (f"{HEADER}\nTERM,0.0,1.0\n", 2, "label"),
        (f"{HEADER}\nTERM,0.0,,seiz,1.0\n", 2, "empty"),
        (f"{HEADER}\nTERM,0.0,1.0,bckg,1.0\nTERM,1.0,x2,seiz,1.0\n", 3, "x2"),
        (f"{HEADER}\nTERM,nan,1.0,seiz,1.0\n", 2, "not finite"),
        (f"{HEADER}\nTERM,5.0,4.0,seiz,1.0\n", 2, "before"),
    ],
)
def test_malformed_files_raise_annotation_error(tmp_path: Path, body: str, line: int, snippet: str) -> None:
    path = tmp_path / "bad.csv_bi"
    path.write_text(body)
    with pytest.raises(AnnotationError, match=re.escape(snippet)) as info:
        native.parse_annotation(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, BrainbrrError)
    assert str(info.value).startswith(f"{path}:{line}: ")
    with pytest.raises(AnnotationError):
        native.sample_labels(path, 10, 1.0)


def test_other_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.csv_bi"):
        native.parse_annotation(tmp_path / "missing.csv_bi")
    with pytest.raises(AnnotationError, match="unknown field"):
        native.parse_annotation(tmp_path / "x", json.dumps({"seizure": []}))
    labels = np.zeros(100, np.uint8)
    with pytest.raises(AnnotationError, match="stride"):
        native.windows(labels, 256.0, 1.0, 0.0)
    with pytest.raises(AnnotationError, match="sampling rate"):
        native.windows(labels, 0.0, 1.0, 1.0)
    with pytest.raises(AnnotationError, match="sampling rate"):
        native.sample_labels(None, 10, -1.0)
    labels[7] = 3
    with pytest.raises(AnnotationError, match="sample 7 has label 3"):
        native.windows(labels, 1.0, 1.0, 1.0)
    with pytest.raises(TypeError):
        native.windows(labels.astype(np.int64), 1.0, 1.0, 1.0)
