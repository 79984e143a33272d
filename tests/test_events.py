"""Window scores and stored labels back to seizure events, and the files scorers read:
checked against a per-sample brute force, the ingest's own annotation reader (a round
trip through re-ingest) and SzCORE's ``timescoring``."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from brainbrr import _native, events
from brainbrr.dataset import ZarrWindowDataset
from brainbrr.events import Event
from brainbrr.ingest import ingest
from tests.conftest import TuszCorpus, read_array, run_cli


def brute_force(
    ds: ZarrWindowDataset, scores: np.ndarray, threshold: float, min_s: float, gap_s: float, combine: str
) -> dict[str, list[tuple[int, int, float]]]:
    """The definition, sample by sample: (a, b, score) in samples per recording."""
    out = {}
    for r in np.unique(ds._rec):
        n = int(ds.n_samples[r])
        total, count, high = np.zeros(n), np.zeros(n), np.full(n, -np.inf)
        for i in np.flatnonzero(ds._rec == r):
            a = int(ds._start[i])
            total[a : a + ds.window_samples] += scores[i]
            count[a : a + ds.window_samples] += 1
            high[a : a + ds.window_samples] = np.maximum(high[a : a + ds.window_samples], scores[i])
        per = np.where(count > 0, total / np.maximum(count, 1) if combine == "mean" else high, np.nan)
        runs: list[list[int]] = []
        for k in range(n):
            if per[k] >= threshold:
                if runs and runs[-1][1] == k:
                    runs[-1][1] = k + 1
                else:
                    runs.append([k, k + 1])
        merged: list[list[int]] = []
        for a, b in runs:
            if merged and a - merged[-1][1] <= gap_s * ds.fs:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        out[ds.rids[r]] = [(a, b, float(np.nanmax(per[a:b]))) for a, b in merged if b - a >= min_s * ds.fs]
    return out


@pytest.mark.parametrize("window", [None, (10.0, 4.0)])
@pytest.mark.parametrize("combine", ["mean", "max"])
@pytest.mark.parametrize(("min_s", "gap_s"), [(0.0, 0.0), (20.0, 15.0)])
def test_from_windows_matches_the_per_sample_definition(
    tusz_store: Path, window: tuple[float, float] | None, combine: str, min_s: float, gap_s: float
) -> None:
    w, s = window or (None, None)
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False, window_s=w, stride_s=s)
    scores = np.random.default_rng(len(ds)).random(len(ds))
    got = events.from_windows(ds, scores, 0.6, min_duration_s=min_s, merge_gap_s=gap_s, combine=combine)  # type: ignore[arg-type]
    want = brute_force(ds, scores, 0.6, min_s, gap_s, combine)
    assert sorted(got) == sorted(want)
    assert sum(map(len, want.values())) > 5
    for rid, evs in got.items():
        assert [(round(e.start_s * ds.fs), round(e.stop_s * ds.fs)) for e in evs] == [(a, b) for a, b, _ in want[rid]]
        assert [e.score for e in evs] == pytest.approx([sc for _, _, sc in want[rid]], abs=1e-12)
        assert all(e.rid == rid and e.type == "seiz" for e in evs)


def test_from_windows_takes_tensors_and_refuses_bad_scores(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store)
    labels = ds.labels.astype(np.float64)
    from_numpy = events.from_windows(ds, labels)
    assert events.from_windows(ds, torch.from_numpy(labels).float()[:, None]) == from_numpy
    # Every seizure window's label reaches an event: the perfect window classifier finds every recording.
    seizure_rids = {ds.rids[r] for r in np.unique(ds._rec[ds.labels == 1])}
    assert {rid for rid, evs in from_numpy.items() if evs} == seizure_rids
    with pytest.raises(ValueError, match=rf"shape \(3,\).*\({len(ds)},\)"):
        events.from_windows(ds, [0.1, 0.2, 0.3])
    nan = labels.copy()
    nan[7] = np.nan
    with pytest.raises(ValueError, match="NaN at 1 windows.*window 7"):
        events.from_windows(ds, nan)
    with pytest.raises(ValueError, match="combine"):
        events.from_windows(ds, labels, combine="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="merge_gap_s"):
        events.from_windows(ds, labels, merge_gap_s=-1)


def test_from_labels_matches_the_store_statistics(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    splits = ds.meta["index"]["splits"]
    for split, st in splits.items():
        evs = [e for rid, es in ref.items() for e in es if ds.splits[ds.rids.index(rid)] == split]
        assert len(evs) == st["seizure_events"], split
        assert sum(e.duration_s for e in evs) == pytest.approx(st["seizure_seconds"], abs=1e-6)
    # Each event is typed by the type most of its samples carry (zarr-python reads the types).
    names = {int(k): v for k, v in ds.meta["type_names"].items()}
    mixed = 0
    for rid, evs in ref.items():
        types = read_array(tusz_store, f"recordings/{rid}/type")
        for e in evs:
            codes = types[round(e.start_s * ds.fs) : round(e.stop_s * ds.fs)]
            counts = {names[c]: int((codes == c).sum()) for c in np.unique(codes)}
            assert 0 not in codes and e.type == max(counts, key=lambda t: counts[t]), (rid, counts)
            mixed += len(counts) > 1
    assert mixed  # the corpus has an event of two types (overlapping fnsz and gnsz rows)
    unlabeled = [rid for r, rid in enumerate(ds.rids) if np.all(read_array(tusz_store, f"recordings/{rid}/label") == 255)]
    assert unlabeled and not set(unlabeled) & set(ref)


@pytest.mark.parametrize("fs", [250.0, 256.0, 400.0, 512.0, 1000.0])
def test_written_times_label_exactly_the_event_samples(tmp_path: Path, fs: float) -> None:
    """Every sample boundary, through the ingest's own .csv_bi reader: one-sample events at every other sample."""
    n = 4000
    for parity in (0, 1):
        path = tmp_path / f"x{parity}.csv_bi"
        rows = [f"TERM,{events._time(a / fs)},{events._time((a + 1) / fs)},seiz,1.0000" for a in range(parity, n, 2)]
        path.write_text("# version = csv_v1.0.0\n#\nchannel,start_time,stop_time,label,confidence\n" + "\n".join(rows))
        labels = _native.sample_labels(path, n, fs)
        assert np.array_equal(labels, (np.arange(n) % 2 == parity).astype(np.uint8))


def _without_annotations(corpus: TuszCorpus, dst: Path) -> Path:
    """A copy of the corpus's EDFs at ``dst``, its annotation files left out."""
    shutil.copytree(corpus.root, dst, ignore=shutil.ignore_patterns("*.csv_bi", "*.csv", "*.tse", "*.tse_bi"))
    return dst


def test_csv_bi_round_trip_through_the_ingest(tusz_store: Path, tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    """Stored labels -> events -> .csv_bi (the corpus's own annotation files removed) -> re-ingest -> same labels."""
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    corpus = _without_annotations(tusz_corpus, tmp_path / "corpus")
    written = events.write_csv_bi(ref, ds, corpus)
    assert len(written) == len(ref) and all(p.suffix == ".csv_bi" and p.is_file() for p in written)
    text = written[0].read_text().splitlines()
    assert text[0] == "# version = csv_v1.0.0" and text[5] == "channel,start_time,stop_time,label,confidence"
    store = tmp_path / "again.zarr"
    ingest(corpus, store, n_jobs=2)
    again = ZarrWindowDataset(store, drop_unlabeled=False)
    # The recording that failed on its broken .csv_bi now ingests, without annotation.
    assert sorted(set(again.rids) - set(ds.rids)) == ["edf~dev~aaaazzzz~s002_2007_10_22~01_tcp_ar~aaaazzzz_s002_t005.edf"]
    n_seizure = 0
    for rid in ds.rids:
        a, b = (read_array(s, f"recordings/{rid}/label") for s in (tusz_store, store))
        assert np.array_equal(a, b), rid
        n_seizure += int((a == 1).sum())
    assert n_seizure > 0
    assert {k: v["seizure_events"] for k, v in again.meta["index"]["splits"].items()} == {
        k: v["seizure_events"] for k, v in ds.meta["index"]["splits"].items()
    }


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_events_tsv_scored_by_timescoring(tusz_store: Path, tmp_path: Path) -> None:
    """A hypothesis missing one reference seizure and adding one false alarm, scored by SzCORE's library."""
    pytest.importorskip("timescoring", reason="timescoring (SzCORE's scorer) is not installed")
    from timescoring import scoring
    from timescoring.annotations import Annotation

    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    # timescoring merges events less than 90 s apart: miss the only seizure of a recording.
    with_seizures = [rid for rid, evs in ref.items() if len(evs) == 1]
    without = next(rid for rid, evs in ref.items() if not evs)
    hyp = {rid: list(evs) for rid, evs in ref.items()}
    missed = hyp[with_seizures[0]].pop(0)
    hyp[without] = [Event(without, 5.0, 25.0, 0.9)]
    ref_files = events.write_events_tsv(ref, ds, tmp_path / "ref")
    hyp_files = events.write_events_tsv(hyp, ds, tmp_path / "hyp")
    assert [p.relative_to(tmp_path / "ref") for p in ref_files] == [p.relative_to(tmp_path / "hyp") for p in hyp_files]

    fs = 16  # timescoring works on masks at a rate of one's choosing
    tp = fn = fp = n_ref = 0
    for rf, hf in zip(ref_files, hyp_files, strict=True):
        rows = {"ref": _read_tsv(rf), "hyp": _read_tsv(hf)}
        assert list(rows["ref"][0]) == list(events.TSV_COLUMNS)
        duration = float(rows["ref"][0]["recordingDuration"])
        ann = {
            k: Annotation(
                [(float(r["onset"]), float(r["onset"]) + float(r["duration"])) for r in v if r["eventType"] != "bckg"],
                fs,
                round(duration * fs),
            )
            for k, v in rows.items()
        }
        score = scoring.EventScoring(ann["ref"], ann["hyp"])
        tp, fn, fp, n_ref = tp + score.tp, fn + score.refTrue - score.tp, fp + score.fp, n_ref + score.refTrue
    assert n_ref >= sum(1 for evs in ref.values() if evs) > 5
    assert (tp, fn, fp) == (n_ref - 1, 1, 1), missed


def test_events_tsv_columns_and_background_rows(tusz_store: Path, tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    import pyedflib

    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    rid = ds.rids[0]
    duration = int(ds.n_samples[0]) / ds.fs
    [empty] = events.write_events_tsv({rid: []}, ds, tmp_path)
    assert empty.name.endswith("_events.tsv")
    [row] = _read_tsv(empty)
    # The recording's start, as an independent reader gives the EDF header's.
    source = tusz_corpus.root / _native.StoreReader(tusz_store).index()["recordings"]["path"][0]
    with pyedflib.EdfReader(str(source)) as edf:
        start = edf.getStartdatetime()
    assert row == {
        "onset": "0.0000",
        "duration": f"{duration:.4f}",
        "eventType": "bckg",
        "confidence": "n/a",
        "channels": "n/a",
        "dateTime": f"{start:%Y-%m-%d %H:%M:%S}",
        "recordingDuration": f"{duration:.4f}",
    }
    start = {rid: dt.datetime(2010, 1, 1, 10, 0, 5)}
    [one] = events.write_events_tsv({rid: [Event(rid, 1.5, 4.0, 0.75)]}, ds, tmp_path / "b", start_times=start)
    [row] = _read_tsv(one)
    assert (row["onset"], row["duration"], row["eventType"], row["confidence"]) == ("1.5000", "2.5000", "sz", "0.7500")
    assert row["dateTime"] == "2010-01-01 10:00:05"
    with pytest.raises(ValueError, match="not in the dataset"):
        events.write_csv_bi({"nope": []}, ds, tmp_path)


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_writers_stay_inside_their_folder(tusz_store: Path, tmp_path: Path, kind: str) -> None:
    """Regression: an index path of ``../../x.edf`` or ``/abs/y.edf`` (a crafted store) made
    the writers create folders and files outside the output folder, and verify said OK."""
    escape = {
        "parent": "../../escaped.edf",
        "absolute": str(tmp_path / "abs" / "escaped.edf"),
        "symlink": "link/escaped.edf",
    }[kind]
    store = tmp_path / "crafted" / "cache.zarr"
    shutil.copytree(tusz_store, store)
    column = zarr.open_group(store, mode="r+")["index/recordings/path"]
    paths = np.asarray(column[...])
    paths[0] = escape
    column[...] = paths
    rid = str(zarr.open_group(store, mode="r")["index/recordings/rid"][0])
    ds = ZarrWindowDataset(store, drop_unlabeled=False)
    out, outside = tmp_path / "a" / "out", tmp_path / "outside"
    out.mkdir(parents=True)
    outside.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    before = sorted(tmp_path.parent.rglob("escaped*"))
    for write in (events.write_csv_bi, functools.partial(events.write_events_tsv, layout="source")):
        with pytest.raises(ValueError, match=f"recording {re.escape(repr(rid))}: its path in the store's index, "):
            write({rid: []}, ds, out)
    assert sorted(tmp_path.parent.rglob("escaped*")) == before
    assert [p.name for p in out.iterdir()] == ["link"] and not any(outside.iterdir())
    # The other recordings are written as before.
    other = ds.rids[1] if ds.rids[0] == rid else ds.rids[0]
    [written] = events.write_csv_bi({other: []}, ds, out)
    assert written.resolve().is_relative_to(out.resolve())
    verify = run_cli("brainbrr", "verify", store)
    if kind == "symlink":
        assert verify.returncode == 0, verify.stdout + verify.stderr
    else:
        assert verify.returncode != 0
        assert f"index/recordings row 0: path {json.dumps(escape)}" in verify.stdout + verify.stderr


def test_typed_csv_round_trip_through_the_ingest(tusz_store: Path, tusz_corpus: TuszCorpus, tmp_path: Path) -> None:
    """Stored types -> events -> typed .csv (NEDC's format; the corpus's own files removed) ->
    re-ingest -> the same per-sample types (issue 23: types could not be written)."""
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    ref = events.from_labels(ds)
    assert {e.type for evs in ref.values() for e in evs} - {"seiz"}, "the corpus has typed seizures"
    corpus = _without_annotations(tusz_corpus, tmp_path / "corpus")
    written = events.write_csv(ref, ds, corpus)
    assert all(p.suffix == ".csv" and p.is_file() for p in written)
    store = tmp_path / "again.zarr"
    ingest(corpus, store, n_jobs=2)
    code = {name: c for c, name in ds.type_names.items()}
    mixed = 0
    for rid in ds.rids:
        a, b = (read_array(s, f"recordings/{rid}/label") for s in (tusz_store, store))
        assert np.array_equal(a, b), rid
        a, b = (read_array(s, f"recordings/{rid}/type") for s in (tusz_store, store))
        # An event has one type: where the stored types change inside a seizure, the
        # re-read event carries its majority type; elsewhere the types come back as stored.
        for e in ref.get(rid, []):
            lo, hi = round(e.start_s * ds.fs), round(e.stop_s * ds.fs)
            if len(set(a[lo:hi].tolist())) == 1:
                assert np.array_equal(a[lo:hi], b[lo:hi]), (rid, e)
            else:
                mixed += 1
                assert set(b[lo:hi].tolist()) == {code[e.type]}, (rid, e)
        assert np.array_equal(a == 0, b == 0), rid
    assert mixed < sum(len(evs) for evs in ref.values())


@pytest.mark.parametrize("types", ["tusz", "szcore"])
def test_class_probabilities_give_typed_events_the_writers_translate(
    tusz_store: Path, tmp_path: Path, types: str
) -> None:
    """A type classifier's softmax outputs (``label="type"``'s class ids) become events with
    its class names, which write_csv writes as TUSZ labels and write_events_tsv as SzCORE
    types (issue 23: events spoke only binary)."""
    ds = ZarrWindowDataset(tusz_store, label="type", types=types)
    y = np.array([int(ds[i][1]) for i in range(len(ds))])
    assert len(set(y.tolist()) - {0}) >= 2, "the store has several seizure classes"
    # A perfect classifier, unsure between the true class and background on a seizure window.
    p = np.zeros((len(ds), ds.num_classes))
    p[np.arange(len(ds)), y] = 0.8
    p[:, 0] += 0.2
    found = events.from_windows(ds, p, threshold=0.5)
    binary = events.from_windows(ds, 0.8 * (y > 0), threshold=0.5)
    assert {r: [(e.start_s, e.stop_s) for e in v] for r, v in found.items()} == {
        r: [(e.start_s, e.stop_s) for e in v] for r, v in binary.items()
    }, "the seizure score is 1 - p[bckg]"
    for rid, evs in found.items():
        r = ds.rids.index(rid)
        for e in evs:
            inside = (ds._rec == r) & (ds._start < e.stop_s * ds.fs) & (ds._start + ds.window_samples > e.start_s * ds.fs)
            assert e.type in {ds.classes[c] for c in y[inside] if c}, (rid, e)
    typed = [e for evs in found.values() for e in evs]
    assert {e.type for e in typed} <= set(ds.classes[1:]) and len({e.type for e in typed}) >= 2
    tusz_of = dict(zip(*(_native.type_classes(v)[1] for v in (types, "tusz")), strict=True))
    szcore_of = dict(zip(*(_native.type_classes(v)[1] for v in (types, "szcore")), strict=True))
    by_rid = {rid: sorted(evs, key=lambda e: e.start_s) for rid, evs in found.items() if evs}
    for path in events.write_csv(by_rid, ds, tmp_path / "csv"):
        rows = [r for r in path.read_text().splitlines() if r.startswith("TERM")]
        labels = [r.split(",")[3] for r in rows if r.split(",")[3] != "bckg"]
        rid = next(rid for rid in by_rid if Path(ds.paths[ds.rids.index(rid)]).stem == path.stem)
        assert labels == [tusz_of[e.type] for e in by_rid[rid]]
    for path in events.write_events_tsv(by_rid, ds, tmp_path / "tsv"):
        kinds = [row["eventType"] for row in csv.DictReader(path.read_text().splitlines(), delimiter="\t")]
        assert set(kinds) <= {szcore_of[e.type] for evs in by_rid.values() for e in evs}
    with pytest.raises(ValueError, match="rows summing to 1"):
        events.from_windows(ds, p * 3)
