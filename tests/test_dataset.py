"""ZarrWindowDataset and the Rust batch gather, against zarr-python and the index."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from brainbrr import _native
from brainbrr.dataset import ZarrWindowDataset, balanced_sampler
from brainbrr.errors import StoreError
from brainbrr.ingest import ingest
from brainbrr.synthetic import make_corpus
from tests.conftest import run_cli
from torch.utils.data import DataLoader


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    make_corpus(root, n_patients=3, duration_s=(100, 190))
    return root / "edf"


@pytest.fixture(scope="session")
def store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stores") / "f32.zarr"
    ingest(corpus, out)
    return out


@pytest.fixture(scope="session")
def store_f16(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stores") / "f16.zarr"
    ingest(corpus, out, {"dtype": "float16"})
    return out


@pytest.fixture(scope="session")
def ds(store: Path) -> ZarrWindowDataset:
    return ZarrWindowDataset(store)


def _zarr_window(
    store: Path, rid: str, a: int, t: int, array: str = "signal"
) -> np.ndarray:
    arr = zarr.open_group(store, mode="r")[f"recordings/{rid}/{array}"]
    return np.asarray(arr[..., a : a + t])


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges at which this process maps ``path`` (from /proc/self/maps)."""
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(" " + str(path)):
            lo, hi = line.split()[0].split("-")
            ranges.append((int(lo, 16), int(hi, 16)))
    return ranges


def test_opens_the_whole_index(ds: ZarrWindowDataset, store: Path) -> None:
    index = _native.read_index(store)
    assert len(ds) == index["windows"]["start"].size > 0
    assert len(ds.channels) == 19
    assert ds.window_samples == round(60 * ds.fs)
    assert ds.labels.tolist() == index["windows"]["label"].tolist()
    assert {1, 0} <= set(ds.labels.tolist())


@pytest.mark.skipif(
    not Path("/proc/self/maps").exists(), reason="needs /proc/self/maps"
)
def test_items_are_views_of_the_memory_mapped_chunk(ds: ZarrWindowDataset) -> None:
    for i in (0, len(ds) // 2, len(ds) - 1):
        x, _ = ds[i]
        info = ds.info(i)
        chunk = ds.chunk_file(info["recording_index"]).resolve()
        mm = ds._read("signal", info["recording_index"])
        assert isinstance(mm, np.memmap)
        lo = mm.ctypes.data
        assert (
            lo <= x.data_ptr()
            and x.data_ptr() + x.numel() * x.element_size() <= lo + mm.nbytes
        )
        assert x.data_ptr() == lo + info["start"] * x.element_size()
        # And the kernel agrees that this address is a mapping of the chunk file.
        assert any(a <= x.data_ptr() < b for a, b in _mapped_ranges(chunk))
        assert x.dtype == torch.float32 and x.shape == (19, ds.window_samples)


def test_items_equal_zarr_python_and_the_index(
    ds: ZarrWindowDataset, store: Path
) -> None:
    index = _native.read_index(store)["windows"]
    per_sample = ZarrWindowDataset(store, label="per_sample")
    fraction = ZarrWindowDataset(store, label="fraction")
    for i in np.linspace(0, len(ds) - 1, 9).astype(int):
        x, y = ds[i]
        info = ds.info(i)
        t = ds.window_samples
        np.testing.assert_array_equal(
            x.numpy(), _zarr_window(store, info["recording"], info["start"], t)
        )
        assert y.dtype == torch.int64 and int(y) == index["label"][i]
        assert (
            info["start"] == index["start"][i]
            and info["recording_index"] == index["recording"][i]
        )
        assert info["start_s"] == pytest.approx(info["start"] / ds.fs)
        labels = _zarr_window(store, info["recording"], info["start"], t, "label")
        np.testing.assert_array_equal(per_sample[i][1].numpy(), labels)
        assert float(fraction[i][1]) == pytest.approx(index["seizure_fraction"][i])


def test_filters_by_split_and_patient(ds: ZarrWindowDataset, store: Path) -> None:
    train = ZarrWindowDataset(store, split="train")
    assert 0 < len(train) < len(ds)
    assert {train.info(i)["split"] for i in range(len(train))} == {"train"}
    patient = ds.info(0)["patient"]
    one = ZarrWindowDataset(store, patients=[patient])
    assert {one.info(i)["patient"] for i in range(len(one))} == {patient}
    assert len(one) == sum(ds.info(i)["patient"] == patient for i in range(len(ds)))


@pytest.mark.parametrize(
    ("window_s", "stride_s"), [(30.0, 7.0), (60.0, 60.0), (4.0, 1.5)]
)
def test_window_and_stride_override_rebuilds_the_index(
    ds: ZarrWindowDataset, store: Path, window_s: float, stride_s: float
) -> None:
    other = ZarrWindowDataset(store, window_s=window_s, stride_s=stride_s)
    t, s = round(window_s * ds.fs), round(stride_s * ds.fs)
    assert (other.window_samples, other.stride_samples) == (t, s)
    expected = sum((int(n) - t) // s + 1 for n in ds.n_samples if n >= t)
    assert len(other) == expected
    group = zarr.open_group(store, mode="r")
    for r, rid in enumerate(ds.rids):
        labels = np.asarray(group[f"recordings/{rid}/label"][...])
        starts, lab, frac = _native.windows(labels, ds.fs, window_s, stride_s)
        mine = other._rec == r
        np.testing.assert_array_equal(other._start[mine], starts)
        np.testing.assert_array_equal(other._label[mine], lab)
        np.testing.assert_allclose(other._frac[mine], frac, rtol=1e-6)
    for i in (0, len(other) - 1):
        info = other.info(i)
        x, _ = other[i]
        np.testing.assert_array_equal(
            x.numpy(), _zarr_window(store, info["recording"], info["start"], t)
        )


@pytest.mark.parametrize("context", ["fork", "spawn"])
# Python >= 3.12 warns that fork() in a process with threads (torch's) may deadlock;
# the DataLoader workers only read memory maps opened after the fork.
@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_dataloader_workers_yield_the_single_process_batches(
    ds: ZarrWindowDataset, context: str
) -> None:
    ds[0]  # maps opened in the parent must not travel to the workers
    single = list(DataLoader(ds, batch_size=3, shuffle=False))
    multi = list(
        DataLoader(
            ds,
            batch_size=3,
            shuffle=False,
            num_workers=2,
            multiprocessing_context=context,
        )
    )
    assert len(single) == len(multi) > 1
    for (xa, ya), (xb, yb) in zip(single, multi, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_pickles_without_maps(ds: ZarrWindowDataset) -> None:
    ds[0]
    state = pickle.dumps(ds)
    back = pickle.loads(state)
    assert not back._maps and not back._gatherers and back._reader is None
    assert torch.equal(back[0][0], ds[0][0])


def test_cpu_batches_equal_stacked_items(ds: ZarrWindowDataset) -> None:
    order = ds.order(shuffle=True, seed=3)
    got = list(ds.batches(4, seed=3, device="cpu"))
    assert [x.shape[0] for x, _ in got] == [4] * (len(ds) // 4) + (
        [len(ds) % 4] if len(ds) % 4 else []
    )
    xs = torch.cat([x for x, _ in got])
    ys = torch.cat([y for _, y in got])
    assert torch.equal(xs, torch.stack([ds[int(i)][0] for i in order]))
    assert torch.equal(ys, torch.stack([ds[int(i)][1] for i in order]))
    dropped = list(ds.batches(4, seed=3, device="cpu", drop_last=True))
    assert all(x.shape[0] == 4 for x, _ in dropped) and len(dropped) == len(ds) // 4


def test_batch_transform_runs_on_each_batch_after_the_cast(ds: ZarrWindowDataset) -> None:
    seen: list[torch.dtype] = []

    def double(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.dtype)
        return x * 2

    plain = list(ds.batches(4, seed=1, device="cpu"))
    got = list(ds.batches(4, seed=1, device="cpu", dtype=torch.float64, batch_transform=double))
    assert len(seen) == len(got) == len(plain) and set(seen) == {torch.float64}
    for (x, y), (p, q) in zip(got, plain, strict=True):
        assert torch.equal(x, p.double() * 2) and torch.equal(y, q)


def test_shuffle_is_deterministic_and_each_epoch_is_exact_once(
    ds: ZarrWindowDataset,
) -> None:
    a, b, c = (ds.order(seed=s) for s in (7, 7, 8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(np.sort(a), np.arange(len(ds)))
    assert np.array_equal(ds.order(shuffle=False), np.arange(len(ds)))
    first = [x for x, _ in ds.batches(5, seed=7, device="cpu")]
    again = [x for x, _ in ds.batches(5, seed=7, device="cpu")]
    assert all(torch.equal(p, q) for p, q in zip(first, again, strict=True))
    other = [x for x, _ in ds.batches(5, seed=8, device="cpu")]
    assert not all(torch.equal(p, q) for p, q in zip(first, other, strict=False))


def test_per_sample_and_fraction_batches(store: Path) -> None:
    for label in ("per_sample", "fraction"):
        d = ZarrWindowDataset(store, label=label)
        (_x, y), *_ = d.batches(3, shuffle=False, device="cpu")
        assert torch.equal(y, torch.stack([d[i][1] for i in range(3)]))


def test_balanced_sampler_draws_seizures_at_the_rate(ds: ZarrWindowDataset) -> None:
    labels = ds.labels
    assert 0 < (labels == 1).mean() < 0.5
    sampler = balanced_sampler(ds, seizure_rate=0.3, num_samples=20_000, seed=1)
    draws = np.fromiter(iter(sampler), dtype=np.int64)
    assert len(sampler) == draws.size == 20_000
    assert abs((labels[draws] == 1).mean() - 0.3) < 0.02
    assert not (labels[draws] == 255).any()
    assert np.array_equal(
        draws, np.fromiter(iter(balanced_sampler(ds, 0.3, 20_000, seed=1)), np.int64)
    )
    batches = list(
        ds.batches(8, device="cpu", sampler=balanced_sampler(ds, 0.5, 16, seed=2))
    )
    assert sum(x.shape[0] for x, _ in batches) == 16
    with pytest.raises(ValueError, match="seizure_rate"):
        balanced_sampler(ds, seizure_rate=1.0)


def _set_complete(store: Path, complete: bool) -> None:
    path = store / "zarr.json"
    doc = json.loads(path.read_text())
    doc["attributes"]["brainbrr"]["index"]["complete"] = complete
    path.write_text(json.dumps(doc))


def test_incomplete_store_is_refused(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    _set_complete(copy, False)
    with pytest.raises(
        StoreError, match=r"incomplete.*interrupted.*brainbrr-ingest.*allow_incomplete"
    ):
        ZarrWindowDataset(copy)
    assert len(ZarrWindowDataset(copy, allow_incomplete=True)) == len(
        ZarrWindowDataset(store)
    )


def test_other_format_is_refused(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    path = copy / "zarr.json"
    doc = json.loads(path.read_text())
    doc["attributes"]["brainbrr"]["format"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="format"):
        ZarrWindowDataset(copy)


def test_float16_store_reads_float16(store_f16: Path) -> None:
    d = ZarrWindowDataset(store_f16)
    x, _ = d[1]
    info = d.info(1)
    assert x.dtype == torch.float16
    np.testing.assert_array_equal(
        x.numpy(),
        _zarr_window(store_f16, info["recording"], info["start"], d.window_samples),
    )
    (xb, _), *_ = d.batches(4, shuffle=False, device="cpu")
    assert xb.dtype == torch.float16 and torch.equal(
        xb, torch.stack([d[i][0] for i in range(4)])
    )
    (xf, _), *_ = d.batches(4, shuffle=False, device="cpu", dtype=torch.float32)
    assert xf.dtype == torch.float32 and torch.equal(xf, xb.float())


def test_compressed_store_warns_once_and_decodes(
    corpus: Path, tmp_path: Path, ds: ZarrWindowDataset
) -> None:
    out = tmp_path / "zstd.zarr"
    ingest(corpus, out, zstd_level=3)
    with pytest.warns(UserWarning, match="not zero-copy"):
        d = ZarrWindowDataset(out)
    assert d.compressed and len(d) == len(ds)
    assert torch.equal(d[2][0], ds[2][0])
    (x, _), *_ = d.batches(3, shuffle=False, device="cpu")
    assert torch.equal(x, torch.stack([ds[i][0] for i in range(3)]))
    # The checksum of a compressed chunk covers its compressed bytes: verify and a
    # verifying dataset read them as such (they once read past the end).
    assert run_cli("brainbrr", "verify", out).returncode == 0
    with pytest.warns(UserWarning, match="not zero-copy"):
        assert torch.equal(ZarrWindowDataset(out, verify=True)[2][0], ds[2][0])
    signal = next(out.glob("recordings/*/signal/c/0/0"))
    damaged = bytearray(signal.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    signal.write_bytes(bytes(damaged))
    bad = run_cli("brainbrr", "verify", out)
    assert bad.returncode == 1 and "checksum" in bad.stdout + bad.stderr, bad.stdout


def test_gatherer_refuses_bad_windows_and_buffers(ds: ZarrWindowDataset) -> None:
    paths = [str(ds.chunk_file(r)) for r in range(len(ds.rids))]
    g = _native.WindowGatherer(
        paths, [int(n) for n in ds.n_samples], 19, "float32", threads=2
    )
    assert len(g) == len(ds.rids)
    t = ds.window_samples
    out = np.zeros((1, 19, t), np.float32)
    n0 = int(ds.n_samples[0])
    with pytest.raises(IndexError, match="outside recording"):
        g.gather(np.array([0]), np.array([n0 - t + 1]), out)
    with pytest.raises(IndexError, match="out of range"):
        g.gather(np.array([len(paths)]), np.array([0]), out)
    with pytest.raises(ValueError, match="batch shape"):
        g.gather(np.array([0, 0]), np.array([0, 0]), out)
    with pytest.raises(ValueError, match="float32 or uint16"):
        g.gather(np.array([0]), np.array([0]), out.astype(np.float64))
    with pytest.raises(ValueError, match="2-byte samples"):
        g.gather(
            np.array([0]),
            np.array([0]),
            out.view(np.uint16).reshape(1, 19, 2 * t)[:, :, :t].copy(),
        )
    assert not out.any()
    g.gather(np.array([0]), np.array([n0 - t]), out)
    np.testing.assert_array_equal(out[0], ds._read("signal", 0)[:, n0 - t :])


def test_import_brainbrr_does_not_import_torch() -> None:
    code = "import sys, brainbrr; assert 'torch' not in sys.modules; brainbrr.ZarrWindowDataset; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cpu_batches_reuse_released_buffers_only(ds: ZarrWindowDataset) -> None:
    ptrs = set()
    for x, _ in ds.batches(2, shuffle=False, device="cpu"):
        ptrs.add(x.data_ptr())
    # prefetch (2) batches ahead, the caller's and one being released: at most 4 buffers in turn.
    assert len(ptrs) <= 2 + 2 < len(ds) // 2
    # A new dataset of the same windows starts on the process's warm buffers.
    other = ZarrWindowDataset(ds.path)
    assert {x.data_ptr() for x, _ in other.batches(2, shuffle=True, seed=1, device="cpu")} & ptrs
    kept = list(ds.batches(2, shuffle=False, device="cpu"))
    assert len({x.data_ptr() for x, _ in kept}) == len(kept)
    # ... and never on one a batch still held refers to.
    copies = [x.clone() for x, _ in kept]
    held = {x.data_ptr() for x, _ in kept}
    assert not {x.data_ptr() for x, _ in other.batches(2, shuffle=True, seed=1, device="cpu")} & held
    assert all(torch.equal(x, c) for (x, _), c in zip(kept, copies, strict=True))
