"""``label="channel"``: the seizures a TUSZ ``.csv`` places per channel, kept by the
ingest and read back as a ``[C]`` target per window, checked against the ``.csv``
read here with numpy (samples ``k`` with ``start <= k / fs < stop``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainbrr import ZarrWindowDataset
from brainbrr.ingest import ingest
from brainbrr.synthetic import write_recording

FS = 256
DURATION = 120
WINDOW_S, STRIDE_S = 10.0, 5.0
#: One seizure seen first on the left temporal chain, then spreading, and a
#: second on one channel only; background rows for the rest.
ROWS = [
    ("FP1-F7", 30.0, 50.5, "fnsz"),
    ("F7-T3", 32.25, 55.0, "fnsz"),
    ("F7-T3", 54.0, 61.0, "fnsz"),  # overlaps the row before: one seizure on F7-T3
    ("T3-T5", 40.0, 45.0, "cpsz"),
    ("FP2-F8", 90.0, 97.125, "gnsz"),
]
TCP_NAMES = ("FP1-F7", "F7-T3", "T3-T5", "FP2-F8", "F8-T4")


def _csv(rows: list[tuple[str, float, float, str]]) -> str:
    head = f"# version = csv_v1.0.0\n# duration = {DURATION:.4f} secs\n#\nchannel,start_time,stop_time,label,confidence\n"
    lines = [f"{c},{a:.4f},{b:.4f},{label},1.0000\n" for c, a, b, label in rows]
    # Each named channel tiles the recording with background where it has no seizure.
    for c in TCP_NAMES:
        edges = sorted({0.0, float(DURATION), *(x for ch, a, b, _ in rows if ch == c for x in (a, b))})
        lines += [f"{c},{a:.4f},{b:.4f},bckg,1.0000\n" for a, b in zip(edges, edges[1:], strict=False)
                  if not any(ch == c and a0 <= a and b <= b0 for ch, a0, b0, _ in rows)]
    return head + "".join(lines)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("channels")
    folder = root / "edf" / "train" / "aaaaaaaa" / "s001_2010" / "01_tcp_ar"
    folder.mkdir(parents=True)
    annotated = folder / "aaaaaaaa_s001_t000.edf"
    write_recording(annotated, fs=FS, duration_s=DURATION, seizures=((30.0, 61.0), (90.0, 97.125)))
    annotated.with_suffix(".csv").write_text(_csv(ROWS))
    # A recording whose typed file names no channel: it has no per-channel rows.
    other = folder / "aaaaaaaa_s001_t001.edf"
    write_recording(other, fs=FS, duration_s=DURATION, seizures=((10.0, 20.0),))
    other.with_suffix(".csv").write_text(other.with_suffix(".csv_bi").read_text())
    return root


def _expected(channels: list[str], starts: np.ndarray, window: int, referential: bool) -> np.ndarray:
    """The oracle: per store channel, the union of the samples of its rows' seizures."""
    t = np.arange(DURATION * FS) / FS
    inside = np.zeros((len(channels), t.size), bool)
    for name, a, b, _ in ROWS:
        for target in name.split("-") if referential else [name]:
            inside[channels.index(target)] |= (t >= a) & (t < b)
    return np.stack([inside[:, s : s + window].mean(axis=1) for s in starts]).astype(np.float32)


@pytest.mark.parametrize("montage", ["tcp", "referential"])
def test_channel_targets_match_the_csv(corpus: Path, tmp_path: Path, montage: str) -> None:
    config = {"window_s": WINDOW_S, "stride_s": STRIDE_S} | ({"montage": {"kind": "tcp"}} if montage == "tcp" else {})
    ingest(corpus / "edf", tmp_path / "s.zarr", config=config)
    ds = ZarrWindowDataset(tmp_path / "s.zarr", label="channel")
    assert [Path(p).name for p in ds.paths] == ["aaaaaaaa_s001_t000.edf"], "only the recording annotated per channel"
    assert ds.fs == FS
    window = ds.window_samples
    expected = _expected(ds.channels, ds.windows["start"], window, montage == "referential")
    got = np.stack([ds[i][1].numpy() for i in range(len(ds))])
    assert got.shape == (len(ds), len(ds.channels)) and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert expected.max() == 1.0 and (expected.sum(axis=1) > 0).sum() > 3, "the test sees seizures"
    # Batches carry the same targets.
    xs = [(y.numpy(), idx.numpy()) for _, y, idx in ds.batches(4, shuffle=True, device="cpu", with_index=True)]
    for y, idx in xs:
        np.testing.assert_array_equal(y, expected[idx])


def test_channel_targets_refused_with_a_reason(corpus: Path, tmp_path: Path) -> None:
    # The annotated pairs are not among a custom bipolar montage's channels.
    config = {"montage": {"kind": "bipolar", "pairs": ["C3-P3", "C4-P4"]}}
    ingest(corpus / "edf", tmp_path / "s.zarr", config=config)
    with pytest.raises(ValueError, match=r"channel 'F7-T3'.*none of the store's channels \(C3-P3, C4-P4\)"):
        ZarrWindowDataset(tmp_path / "s.zarr", label="channel")
    # Recordings annotated without channels only (.csv_bi alone).
    only_term = tmp_path / "term"
    edf = only_term / "edf" / "train" / "aaaaaaab" / "s001_2010" / "01_tcp_ar" / "aaaaaaab_s001_t000.edf"
    edf.parent.mkdir(parents=True)
    write_recording(edf, fs=FS, duration_s=DURATION, seizures=((10.0, 20.0),))
    edf.with_suffix(".csv").unlink()
    ingest(only_term / "edf", tmp_path / "t.zarr")
    with pytest.raises(ValueError, match="none of the 1 recordings has annotations per channel"):
        ZarrWindowDataset(tmp_path / "t.zarr", label="channel")
