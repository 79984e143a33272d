"""brainbrr-ingest on a generated TUSZ-like corpus with every bad-input kind.

Every expected value comes from how the files were written (conftest.py):
sample counts from the input length and rate, labels and windows from the
seizure intervals with numpy, failures from the kind of damage. Nothing is
compared with an earlier brainbrr output.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import brainbrr
from brainbrr.synthetic import EEG_19, write_recording
from tests.conftest import (
    ExpectedRecording,
    TuszCorpus,
    csv_bi,
    read_array,
    read_attrs,
    read_column,
    run_cli,
    run_ingest,
    store_arrays,
)

FS = 256
WINDOW, STRIDE = 60 * FS, 10 * FS
Ingested = tuple[Path, dict[str, Any]]


def rid_of(rel: str) -> str:
    """The recording id of ``rel``, re-implemented from the documented rule: ``/`` is ``~``;
    bytes outside ``[A-Za-z0-9._+-]`` and a leading ``.`` or ``_`` are ``%XX``."""
    out = []
    for i, b in enumerate(rel.encode()):
        c = chr(b)
        if c == "/":
            out.append("~")
        elif c.isascii() and (c.isalnum() or c in "._+-") and not (i == 0 and c in "._"):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def n_out(e: ExpectedRecording) -> int:
    # FFT resampling to 256 Hz: round(n_in * 256 / fs_in), ties to even like Python's round.
    return round(e.n_in * FS / e.fs_in)


def labels_of(e: ExpectedRecording) -> npt.NDArray[np.uint8]:
    """Per-sample labels: sample k is seizure when some interval has start <= k / 256 < stop."""
    n = n_out(e)
    if e.seizures is None:
        return np.full(n, 255, np.uint8)
    t = np.arange(n) / FS
    y = np.zeros(n, np.uint8)
    for a, b in e.seizures:
        y[(t >= a) & (t < b)] = 1
    return y


def windows_of(y: npt.NDArray[np.uint8], window: int, stride: int) -> tuple[list[int], list[int], list[float]]:
    """(start, label, seizure_fraction) of each window; the tail is dropped."""
    count = (len(y) - window) // stride + 1 if len(y) >= window else 0
    starts, labels, fractions = [], [], []
    for s in range(0, count * stride, stride):
        w = y[s : s + window]
        starts.append(s)
        if (w == 255).any():
            labels.append(255)
            fractions.append(0.0)
        else:
            seizure = int((w == 1).sum())
            labels.append(int(seizure > 0))
            fractions.append(float(np.float32(seizure / window)))
    return starts, labels, fractions


def index_rows(store: Path) -> dict[str, dict[str, Any]]:
    """index/recordings as rid -> row, each with its window rows."""
    columns = ("rid", "path", "split", "patient", "session", "n_samples", "n_windows", "window_offset")
    cols = {name: read_column(store, f"index/recordings/{name}") for name in columns}
    win = {
        name: read_column(store, f"index/windows/{name}")
        for name in ("recording", "start", "label", "seizure_fraction")
    }
    rows: dict[str, dict[str, Any]] = {}
    for i, rid in enumerate(cols["rid"]):
        row = {name: values[i] for name, values in cols.items()}
        sel = slice(row["window_offset"], row["window_offset"] + row["n_windows"])
        row["windows"] = {name: values[sel] for name, values in win.items()}
        rows[rid] = row
    return rows


def failure_rows(store: Path) -> dict[str, str]:
    paths, reasons = read_column(store, "index/failures/path"), read_column(store, "index/failures/reason")
    assert len(paths) == len(set(paths)), paths
    return dict(zip(paths, reasons, strict=True))


def failure_kinds(store: Path) -> dict[str, str]:
    """``path -> "failed" | "skipped"``, from ``index/failures/kind``."""
    paths, kinds = read_column(store, "index/failures/path"), read_column(store, "index/failures/kind")
    return dict(zip(paths, kinds, strict=True))


def snapshot(store: Path) -> dict[str, str]:
    """Every entry of the store: a hash per file, a marker per folder."""
    return {
        p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(store.rglob("*"))
    }


def chunk_identities(store: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every recording file: a recording rewritten gets new files."""
    return {
        p.relative_to(store).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in (store / "recordings").rglob("*")
        if p.is_file()
    }


def window_label_counts(corpus: TuszCorpus) -> tuple[int, int, int]:
    """(windows, seizure windows, unlabeled windows) of the whole corpus at the default window."""
    labels = [label for e in corpus.recordings.values() for label in windows_of(labels_of(e), WINDOW, STRIDE)[1]]
    return len(labels), labels.count(1), labels.count(255)


@pytest.fixture(scope="module")
def ingested(tusz_corpus: TuszCorpus, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    store = tmp_path_factory.mktemp("ingest") / "cache.zarr"
    proc, summary = run_ingest(tusz_corpus.root, store)
    assert summary is not None, proc.stderr
    # Exit status 1: some recordings failed, the rest were ingested.
    assert proc.returncode == 1, proc.stderr
    return store, summary


# --- One full run on the corpus ----------------------------------------------


def test_summary_counts(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    _, s = ingested
    assert (s["found"], s["ingested"], s["current"], s["recordings"]) == (
        tusz_corpus.found,
        len(tusz_corpus.recordings),
        0,
        len(tusz_corpus.recordings),
    )
    assert (s["windows"], s["seizure_windows"], s["unlabeled_windows"]) == window_label_counts(tusz_corpus)
    assert s["cancelled"] is False
    hours = sum(n_out(e) for e in tusz_corpus.recordings.values()) / FS / 3600
    assert s["hours"] == pytest.approx(hours, rel=1e-12)
    assert sorted(p for p, _ in s["failed"]) == sorted(tusz_corpus.failed)
    assert sorted(p for p, _ in s["skipped"]) == sorted(tusz_corpus.skipped)


def test_failures_and_skips_name_the_file_and_the_problem(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, s = ingested
    rows, kinds = failure_rows(store), failure_kinds(store)
    assert sorted(rows) == sorted([*tusz_corpus.failed, *tusz_corpus.skipped])
    for rel, words in tusz_corpus.failed.items():
        assert kinds[rel] == "failed" and not rows[rel].startswith("skipped: "), (kinds[rel], rows[rel])
        assert all(w in rows[rel] for w in words), (rel, rows[rel], words)
    for rel, words in tusz_corpus.skipped.items():
        assert kinds[rel] == "skipped" and not rows[rel].startswith("skipped: "), (kinds[rel], rows[rel])
        assert all(w in rows[rel] for w in words), (rel, rows[rel], words)
    # The summary gives the same reasons as the index, and the kind apart.
    assert dict(s["failed"]) | dict(s["skipped"]) == rows
    assert {p: "failed" for p, _ in s["failed"]} | {p: "skipped" for p, _ in s["skipped"]} == kinds


def test_recordings_table(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    rows = index_rows(store)
    assert sorted(rows) == sorted(rid_of(rel) for rel in tusz_corpus.recordings)
    for rel, e in tusz_corpus.recordings.items():
        row = rows[rid_of(rel)]
        n = n_out(e)
        expected_windows = (n - WINDOW) // STRIDE + 1 if n >= WINDOW else 0
        assert (row["path"], row["split"], row["patient"], row["session"]) == (rel, e.split, e.patient, e.session)
        assert (row["n_samples"], row["n_windows"]) == (n, expected_windows), rel
    # Windows of row i are rows window_offset[i] .. + n_windows[i]: contiguous, in row order.
    offsets, counts = (
        read_column(store, "index/recordings/window_offset"),
        read_column(store, "index/recordings/n_windows"),
    )
    assert offsets == np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
    assert read_column(store, "index/windows/recording") == np.repeat(np.arange(len(counts)), counts).tolist()


def test_sample_counts_cover_every_rate(tusz_corpus: TuszCorpus) -> None:
    # The corpus must exercise what the other tests claim: mixed rates, REF and LE, interpolation, rounding.
    rates = {e.fs_in for e in tusz_corpus.recordings.values()}
    assert rates == {250, 256, 400, 512}
    assert {e.montage for e in tusz_corpus.recordings.values()} >= {"01_tcp_ar", "02_tcp_le", "03_tcp_ar_a"}
    assert {e.interpolated for e in tusz_corpus.recordings.values()} >= {("FZ",), ("PZ",), ("FZ", "PZ")}
    assert any(e.n_in * FS % e.fs_in for e in tusz_corpus.recordings.values())  # a length that rounds
    assert n_out(tusz_corpus.recordings["other/site_b/rec01.edf"]) == 17997


def test_signals_labels_and_recording_metadata(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    arrays = store_arrays(store)
    for rel, e in tusz_corpus.recordings.items():
        rec = f"recordings/{rid_of(rel)}"
        n = n_out(e)
        signal, label = arrays[f"{rec}/signal"], arrays[f"{rec}/label"]
        assert (signal.dtype, signal.shape, signal.chunks) == (np.dtype(np.float32), (19, n), (19, n)), rel
        assert (label.dtype, label.shape) == (np.dtype(np.uint8), (n,)), rel
        x = read_array(store, f"{rec}/signal")
        # Per-channel z-score over the whole recording, interpolated channels included.
        np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-3, err_msg=rel)
        np.testing.assert_allclose(x.std(axis=1), 1, atol=1e-3, err_msg=rel)
        np.testing.assert_array_equal(read_array(store, f"{rec}/label"), labels_of(e), err_msg=rel)
        meta = read_attrs(store, rec)["brainbrr_recording"]
        assert meta["source"] == rel
        assert (meta["fs_in"], meta["n_in"], meta["fs"], meta["n_samples"], meta["n_channels"]) == (
            e.fs_in,
            e.n_in,
            FS,
            n,
            19,
        )
        assert (meta["split"], meta["patient"], meta["session"]) == (
            e.split or None,
            e.patient or None,
            e.session or None,
        )
        assert meta["montage"] == e.montage
        assert meta["labeled"] is (e.seizures is not None)
        assert tuple(meta["interpolated"]) == e.interpolated, rel
        source = tusz_corpus.root / rel
        assert (meta["size"], meta["mtime_ns"]) == (source.stat().st_size, source.stat().st_mtime_ns)
        if e.same_signal_as is not None:
            # .EDF copy and 24-bit BDF conversion hold the same physical samples as their source.
            twin = read_array(store, f"recordings/{rid_of(e.same_signal_as)}/signal")
            np.testing.assert_array_equal(x, twin, err_msg=rel)


def test_windows_match_the_annotation_intervals(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    rows = index_rows(store)
    for rel, e in tusz_corpus.recordings.items():
        starts, labels, fractions = windows_of(labels_of(e), WINDOW, STRIDE)
        got = rows[rid_of(rel)]["windows"]
        assert got["start"] == starts, rel
        assert got["label"] == labels, rel
        assert got["seizure_fraction"] == fractions, rel


def test_edge_cases_of_labels(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    rid = "edf~dev~aaaazzzz~s002_2007_10_22~01_tcp_ar~aaaazzzz_s002_t{:03d}.edf".format
    rows = index_rows(store)
    # No annotation file: unlabeled (255) everywhere, never background.
    assert set(np.unique(read_array(store, f"recordings/{rid(0)}/label")).tolist()) == {255}
    assert set(rows[rid(0)]["windows"]["label"]) == {255}
    # A seizure running past the end is clipped: seizure from 80 s to the last sample.
    y = read_array(store, f"recordings/{rid(1)}/label")
    assert (len(y), int(np.argmax(y)), int(y.sum())) == (100 * FS, 80 * FS, 20 * FS)
    # Shorter than one window: kept, with its labels, and 0 windows.
    assert rows[rid(3)]["n_windows"] == 0
    assert int(read_array(store, f"recordings/{rid(3)}/label").sum()) == 7 * FS
    # Exactly one window long: one window, 0.5 s of seizure in it.
    window = rows[rid(9)]["windows"]
    assert (window["start"], window["label"], window["seizure_fraction"]) == (
        [0],
        [1],
        [float(np.float32(128 / WINDOW))],
    )


def test_root_attributes(ingested: Ingested) -> None:
    store, _ = ingested
    root = read_attrs(store)["brainbrr"]
    assert root["format"] == 1
    assert root["channels"] == list(EEG_19)
    assert root["fs"] == FS
    assert root["config"] == brainbrr.default_config()
    assert root["label_names"] == {"0": "bckg", "1": "seiz", "255": "unlabeled"}
    assert root["index"]["complete"] is True
    index = read_attrs(store, "index")["brainbrr_index"]
    assert (index["window_samples"], index["stride_samples"]) == (WINDOW, STRIDE)


def test_zarr_python_reads_every_array(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    arrays = store_arrays(store)
    index = {
        f"index/{t}/{c}"
        for t, cols in {
            "recordings": (
                "rid", "path", "split", "patient", "session", "run", "corpus", "start_time",
                "n_samples", "n_windows", "window_offset", "channel_present", "fs_in", "channel_annotated",
            ),
            "windows": ("recording", "start", "label", "seizure_fraction", "type"),
            "failures": ("path", "kind", "reason"),
            "channel_seizures": ("recording", "channel", "start", "stop", "type"),
        }.items()
        for c in cols
    }
    per_recording = {
        f"recordings/{rid_of(rel)}/{a}" for rel in tusz_corpus.recordings for a in ("signal", "label", "type", "channel")
    }
    assert set(arrays) == index | per_recording
    for name, array in arrays.items():
        assert np.asarray(array[...]).shape == array.shape, name


def test_verify_and_info(tusz_corpus: TuszCorpus, ingested: Ingested) -> None:
    store, _ = ingested
    verify = run_cli("brainbrr", "verify", store)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    n = len(tusz_corpus.recordings)
    assert verify.stdout.strip().startswith(f"{store}: OK (checked {n} recordings"), verify.stdout
    assert f"{3 * n - sum(e.n_in == 0 for e in tusz_corpus.recordings.values())} chunk checksums" in verify.stdout
    info = run_cli("brainbrr", "info", store)
    assert info.returncode == 0, info.stderr
    n = len(tusz_corpus.recordings)
    assert f"{n} recordings" in info.stdout
    windows, seizure, unlabeled = window_label_counts(tusz_corpus)
    assert f"{windows} windows ({seizure} with seizure, {unlabeled} unlabeled)" in info.stdout
    for rel in [*tusz_corpus.failed, *tusz_corpus.skipped]:
        assert rel in info.stdout, rel
    assert f"19 channels (referential montage) at 256 Hz, windows of {WINDOW / 256:g}" in info.stdout
    # The ingest's real duration, not "in 0.0 s" (issue 23).
    seconds = re.search(r"MB of EDF in ([0-9.]+) s", info.stdout)
    assert seconds and float(seconds.group(1)) > 0, info.stdout
    as_json = json.loads(run_cli("brainbrr", "info", "--json", store).stdout)
    assert as_json["index"]["recordings"] == n


# --- Options -----------------------------------------------------------------


def test_window_and_stride_options(tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    store = tmp_path / "w30.zarr"
    proc, s = run_ingest(tusz_corpus.root, store, "--window", "30", "--stride", "5")
    assert proc.returncode == 1 and s is not None, proc.stderr
    rows = index_rows(store)
    for rel, e in tusz_corpus.recordings.items():
        starts, labels, fractions = windows_of(labels_of(e), 30 * FS, 5 * FS)
        got = rows[rid_of(rel)]
        assert got["n_windows"] == len(starts) == ((n_out(e) - 30 * FS) // (5 * FS) + 1 if n_out(e) >= 30 * FS else 0)
        assert (got["windows"]["start"], got["windows"]["label"], got["windows"]["seizure_fraction"]) == (
            starts,
            labels,
            fractions,
        )
    assert s["windows"] == sum(r["n_windows"] for r in rows.values())
    assert read_attrs(store)["brainbrr"]["config"]["window_s"] == 30


def test_files_list_ingests_only_the_listed_files(tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    listed = [
        "other/UPPER.EDF",
        "edf/dev/aaaazzzz/s002_2007_10_22/01_tcp_ar/aaaazzzz_s002_t000.edf",
        "other/junk/png.edf",
    ]
    (tmp_path / "list.txt").write_text("\n".join(listed) + "\n")
    store = tmp_path / "listed.zarr"
    proc, s = run_ingest(tusz_corpus.root, store, "--files", tmp_path / "list.txt")
    assert proc.returncode == 1 and s is not None, proc.stderr
    assert (s["found"], s["ingested"], s["recordings"]) == (3, 2, 2)
    assert [p for p, _ in s["failed"]] == ["other/junk/png.edf"]
    assert sorted(index_rows(store)) == sorted(rid_of(r) for r in listed[:2])


def test_strict_stops_at_the_first_failure(tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    store = tmp_path / "strict.zarr"
    proc, s = run_ingest(tusz_corpus.root, store, "--strict")
    assert proc.returncode != 0 and s is None
    assert "strict" in proc.stderr
    assert any(all(w in proc.stderr for w in words) for words in tusz_corpus.failed.values()), proc.stderr
    # It stopped: the recordings after the first failures were never started.
    assert len([p for p in (store / "recordings").iterdir() if p.is_dir()]) < len(tusz_corpus.recordings)


def test_only_skips_exit_0(small_corpus_template: Path, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, root)
    (root / "site").mkdir()
    write_recording(root / "site" / "nooc.edf", fs=256, duration_s=70, missing=("O1", "C4"))
    proc, s = run_ingest(root, tmp_path / "s.zarr")
    assert proc.returncode == 0, proc.stderr
    assert s is not None and (s["ingested"], s["failed"], [p for p, _ in s["skipped"]]) == (4, [], ["site/nooc.edf"])
    reason = failure_rows(tmp_path / "s.zarr")["site/nooc.edf"]
    assert failure_kinds(tmp_path / "s.zarr")["site/nooc.edf"] == "skipped"
    assert "nooc.edf" in reason and "O1" in reason and "C4" in reason


def test_every_run_leaves_its_own_root(small_corpus_template: Path, tmp_path: Path) -> None:
    """Readers of a remote store keep its listing for the root's version: two runs that find
    nothing to do still leave different roots, each naming its run."""
    store = tmp_path / "s.zarr"
    roots, runs = [], []
    for _ in range(3):
        proc, _ = run_ingest(small_corpus_template, store)
        assert proc.returncode == 0, proc.stderr
        roots.append((store / "zarr.json").read_bytes())
        runs.append(read_attrs(store)["brainbrr"]["index"]["run"])
    assert len(set(roots)) == len(set(runs)) == 3 and all(runs)


def test_truncated_data_is_reported(small_corpus_template: Path, tmp_path: Path) -> None:
    """A file cut after some complete records is bad input: it is listed in index/failures, not silently shortened."""
    root = tmp_path / "corpus"
    root.mkdir()
    good = next(small_corpus_template.rglob("*.edf"))
    raw = good.read_bytes()
    header_bytes = int(raw[184:192])
    record_bytes = (len(raw) - header_bytes) // int(raw[236:244])
    (root / "cut.edf").write_bytes(raw[: header_bytes + 30 * record_bytes + record_bytes // 2])
    shutil.copyfile(good.with_suffix(".csv_bi"), root / "cut.csv_bi")
    proc, s = run_ingest(root, tmp_path / "s.zarr")
    assert s is not None, proc.stderr
    reason = failure_rows(tmp_path / "s.zarr").get("cut.edf", "")
    assert "cut.edf" in reason and "truncated" in reason, s
    assert s["recordings"] == 0
    # The one recording found failed, so nothing was ingested: exit 2, saying why.
    assert proc.returncode == 2 and "none of the 1 recordings found was ingested" in proc.stderr, proc.stderr


def _copy_with_header(good: Path, dest: Path, **fields: tuple[int, str]) -> None:
    """``good`` copied to ``dest`` with fixed-width header fields (offset, text) overwritten."""
    raw = bytearray(good.read_bytes())
    for at, text in fields.values():
        raw[at : at + 8] = text.ljust(8).encode()
    dest.write_bytes(bytes(raw))


def test_absurd_record_durations_fail_one_file_not_the_run(small_corpus_template: Path, tmp_path: Path) -> None:
    """Regression: a record duration of 99999999 s asked the FFT for 7 TB and aborted the
    whole ingest (nothing in index/failures, a re-run aborted again); 3000 s made a 1 MB
    file a 4 GB store; 1e-9 s stored a recording of 0 samples as ingested."""
    root = tmp_path / "corpus"
    root.mkdir()
    good = next(small_corpus_template.rglob("*.edf"))
    shutil.copyfile(good, root / "good.edf")
    bad = ["99999999", "65535", "21474836", "3000", "1e-9"]
    for i, value in enumerate(bad):
        _copy_with_header(good, root / f"bad{i}.edf", duration=(244, value))
    store = tmp_path / "s.zarr"
    for _ in range(2):  # a re-run meets the same files and fails them again
        proc, s = run_ingest(root, store)
        assert proc.returncode == 1 and s is not None, proc.stderr
        failures = failure_rows(store)
        assert sorted(failures) == [f"bad{i}.edf" for i in range(len(bad))], failures
        for i in range(len(bad)):
            reason = failures[f"bad{i}.edf"]
            assert f"bad{i}.edf" in reason and '"duration of a data record"' in reason, reason
    assert s["recordings"] == 1
    assert run_cli("brainbrr", "verify", store).returncode == 0


def test_empty_or_truncated_annotations_fail(small_corpus_template: Path, tmp_path: Path) -> None:
    """Regression: a .csv_bi with its header and no rows, one cut after a row (the seizure
    that followed lost), a .tse_bi with its version line only: all labelled background, exit 0."""
    root = tmp_path / "corpus"
    root.mkdir()
    good = next(small_corpus_template.rglob("*.edf"))
    raw = good.read_bytes()
    duration = int(raw[236:244]) * float(raw[244:252])
    rows = [(0, 20, "bckg"), (20, 30, "seiz"), (30, duration, "bckg")]
    whole = csv_bi(f"{duration:.4f}", rows)
    cut = whole[: whole.index("TERM,20.0000")]
    annotations = {
        "whole": (".csv_bi", whole),
        "empty": (".csv_bi", csv_bi(f"{duration:.4f}", [])),
        "cut": (".csv_bi", cut),
        "term": (".tse_bi", "version = tse_v1.0.0\n\n"),
        "term_cut": (".tse_bi", "version = tse_v1.0.0\n\n0.0000 20.0000 bckg 1.0000\n"),
    }
    for name, (ext, text) in annotations.items():
        shutil.copyfile(good, root / f"{name}.edf")
        (root / f"{name}{ext}").write_text(text)
    store = tmp_path / "s.zarr"
    proc, s = run_ingest(root, store)
    assert proc.returncode == 1 and s is not None, proc.stderr
    failures = failure_rows(store)
    assert sorted(failures) == ["cut.edf", "empty.edf", "term.edf", "term_cut.edf"], failures
    assert failures["empty.edf"].endswith("empty.csv_bi:6: no event rows: an annotation file lists the events of its whole recording, so this one is truncated or empty")
    assert "cut.csv_bi:6: the rows of channel \"TERM\" end at 20 s" in failures["cut.edf"], failures["cut.edf"]
    assert "its stated duration" in failures["cut.edf"]
    assert "term.tse_bi:3: no event rows" in failures["term.edf"]
    assert "term_cut.tse_bi:3: the rows end at 20 s" in failures["term_cut.edf"]
    assert s["recordings"] == 1


# --- Resume, changed sources, changed config ---------------------------------


@pytest.fixture
def small_corpus(small_corpus_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, root)
    return root


def test_resume_adds_and_redoes_only_what_changed(small_corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.zarr"
    proc, s = run_ingest(small_corpus, store)
    assert proc.returncode == 0 and s is not None and s["ingested"] == 4, proc.stderr
    before = chunk_identities(store)

    # Same command again: nothing redone, nothing rewritten.
    proc, s = run_ingest(small_corpus, store)
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["found"], s["ingested"], s["current"], s["recordings"]) == (4, 0, 4, 4)
    assert chunk_identities(store) == before

    # A file added to the corpus: only it is ingested.
    (small_corpus / "added").mkdir()
    write_recording(small_corpus / "added" / "new.edf", fs=250, duration_s=75, seizures=((20.0, 35.0),))
    proc, s = run_ingest(small_corpus, store)
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["found"], s["ingested"], s["current"], s["recordings"]) == (5, 1, 4, 5)
    assert {k: v for k, v in chunk_identities(store).items() if not k.startswith("recordings/added~")} == before
    new = ExpectedRecording("added/new.edf", 250, 250 * 75, ((20.0, 35.0),))
    np.testing.assert_array_equal(read_array(store, "recordings/added~new.edf/label"), labels_of(new))
    before = chunk_identities(store)

    # One source touched (mtime only), another grown by a byte with its mtime restored (size only).
    sources = sorted(small_corpus.rglob("*.edf"))
    touched, grown = sources[0], sources[1]
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    st = grown.stat()
    with grown.open("ab") as f:
        f.write(b"\0")
    os.utime(grown, ns=(st.st_atime_ns, st.st_mtime_ns))
    proc, s = run_ingest(small_corpus, store)
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["found"], s["ingested"], s["current"], s["recordings"]) == (5, 2, 3, 5)
    redone = {rid_of(p.relative_to(small_corpus).as_posix()) for p in (touched, grown)}
    after = chunk_identities(store)
    for path, identity in before.items():
        rid = path.split("/")[1]
        assert (after[path] != identity) == (rid in redone), path
    for p in (touched, grown):
        meta = read_attrs(store, f"recordings/{rid_of(p.relative_to(small_corpus).as_posix())}")["brainbrr_recording"]
        assert (meta["size"], meta["mtime_ns"]) == (p.stat().st_size, p.stat().st_mtime_ns)
    assert run_cli("brainbrr", "verify", store).returncode == 0


def test_changed_config_is_refused_and_the_store_untouched(small_corpus: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.zarr"
    proc, _ = run_ingest(small_corpus, store)
    assert proc.returncode == 0, proc.stderr
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bandpass": {"high": 100.0}}))
    before = snapshot(store)

    proc, s = run_ingest(small_corpus, store, "--config", str(config))
    assert proc.returncode == 2 and s is None
    assert re.search(r"\bbandpass\.high\b", proc.stderr), proc.stderr
    assert "window" not in proc.stderr, proc.stderr
    assert snapshot(store) == before

    # --overwrite rebuilds it with the new config.
    proc, s = run_ingest(small_corpus, store, "--config", str(config), "--overwrite")
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["ingested"], s["current"], s["recordings"]) == (4, 0, 4)
    assert read_attrs(store)["brainbrr"]["config"]["bandpass"]["high"] == 100
    assert run_cli("brainbrr", "verify", store).returncode == 0


@pytest.mark.parametrize("written_before", [False, True], ids=["store", "store-written-before"])
def test_another_window_rebuilds_the_index_only(small_corpus: Path, tmp_path: Path, written_before: bool) -> None:
    """A window is not a signal parameter: another --window keeps every
    recording and rebuilds the index, also in a store whose hashes still
    covered the window keys (written before they left the hash)."""
    store = tmp_path / "s.zarr"
    proc, _ = run_ingest(small_corpus, store)
    assert proc.returncode == 0, proc.stderr
    if written_before:
        for doc in [store / "zarr.json", *store.glob("recordings/*/zarr.json")]:
            text = doc.read_text()
            doc.write_text(re.sub(r'"config_hash": "[0-9a-f]{64}"', '"config_hash": "hash-with-the-window"', text))
    recordings = chunk_identities(store)
    rewindowed = brainbrr.ZarrWindowDataset(store, window_s=30, stride_s=5, drop_unlabeled=False)

    proc, s = run_ingest(small_corpus, store, "--window", "30", "--stride", "5")
    assert proc.returncode == 0 and s is not None, proc.stderr
    assert (s["ingested"], s["current"], s["recordings"]) == (0, 4, 4)
    assert chunk_identities(store) == recordings
    root = read_attrs(store)["brainbrr"]
    assert (root["config"]["window_s"], root["config"]["stride_s"]) == (30, 5)
    assert root.get("earlier_config_hashes", []) == (["hash-with-the-window"] if written_before else [])
    ds = brainbrr.ZarrWindowDataset(store, drop_unlabeled=False)
    assert (ds.window_samples, ds.stride_samples) == (30 * ds.fs, 5 * ds.fs)
    assert {k: list(v) for k, v in ds.windows.items()} == {k: list(v) for k, v in rewindowed.windows.items()}
    assert run_cli("brainbrr", "verify", store).returncode == 0, "verify"


LONG_INGEST = """
import sys
from brainbrr.ingest import ingest
from tests.memory import peak_rss
base = peak_rss()
summary = ingest(sys.argv[1], sys.argv[2], n_jobs=1)
assert summary.ingested == 1, summary
print(base, peak_rss())
"""


def test_a_worker_holds_less_than_the_recording(tmp_path: Path) -> None:
    """A 2-hour recording at 250 Hz decodes to 19 x 1.8 M float64 (274 MB); the
    ingest streams it 4 channels at a time and lets the EDF's pages go as they
    are decoded, so one worker's peak (buffers, FFT plans and mapped file pages
    included) stays below that (measured 0.90x)."""
    import subprocess
    import sys

    fs, seconds = 250, 2 * 3600
    (tmp_path / "src").mkdir()
    write_recording(tmp_path / "src" / "long.edf", fs=fs, duration_s=seconds, missing=("FZ",))
    out = subprocess.run(
        [sys.executable, "-c", LONG_INGEST, str(tmp_path / "src"), str(tmp_path / "cache.zarr")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    base, peak = map(int, out.stdout.split())
    decoded = len(EEG_19) * fs * seconds * 8
    assert peak - base < decoded, (peak - base) / decoded


def test_a_patient_in_two_splits_is_a_store_warning(small_corpus_template: Path, tmp_path: Path) -> None:
    """Regression (issue 23): a patient whose recordings sit in two splits leaks between them, and
    neither the ingest nor ``info`` said so."""
    root = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, root)
    edf = next(root.rglob("*.edf"))
    split = next(p for p in ("train", "dev", "eval") if p in edf.parts)
    other = next(p for p in ("train", "dev", "eval") if p != split)
    moved = Path(*[other if part == split else part for part in edf.parts])
    moved.parent.mkdir(parents=True)
    for f in edf.parent.glob(edf.stem + ".*"):
        shutil.copyfile(f, moved.parent / f.name)
    patient = edf.name.split("_s")[0]
    proc, s = run_ingest(root, tmp_path / "s.zarr")
    assert s is not None, proc.stderr
    want = f"patient {patient} is in splits {' and '.join(sorted((split, other)))}: its recordings leak between them"
    assert ["", want] in s["warnings"], s["warnings"]
    info = run_cli("brainbrr", "info", tmp_path / "s.zarr")
    assert want in info.stdout, info.stdout
