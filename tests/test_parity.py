"""End to end: brainbrr's ingest against the pipeline it replaces.

TUSZ-like recordings at 250, 256, 400 and 512 Hz, with REF and LE labels and
FZ, PZ or both missing, are ingested with the default config; each stored
signal must equal ``old_pipeline.preprocess_file`` (MNE + scipy) within 1e-4
absolute on the z-scored output, so models trained on the old caches stay
valid, and each stored label array must equal the old ``.csv_bi`` labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import zarr

from brainbrr.ingest import Summary, ingest
from brainbrr.synthetic import write_recording
from tests.old_pipeline import labels_from_csv_bi, preprocess_file

TOLERANCE = 1e-4


class Case(NamedTuple):
    fs: int
    montage: str
    missing: tuple[str, ...]
    duration_s: int
    seizures: tuple[tuple[float, float], ...]

    @property
    def id(self) -> str:
        labels = "LE" if self.montage == "02_tcp_le" else "REF"
        return "-".join([f"{self.fs}Hz", labels, *(f"no{c}" for c in self.missing)])


# Odd durations give FFT lengths with large prime factors; seizure edges fall
# between samples at every rate.
CASES = [
    Case(250, "01_tcp_ar", (), 150, ((40.5004, 71.2513),)),
    Case(250, "02_tcp_le", ("FZ",), 131, ()),
    Case(256, "02_tcp_le", (), 140, ((12.3456, 30.0001),)),
    Case(256, "03_tcp_ar_a", ("FZ", "PZ"), 125, ()),
    Case(400, "03_tcp_ar_a", ("FZ",), 173, ((100.0037, 139.9981),)),
    Case(400, "02_tcp_le", ("PZ",), 120, ()),
    Case(512, "03_tcp_ar_a", ("PZ",), 137, ((0.0, 21.7779),)),
    Case(512, "02_tcp_le", ("FZ", "PZ"), 161, ((60.1234, 95.4321),)),
]


def _name(i: int) -> str:
    return f"aaaaaaaa_s001_t{i:03d}.edf"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, zarr.Group, dict[str, str], Summary]:
    """The corpus (one folder), its store, the rid of each file and the summary."""
    tmp = tmp_path_factory.mktemp("parity")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for i, c in enumerate(CASES):
        write_recording(
            corpus / _name(i), fs=c.fs, duration_s=c.duration_s, seizures=c.seizures, montage=c.montage, missing=c.missing, seed=i
        )
    summary = ingest(corpus, tmp / "cache.zarr")
    group = zarr.open_group(tmp / "cache.zarr", mode="r")
    paths = group["index/recordings/path"][:]
    rids = group["index/recordings/rid"][:]
    return corpus, group, {str(p): str(r) for p, r in zip(paths, rids, strict=True)}, summary


def test_every_recording_ingested(store: tuple[Path, zarr.Group, dict[str, str], Summary]) -> None:
    _, _, rids, summary = store
    assert summary.failed == () and summary.skipped == ()
    assert summary.ingested == len(CASES)
    assert sorted(rids) == [_name(i) for i in range(len(CASES))]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.id for c in CASES])
def test_signal_and_labels_match_old_pipeline(i: int, store: tuple[Path, zarr.Group, dict[str, str], Summary]) -> None:
    corpus, group, rids, _ = store
    case = CASES[i]
    rec = group[f"recordings/{rids[_name(i)]}"]

    want, fs = preprocess_file(corpus / _name(i))
    got = rec["signal"][:]

    assert rec.attrs["brainbrr_recording"]["fs"] == fs
    assert got.dtype == np.float32
    assert got.shape == want.shape == (19, case.duration_s * fs)
    diff = np.abs(got.astype(np.float64) - want)
    assert diff.max() <= TOLERANCE, f"max abs diff {diff.max():.3g} on channel {np.unravel_index(diff.argmax(), diff.shape)[0]}"

    labels = labels_from_csv_bi((corpus / _name(i)).with_suffix(".csv_bi"), want.shape[1], fs)
    assert labels.any() == bool(case.seizures)  # the reference itself finds the seizures
    np.testing.assert_array_equal(rec["label"][:], labels)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.id for c in CASES])
def test_interpolated_channels_listed(i: int, store: tuple[Path, zarr.Group, dict[str, str], Summary]) -> None:
    _, group, rids, _ = store
    meta = group[f"recordings/{rids[_name(i)]}"].attrs["brainbrr_recording"]
    assert meta["interpolated"] == list(CASES[i].missing)
