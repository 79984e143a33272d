"""The TCP bipolar montage end to end: ingest against the old pipeline's
preprocessing applied to the referential differences, the per-recording
channel mask of recordings without A1/A2, and the store read by xarray."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import zarr

from brainbrr import ZarrWindowDataset
from brainbrr.ingest import Summary, ingest
from brainbrr.synthetic import write_recording
from tests.old_pipeline import preprocess_bipolar_file

TOLERANCE = 1e-4  # measured: 2.4e-7 (float32 rounding)

# Written out here, not imported: the test's own copy of the montage.
TCP = (
    "FP1-F7 F7-T3 T3-T5 T5-O1 FP2-F8 F8-T4 T4-T6 T6-O2 A1-T3 T3-C3 C3-CZ "
    "CZ-C4 C4-T4 T4-A2 FP1-F3 F3-C3 C3-P3 P3-O1 FP2-F4 F4-C4 C4-P4 P4-O2"
).split()


class Case(NamedTuple):
    fs: int
    montage: str
    missing: tuple[str, ...]
    duration_s: int


# 03_tcp_ar_a files have no A1/A2; FZ/PZ are not in the TCP montage, so a file
# without them is not interpolated, and not skipped.
CASES = [
    Case(250, "01_tcp_ar", (), 131),
    Case(256, "02_tcp_le", ("PZ",), 120),
    Case(400, "03_tcp_ar_a", ("FZ",), 97),
    Case(512, "01_tcp_ar", (), 73),
]


def _name(i: int) -> str:
    return f"aaaaaaa{i}_s001_t000.edf"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Summary]:
    tmp = tmp_path_factory.mktemp("tcp")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for i, c in enumerate(CASES):
        write_recording(
            corpus / _name(i),
            fs=c.fs,
            duration_s=c.duration_s,
            seizures=((10.0, 30.0),),
            montage=c.montage,
            missing=c.missing,
            seed=i,
        )
    summary = ingest(corpus, tmp / "tcp.zarr", {"montage": {"kind": "tcp"}, "window_s": 10, "stride_s": 5})
    return corpus, tmp / "tcp.zarr", summary


def test_tcp_matches_old_preprocessing_of_referential_differences(store: tuple[Path, Path, Summary]) -> None:
    corpus, path, summary = store
    assert summary.failed == () and summary.skipped == ()
    group = zarr.open_group(path, mode="r")
    assert group.attrs["brainbrr"]["channels"] == TCP
    for i, case in enumerate(CASES):
        rec = group[f"recordings/{_name(i)}"]
        got = rec["signal"][:]
        optional = ("A1", "A2")
        want, fs = preprocess_bipolar_file(corpus / _name(i), TCP, optional)
        assert got.shape == want.shape == (22, case.duration_s * fs)
        diff = np.abs(got.astype(np.float64) - want)
        assert diff.max() <= TOLERANCE, f"{case}: max abs diff {diff.max():.3g}"
        meta = rec.attrs["brainbrr_recording"]
        assert meta["interpolated"] == []
        absent = ["A1-T3", "T4-A2"] if case.montage == "03_tcp_ar_a" else []
        assert meta.get("absent", []) == absent
        for ch in absent:
            assert not got[TCP.index(ch)].any()
        assert list(rec["channel"][:]) == TCP


def test_channel_mask_and_dataset_option(store: tuple[Path, Path, Summary]) -> None:
    _, path, _ = store
    group = zarr.open_group(path, mode="r")
    rids = list(group["index/recordings/rid"][:])
    present = group["index/recordings/channel_present"][:]
    assert present.shape == (len(CASES), 22) and present.dtype == bool
    no_a = rids.index(_name(2))
    assert [TCP[c] for c in np.flatnonzero(~present[no_a])] == ["A1-T3", "T4-A2"]
    assert present[[r for r in range(len(rids)) if r != no_a]].all()

    every = ZarrWindowDataset(path)
    assert every.rids == rids and every.channels == TCP
    np.testing.assert_array_equal(every.channel_present, present)
    x, _ = every[0]
    assert tuple(x.shape) == (22, 10 * 256)
    complete = ZarrWindowDataset(path, require_channels=True)
    assert complete.rids == [r for r in rids if r != _name(2)]
    assert complete.channel_present.all()
    assert len(complete) < len(every)


def test_xarray_opens_the_index_and_a_recording(store: tuple[Path, Path, Summary]) -> None:
    xr = pytest.importorskip("xarray")
    _, path, _ = store
    windows = xr.open_zarr(path, group="index/windows", consolidated=False)
    assert set(windows.data_vars) == {"recording", "start", "label", "type", "seizure_fraction"}
    assert windows.sizes["window"] == zarr.open_group(path, mode="r")["index/windows/start"].shape[0]
    recordings = xr.open_zarr(path, group="index/recordings", consolidated=False)
    assert recordings["channel_present"].dims == ("recording", "channel")
    assert list(recordings["rid"].values) == [_name(i) for i in range(len(CASES))]
    rec = xr.open_zarr(path, group=f"recordings/{_name(2)}", consolidated=False)
    assert rec["signal"].dims == ("channel", "time") and rec["label"].dims == ("time",)
    assert list(rec["channel"].values) == TCP
    assert not rec["signal"].sel(channel="A1-T3").any()
    assert rec["signal"].sel(channel="FP1-F7").std() > 0.5


def test_referential_stores_mark_every_channel_present(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    write_recording(tmp_path / "c" / _name(0), fs=256, duration_s=30, montage="03_tcp_ar_a")
    ingest(tmp_path / "c", tmp_path / "ref.zarr", {"window_s": 10})
    group = zarr.open_group(tmp_path / "ref.zarr", mode="r")
    assert group["index/recordings/channel_present"].shape == (1, 19)
    assert group["index/recordings/channel_present"][:].all()
    assert len(group.attrs["brainbrr"]["channels"]) == 19


def test_bipolar_pairs_with_an_interpolated_electrode_match_mne(tmp_path: Path) -> None:
    """FZ missing: interpolated (as MNE's ``interpolate_bads`` does, from the
    montage's other electrodes) before the differences are taken."""
    import mne

    from tests.old_pipeline import MNE_NAME, MONTAGE, _filter_and_normalize, clean_name

    pairs = ["FZ-CZ", "CZ-PZ", "F3-C3", "C4-F4", "P3-P4"]
    (tmp_path / "c").mkdir()
    edf = tmp_path / "c" / _name(0)
    write_recording(edf, fs=250, duration_s=61, montage="01_tcp_ar", missing=("FZ",), seed=7)
    summary = ingest(tmp_path / "c", tmp_path / "b.zarr", {"montage": {"kind": "bipolar", "pairs": pairs}, "window_s": 10})
    assert summary.failed == () and summary.skipped == ()
    rec = zarr.open_group(tmp_path / "b.zarr", mode="r")[f"recordings/{_name(0)}"]
    assert rec.attrs["brainbrr_recording"]["interpolated"] == ["FZ"]

    electrodes = ["FZ", "CZ", "PZ", "F3", "C3", "C4", "F4", "P3", "P4"]
    raw = mne.io.read_raw_edf(edf, preload=True, verbose=False)
    by_name = {clean_name(label): label for label in raw.ch_names}
    present = [e for e in electrodes if e in by_name]
    raw.pick([by_name[e] for e in present]).rename_channels({by_name[e]: MNE_NAME[e] for e in present})
    zeros = mne.io.RawArray(np.zeros((1, raw.n_times)), mne.create_info(["Fz"], raw.info["sfreq"], "eeg"), verbose=False)
    raw.add_channels([zeros], force_update_info=True)
    raw.info["bads"] = ["Fz"]
    raw.set_montage(MONTAGE, verbose=False)
    with warnings.catch_warnings():  # MNE warns that 9 points fit the head sphere loosely; brainbrr fits the same
        warnings.filterwarnings("ignore", "Only 9 head digitization points", RuntimeWarning)
        raw.interpolate_bads(verbose=False)
    data = {e: raw.get_data(picks=[MNE_NAME[e]])[0] * 1e6 for e in electrodes}
    diffs = np.array([data[a] - data[b] for a, b in (p.split("-") for p in pairs)])
    want = _filter_and_normalize(diffs, raw.info["sfreq"])
    got = rec["signal"][:]
    assert got.shape == want.shape
    assert np.abs(got.astype(np.float64) - want).max() <= TOLERANCE
