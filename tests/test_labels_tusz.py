"""Labels you can trust: every TUSZ seizure type, both TUSZ layouts, types kept, per-split
statistics checked against the generator's own intervals, nothing dropped without a word."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from brainbrr.synthetic import write_recording
from tests.conftest import read_array, read_attrs, run_cli, run_ingest
from tests.test_ingest import rid_of

TYPES = ["fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz"]
FS = 256  # written at the store's rate: sample k is at k / 256 s, no resampling in the counts
DURATION = 90
HEAD = "# version = csv_v1.0.0\n# duration = {d:.4f} secs\n#\nchannel,start_time,stop_time,label,confidence\n"


@dataclass
class Truth:
    """What the generator wrote for one recording: seizures as (start, stop, type) in whole seconds."""

    split: str
    patient: str
    session: str
    seizures: list[tuple[int, int, str]]
    labeled: bool = True


def _csv(path: Path, rows: list[tuple[str, float, float, str]]) -> None:
    body = "".join(f"{ch},{a:.4f},{b:.4f},{label},1.0000\n" for ch, a, b, label in rows)
    path.write_text(HEAD.format(d=DURATION) + body)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Truth]]:
    root = tmp_path_factory.mktemp("tusz-labels")
    truth: dict[str, Truth] = {}

    def edf(rel: str, seed: int) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_recording(path, fs=FS, duration_s=DURATION, seed=seed, annotations=False)
        return path

    # TUSZ v2, a `.csv` only (no `.csv_bi`): every type, in lower and upper case, on two channels.
    for i, t in enumerate(TYPES):
        split = ("train", "dev", "eval")[i % 3]
        patient = f"aaaaaa{chr(97 + i)}{chr(97 + i)}"
        rel = f"edf/{split}/{patient}/s00{i % 3 + 1}_2015/01_tcp_ar/{patient}_s00{i % 3 + 1}_t000.edf"
        label = t.upper() if i % 2 else t
        rows = [(ch, 20.0, 40.0, label) for ch in ("FP1-F7", "F7-T3")] + [("T3-T5", 0.0, 90.0, "bckg")]
        _csv(edf(rel, i).with_suffix(".csv"), rows)
        truth[rel] = Truth(split, patient, f"s00{i % 3 + 1}", [(20, 40, t)])

    # Two types in one recording, and channels that disagree: fnsz on 3 channels beats cnsz on 1.
    rel = "edf/train/aaaabbbb/s001_2016/02_tcp_le/aaaabbbb_s001_t000.edf"
    rows = [(ch, 10.0, 20.0, "fnsz") for ch in ("FP1-F7", "F7-T3", "T3-T5")] + [("C3-CZ", 10.0, 20.0, "cnsz")]
    rows += [(ch, 50.0, 70.0, "cnsz") for ch in ("FP1-F7", "F7-T3")] + [("P3-O1", 0.0, 90.0, "musc")]
    _csv(edf(rel, 20).with_suffix(".csv"), rows)
    truth[rel] = Truth("train", "aaaabbbb", "s001", [(10, 20, "fnsz"), (50, 70, "cnsz")])

    # TUSZ v1: edf/<split>/<montage>/<group>/<patient>/<session>/..., term files .tse_bi (labels) and .tse (types).
    rel = "edf/dev/01_tcp_ar/081/00008174/s002_2012_03_24/00008174_s002_t001.edf"
    path = edf(rel, 21)
    term = "version = tse_v1.0.0\n\n0.0000 30.0000 bckg 1.0000\n30.0000 45.0000 {}\n45.0000 90.0000 bckg 1.0000\n"
    path.with_suffix(".tse_bi").write_text(term.format("seiz 1.0000"))
    path.with_suffix(".tse").write_text(term.format("tcsz 1.0000"))
    truth[rel] = Truth("dev", "00008174", "s002", [(30, 45, "tcsz")])

    # No annotation at all: unlabeled, never background.
    rel = "edf/train/aaaacccc/s001_2016/01_tcp_ar/aaaacccc_s001_t000.edf"
    edf(rel, 22)
    truth[rel] = Truth("train", "aaaacccc", "s001", [], labeled=False)

    # Events entirely past the end of the recording: labeled, no seizure, and said so.
    rel = "edf/eval/aaaadddd/s001_2016/01_tcp_ar/aaaadddd_s001_t000.edf"
    _csv(edf(rel, 23).with_suffix(".csv_bi"), [("TERM", 0.0, 90.0, "bckg"), ("TERM", 120.0, 150.0, "seiz")])
    truth[rel] = Truth("eval", "aaaadddd", "s001", [])

    # A flat folder: no split, no patient; the summary names the path.
    rel = "flat/recording.edf"
    _csv(edf(rel, 24).with_suffix(".csv_bi"), [("TERM", 0.0, 5.0, "bckg"), ("TERM", 5.0, 15.0, "seiz"), ("TERM", 15.0, 90.0, "bckg")])
    truth[rel] = Truth("", "", "", [(5, 15, "seiz")])

    # An unknown label (a typo): the recording fails, naming the file, the line and the label.
    rel = "edf/train/aaaaeeee/s001_2016/01_tcp_ar/aaaaeeee_s001_t000.edf"
    _csv(edf(rel, 25).with_suffix(".csv_bi"), [("TERM", 0.0, 10.0, "bckg"), ("TERM", 10.0, 30.0, "sezi")])
    return root, truth


@pytest.fixture(scope="module")
def ingested(corpus: tuple[Path, dict[str, Truth]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root, _ = corpus
    store = tmp_path_factory.mktemp("tusz-labels-store") / "s.zarr"
    proc, summary = run_ingest(root, store)
    assert proc.returncode == 1 and summary is not None, proc.stderr  # one recording failed: the typo
    return store, summary


def _expected_samples(seizures: list[tuple[int, int, str]], codes: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample labels and types straight from the generator's intervals (whole seconds at 256 Hz)."""
    labels, types = np.zeros(DURATION * FS, np.uint8), np.zeros(DURATION * FS, np.uint8)
    for a, b, t in seizures:
        labels[a * FS : b * FS] = 1
        types[a * FS : b * FS] = codes[t]
    return labels, types


def test_no_seizure_type_becomes_background(corpus, ingested) -> None:
    root, truth = corpus
    store, summary = ingested
    names = read_attrs(store)["brainbrr"]["type_names"]
    codes = {name: int(code) for code, name in names.items()}
    assert set(TYPES) | {"seiz", "bckg"} <= set(codes), names
    for rel, t in truth.items():
        rid = f"recordings/{rid_of(rel)}"
        labels, types = read_array(store, f"{rid}/label"), read_array(store, f"{rid}/type")
        if not t.labeled:
            assert (labels == 255).all() and (types == 255).all(), rel
            continue
        want_labels, want_types = _expected_samples(t.seizures, codes)
        np.testing.assert_array_equal(labels, want_labels, err_msg=rel)
        np.testing.assert_array_equal(types, want_types, err_msg=rel)


def test_paths_give_split_patient_and_session_in_both_layouts(corpus, ingested) -> None:
    _, truth = corpus
    store, summary = ingested
    for rel, t in truth.items():
        meta = read_attrs(store, f"recordings/{rid_of(rel)}")["brainbrr_recording"]
        got = (meta["split"] or "", meta["patient"] or "", meta["session"] or "")
        assert got == (t.split, t.patient, t.session), rel
    v1 = read_attrs(store, f"recordings/{rid_of(next(r for r in truth if '00008174' in r))}")["brainbrr_recording"]
    assert v1["annotation"].endswith(".tse_bi") and v1["type_annotation"].endswith(".tse")


def test_what_cannot_be_classified_or_read_is_named(ingested) -> None:
    _, summary = ingested
    [(path, reason)] = summary["failed"]
    assert path.endswith("aaaaeeee_s001_t000.edf")
    assert "aaaaeeee_s001_t000.csv_bi" in reason and ":6" in reason and "sezi" in reason, reason
    warnings = {(p, w) for p, w in summary["warnings"]}
    assert any(p.endswith("aaaadddd_s001_t000.edf") and "outside the recording" in w for p, w in warnings), warnings
    assert any(p == "flat/recording.edf" and "train/dev/eval" in w for p, w in warnings), warnings
    # A clean TUSZ path draws no path warning.
    assert not any("aaaaaaaa" in p for p, _ in warnings), warnings


def test_per_split_statistics_equal_the_generators_counts(corpus, ingested) -> None:
    _, truth = corpus
    store, _ = ingested
    info = json.loads(run_cli("brainbrr", "info", "--json", store).stdout)
    got = info["splits"]
    for split in {t.split for t in truth.values()}:
        mine = [t for t in truth.values() if t.split == split]
        n_windows = len(mine) * ((DURATION - 60) // 10 + 1)
        seizure_windows = sum(
            sum(any(a < s + 60 and b > s for a, b, _ in t.seizures) for s in range(0, DURATION - 59, 10)) for t in mine
        )
        by_type: dict[str, float] = {}
        for t in mine:
            for a, b, name in t.seizures:
                by_type[name] = by_type.get(name, 0.0) + (b - a)
        want = {
            "recordings": len(mine),
            "patients": len({t.patient for t in mine if t.patient}),
            "windows": n_windows,
            "seizure_windows": seizure_windows,
            "seizure_events": sum(len(t.seizures) for t in mine),
            "seizure_seconds": sum(b - a for t in mine for a, b, _ in t.seizures),
            "unlabeled_recordings": sum(not t.labeled for t in mine),
        }
        st = got[split]
        assert st["hours"] == pytest.approx(len(mine) * DURATION / 3600), split
        assert {k: st[k] for k in want} == pytest.approx(want), split
        assert st["seizure_seconds_by_type"] == pytest.approx(by_type), split
    human = run_cli("brainbrr", "info", store, "--compare", "tusz-2.0.3").stdout
    assert "seizure seconds by type" in human and "2421" in human and "175125" in human
    # --json keeps the comparison (issue 23: it was dropped).
    as_json = json.loads(run_cli("brainbrr", "info", store, "--json", "--compare", "tusz-2.0.3").stdout)
    train = as_json["compare"]["tusz-2.0.3"]["train"]
    assert train["published"] == {
        "recordings": 4664, "patients": 579, "events": 2421, "seizure_s": 175125.0, "recording_s": 3277229.0
    }
    assert train["store"]["events"] == got["train"]["seizure_events"]
    # With recording and patient counts (issue 23: the comparison had none).
    assert (train["store"]["recordings"], train["store"]["patients"]) == (got["train"]["recordings"], got["train"]["patients"])
    assert "4664" in human and "579" in human


def test_the_dataset_refuses_what_the_store_does_not_hold(ingested) -> None:
    from brainbrr import ZarrWindowDataset

    store, _ = ingested
    for kwargs, words in (
        ({"split": "val"}, "no split 'val'"),
        ({"split": "Train"}, "it holds: '', 'dev', 'eval', 'train'"),
        ({"patients": ["nope"]}, "no patient 'nope'"),
        ({"window_s": 1000.0}, "longer than every recording"),
    ):
        with pytest.raises(ValueError, match=words):
            ZarrWindowDataset(store, **kwargs)


def test_types_windows_table_and_patient_split(corpus, ingested) -> None:
    from brainbrr import ZarrWindowDataset

    _, truth = corpus
    store, _ = ingested
    ds = ZarrWindowDataset(store, label="type")
    assert 255 not in ds.labels, "unlabeled windows are left out by default"
    everything = ZarrWindowDataset(store, drop_unlabeled=False)
    assert (everything.labels == 255).sum() == (DURATION - 60) // 10 + 1
    table = ds.windows
    assert {len(v) for v in table.values()} == {len(ds)}
    codes = {v: int(k) for k, v in ds.type_names.items()}
    for i in range(len(ds)):
        rel = next(r for r in truth if rid_of(r) == table["recording"][i])
        t, s = truth[rel], int(table["start"][i]) // FS
        inside = [(a, b, name) for a, b, name in t.seizures if a < s + 60 and b > s]
        # Majority type over the window's seizure samples: the longest overlap (fnsz wins ties by code).
        overlap = {name: min(b, s + 60) - max(a, s) for a, b, name in inside}
        want = codes[max(overlap, key=lambda n: (overlap[n], -codes[n]))] if overlap else 0
        assert int(table["type"][i]) == want and int(ds[i][1]) == want, (rel, s)
        assert table["start_s"][i] == s and table["patient"][i] == t.patient
    train, val = ZarrWindowDataset(store, split="train").split(val_fraction=0.3, seed=1)
    assert train.patients and val.patients and set(train.patients).isdisjoint(val.patients)
    assert set(train.windows["patient"]) == set(train.patients) - {"aaaacccc"}  # unlabeled: no window
    assert set(val.windows["patient"]) <= set(val.patients)
    assert (train.labels == 1).any() and (val.labels == 1).any()
    assert len(train) + len(val) == len(ZarrWindowDataset(store, split="train"))
    x, y = ds[0]
    assert x.dtype == torch.float32 and y.dtype == torch.int64
