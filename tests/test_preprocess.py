"""brainbrr.preprocess against the same steps done with scipy, and its config."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest
import scipy.signal as ss

import brainbrr
from brainbrr.preprocessing import PreprocessConfig, default_config

N_CHANNELS = 19



def eeg_like(n: int, fs: float, seed: int = 0) -> npt.NDArray[np.float64]:
    """Pink noise plus a 10 Hz alpha rhythm, 60 Hz line noise and a DC offset, in µV."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spectrum[1:] /= np.sqrt(f[1:])
    pink = np.fft.irfft(spectrum, n)
    pink *= 30.0 / pink.std()
    t = np.arange(n) / fs
    return pink + 20.0 * np.sin(2 * np.pi * 10.0 * t) + 5.0 * np.sin(2 * np.pi * 60.0 * t) + 40.0

def recording(fs: float, seconds: float = 30.0, seed: int = 0) -> npt.NDArray[np.float64]:
    n = int(round(seconds * fs))
    return np.stack([eeg_like(n, fs, seed + c) for c in range(N_CHANNELS)])


def reference(
    x: npt.NDArray[np.float64],
    fs: float,
    *,
    zero_phase: bool = False,
    poly: tuple[int, int] | None = None,
    notch: bool = True,
) -> npt.NDArray[np.float64]:
    """The old pipeline from its description: resample to 256 Hz, butter(3, [0.5, 120])
    and iirnotch(60, 30) with lfilter, z-score per channel (eps 1e-8)."""
    if poly is not None:
        y = ss.resample_poly(x, *poly, axis=1)
    elif fs != 256.0:
        y = ss.resample(x, round(x.shape[1] * 256.0 / fs), axis=1)
    else:
        y = x
    run = ss.filtfilt if zero_phase else ss.lfilter
    y = run(*ss.butter(3, [0.5, 120.0], btype="bandpass", fs=256.0), y, axis=1)
    if notch:
        y = run(*ss.iirnotch(60.0, 30.0, 256.0), y, axis=1)
    return (y - y.mean(axis=1, keepdims=True)) / (y.std(axis=1, keepdims=True) + 1e-8)


@pytest.mark.parametrize("fs", [250.0, 256.0, 400.0, 512.0, 200.0, 500.0, 1000.0])
def test_default_pipeline_matches_scipy(fs: float) -> None:
    x = recording(fs)
    y, fs_out = brainbrr.preprocess(x, fs)
    assert fs_out == 256.0
    assert y.dtype == np.float32 and y.flags.c_contiguous
    want = reference(x, fs)
    assert y.shape == want.shape
    assert np.max(np.abs(y - want)) < 1e-4


def test_zero_phase_matches_filtfilt() -> None:
    x = recording(400.0)
    y, _ = brainbrr.preprocess(x, 400.0, {"filter_mode": "zero_phase"})
    assert np.max(np.abs(y - reference(x, 400.0, zero_phase=True))) < 1e-4


def test_sos_form_matches_the_transfer_function() -> None:
    x = recording(250.0)
    y, _ = brainbrr.preprocess(x, 250.0, {"bandpass": {"form": "sos"}})
    assert np.max(np.abs(y - reference(x, 250.0))) < 1e-4


@pytest.mark.parametrize("fs", [250.0, 500.0, 250.3])
def test_poly_resampling_matches_resample_poly(fs: float) -> None:
    x = recording(fs, seconds=20.0)
    # The exact ratio of the rates as written (256/250.3 = 2560/2503).
    ratio = Fraction(256) / Fraction(str(fs))
    up, down = ratio.numerator, ratio.denominator
    y, fs_out = brainbrr.preprocess(x, fs, {"resample": "poly"})
    assert fs_out == pytest.approx(256.0, rel=1e-12)
    assert np.max(np.abs(y - reference(x, fs, poly=(up, down)))) < 1e-4


def test_disabled_steps() -> None:
    x = recording(256.0, seconds=10.0)
    y, _ = brainbrr.preprocess(x, 256.0, {"notch": None})
    assert np.max(np.abs(y - reference(x, 256.0, notch=False))) < 1e-4
    raw, _ = brainbrr.preprocess(x, 256.0, {"bandpass": None, "notch": None, "zscore": None})
    np.testing.assert_array_equal(raw, x.astype(np.float32))


def test_clip() -> None:
    x = recording(256.0, seconds=10.0)
    x[:, 1000] += 1e4  # an artifact far outside the z-score range
    y, _ = brainbrr.preprocess(x, 256.0, {"clip": 2.5})
    assert np.max(np.abs(y)) == pytest.approx(2.5)
    unclipped, _ = brainbrr.preprocess(x, 256.0)
    inside = np.abs(unclipped) < 2.5
    np.testing.assert_array_equal(y[inside], unclipped[inside])


@pytest.mark.parametrize("mode", ["causal", "zero_phase"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 21, 40])
def test_recordings_shorter_than_the_padding(mode: str, n: int) -> None:
    x = recording(250.0, seconds=1.0)[:, :n]
    y, _ = brainbrr.preprocess(x, 250.0, {"filter_mode": mode})
    assert y.shape == (N_CHANNELS, round(n * 256.0 / 250.0))
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("mode", ["causal", "zero_phase"])
def test_constant_channels_give_zeros(mode: str) -> None:
    x = recording(250.0, seconds=10.0)
    x[3] = 0.0
    x[7] = 123.4
    y, _ = brainbrr.preprocess(x, 250.0, {"filter_mode": mode})
    assert np.all(np.isfinite(y))
    assert not np.any(y[3]) and not np.any(y[7])
    assert np.all(y[0].std() > 0.9)


def test_no_nan_or_inf_on_extreme_inputs() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.standard_normal((2, 5000)) * 1e6, np.full((1, 5000), 1e-300), rng.standard_normal((1, 5000)) * 1e-12])
    for cfg in [None, {"filter_mode": "zero_phase"}, {"resample": "poly"}, {"zscore": {"eps": 0.0}}]:
        y, _ = brainbrr.preprocess(x, 500.0, cfg)
        assert np.all(np.isfinite(y))


def test_bad_inputs_raise_dsp_error() -> None:
    x = recording(256.0, seconds=2.0)
    x[2, 17] = np.nan
    with pytest.raises(brainbrr.DspError, match="channel 2 at index 17"):
        brainbrr.preprocess(x, 256.0)
    with pytest.raises(brainbrr.DspError, match="2-D"):
        brainbrr.preprocess(np.zeros(10), 256.0)
    with pytest.raises(brainbrr.DspError, match="sampling rate"):
        brainbrr.preprocess(np.zeros((2, 10)), 0.0)


def test_non_contiguous_and_integer_input() -> None:
    x = recording(256.0, seconds=4.0)
    y, _ = brainbrr.preprocess(np.asfortranarray(x), 256.0)
    np.testing.assert_array_equal(y, brainbrr.preprocess(x, 256.0)[0])
    y, _ = brainbrr.preprocess(np.round(x).astype(np.int16), 256.0)
    assert y.dtype == np.float32


# --- config ---


def test_default_config_matches_the_design() -> None:
    cfg = default_config()
    assert cfg["target_fs"] == 256.0 and cfg["resample"] == "fft"
    assert cfg["bandpass"] == {"order": 3, "low": 0.5, "high": 120.0, "form": "ba"}
    assert cfg["notch"] == {"freq": 60.0, "q": 30.0}
    assert cfg["filter_mode"] == "causal" and cfg["zscore"] == {"eps": 1e-8} and cfg["clip"] is None
    assert (cfg["window_s"], cfg["stride_s"], cfg["dtype"]) == (60.0, 10.0, "float32")
    assert cfg["montage"]["channels"][:3] == ["FP1", "F3", "C3"]


def test_config_round_trip_and_hash() -> None:
    cfg = PreprocessConfig.from_overrides()
    again = PreprocessConfig.from_overrides(json.loads(cfg.json))
    assert again == cfg and again.hash == cfg.hash and len(cfg.hash) == 64
    assert PreprocessConfig.from_overrides(cfg.json) == cfg
    # Key order and int vs float spelling do not matter.
    a = PreprocessConfig.from_overrides({"bandpass": {"high": 100, "low": 1}})
    b = PreprocessConfig.from_overrides({"bandpass": {"low": 1.0, "high": 100.0}})
    assert a.json == b.json and a.hash == b.hash


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"target_fs": 300.0}, "target_fs"),
        ({"resample": "poly"}, "resample"),
        ({"bandpass": {"order": 4}}, "bandpass.order"),
        ({"bandpass": {"low": 1.0}}, "bandpass.low"),
        ({"bandpass": {"high": 100.0}}, "bandpass.high"),
        ({"bandpass": {"form": "sos"}}, "bandpass.form"),
        ({"bandpass": None}, "bandpass"),
        ({"notch": {"freq": 50.0}}, "notch.freq"),
        ({"notch": {"q": 20.0}}, "notch.q"),
        ({"notch": None}, "notch"),
        ({"filter_mode": "zero_phase"}, "filter_mode"),
        ({"zscore": {"eps": 1e-6}}, "zscore.eps"),
        ({"zscore": None}, "zscore"),
        ({"clip": 5.0}, "clip"),
        ({"window_s": 30.0}, "window_s"),
        ({"stride_s": 5.0}, "stride_s"),
        ({"dtype": "float16"}, "dtype"),
        ({"montage": {"channels": ["FP1", "F3"]}}, "montage.channels"),
    ],
)
def test_any_change_changes_the_hash_and_diff_names_it(override: dict[str, object], path: str) -> None:
    base = PreprocessConfig.from_overrides()
    changed = PreprocessConfig.from_overrides(override)
    # The window keys shape the index, not the stored signals the hash stands for.
    assert (changed.hash == base.hash) == (path in ("window_s", "stride_s"))
    assert [p for p, _, _ in base.diff(changed)] == [path]
    assert base.diff(base) == []


def test_lists_are_replaced_or_extended_with_plus() -> None:
    default = PreprocessConfig.from_overrides().to_dict()["labels"]["background_labels"]
    replaced = PreprocessConfig.from_overrides({"labels": {"background_labels": ["arti"]}})
    extended = PreprocessConfig.from_overrides({"labels": {"background_labels+": ["arti"]}})
    assert replaced.to_dict()["labels"]["background_labels"] == ["arti"]
    assert extended.to_dict()["labels"]["background_labels"] == [*default, "arti"]
    with pytest.raises(brainbrr.DspError, match=r"labels\.background_labels: given both"):
        PreprocessConfig.from_overrides({"labels": {"background_labels": [], "background_labels+": ["x"]}})


def test_replace_and_dataclass_input() -> None:
    @dataclasses.dataclass
    class Notch:
        freq: float = 50.0
        q: float = 30.0

    @dataclasses.dataclass
    class Mine:
        notch: Notch = dataclasses.field(default_factory=Notch)
        target_fs: float = 300.0

    cfg = PreprocessConfig.from_overrides(Mine())
    assert cfg.to_dict()["notch"]["freq"] == 50.0 and cfg.to_dict()["target_fs"] == 300.0
    assert cfg.replace(notch={"q": 10.0}).to_dict()["notch"] == {"freq": 50.0, "q": 10.0}
    diff = dict((p, (a, b)) for p, a, b in cfg.diff(None))
    assert diff == {"notch.freq": ("50.0", "60.0"), "target_fs": ("300.0", "256.0")}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"bandpass": {"high": 128.0}}, "bandpass.high.*Nyquist"),
        ({"target_fs": 200.0, "bandpass": {"high": 100.0}}, "bandpass.high: 100 Hz is at Nyquist"),
        ({"bandpass": {"low": 50.0, "high": 40.0}}, "bandpass.low"),
        ({"bandpass": {"order": 0}}, "bandpass.order"),
        ({"notch": {"freq": 300.0}}, "notch.freq"),
        ({"notch": {"q": 0.0}}, "notch.q"),
        ({"zscore": {"eps": -1.0}}, "zscore.eps"),
        ({"clip": 0.0}, "clip"),
        ({"window_s": -60.0}, "window_s"),
        ({"bandpas": {}}, "bandpas: unknown key"),
        ({"bandpass": {"hi": 1}}, "bandpass.hi: unknown key"),
        ({"resample": "linear"}, "resample: unknown variant `linear`"),
    ],
)
def test_invalid_configs_raise_dsp_error(override: dict[str, object], message: str) -> None:
    with pytest.raises(brainbrr.DspError, match=message):
        PreprocessConfig.from_overrides(override)
    with pytest.raises(brainbrr.DspError, match=message):
        brainbrr.preprocess(np.zeros((1, 10)), 256.0, override)


def test_bandpass_high_follows_target_fs_unless_given() -> None:
    assert PreprocessConfig.from_overrides({"target_fs": 200.0}).to_dict()["bandpass"]["high"] == 93.75
    assert PreprocessConfig.from_overrides({"target_fs": 200.0, "bandpass": {"high": 80}}).to_dict()["bandpass"]["high"] == 80.0
    assert PreprocessConfig.from_overrides({"target_fs": 1000.0}).to_dict()["bandpass"]["high"] == 120.0
    assert PreprocessConfig.from_overrides({"target_fs": 100.0}).to_dict()["notch"] is None
    # The hash of the default signals (the window keys left it; stores written before keep theirs).
    assert PreprocessConfig.from_overrides().hash == "4629eef1e3af3ee16d7a1d3e8e3c87875e1257ae00af7853fad7a1fe61ff55b2"


def test_config_is_the_rust_struct_with_value_semantics() -> None:
    import pickle

    from brainbrr import _native

    a = PreprocessConfig.from_overrides({"montage": {"kind": "tcp"}, "target_fs": 200})
    b = PreprocessConfig(a.json)
    assert isinstance(a, _native.PreprocessConfig)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != PreprocessConfig.from_overrides() and a != a.json
    assert (a.target_fs, a.window_s, a.stride_s) == (200.0, 60.0, 10.0)
    assert len(a.channels) == 22 and a.channels[:2] == ["FP1-F7", "F7-T3"]
    assert PreprocessConfig.from_overrides().channels[:3] == ["FP1", "F3", "C3"]
    back = pickle.loads(pickle.dumps(a))
    assert type(back) is PreprocessConfig and back == a and back.hash == a.hash
    assert ("target_fs", "200.0", "256.0") in a.diff(None)
    assert eval(repr(a), {"PreprocessConfig": PreprocessConfig}) == a
    with pytest.raises(brainbrr.DspError, match="target_fs: -1 must be positive"):
        PreprocessConfig('{"target_fs": -1}')
    with pytest.raises(AttributeError):
        a.target_fs = 100.0  # type: ignore[misc]
