"""Parity of brainbrr's DSP primitives with scipy.signal.

Coefficients within 1e-10 relative to the largest coefficient; filtered and
resampled signals within 1e-6 of the reference signal's RMS.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import scipy.signal as ss

import brainbrr
from brainbrr import _native

RATES = [200.0, 250.0, 256.0, 400.0, 500.0, 512.0, 1000.0, 250.3]


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


def signals(n: int, fs: float) -> list[npt.NDArray[np.float64]]:
    return [np.random.default_rng(1).standard_normal(n), eeg_like(n, fs)]


def assert_close_rms(
    got: npt.NDArray[np.float64],
    want: npt.NDArray[np.float64],
    tol: float = 1e-6,
    scale: npt.NDArray[np.float64] | None = None,
) -> None:
    """Max error within ``tol`` of the RMS of ``want`` (or of ``scale``, e.g. the input)."""
    assert got.shape == want.shape
    rms = np.sqrt(np.mean((want if scale is None else scale) ** 2))
    err = np.max(np.abs(got - want))
    assert err <= tol * rms, f"max error {err:.3g} > {tol} * rms {rms:.3g}"


def assert_coefs(got: npt.NDArray[np.float64], want: npt.NDArray[np.float64]) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.max(np.abs(want)))


BANDS = [
    ("lowpass", [30.0], 256.0),
    ("lowpass", [0.9], 200.0),
    ("highpass", [0.5], 256.0),
    ("highpass", [40.0], 1000.0),
    ("bandpass", [0.5, 120.0], 256.0),
    ("bandpass", [1.0, 40.0], 250.0),
    ("bandpass", [8.0, 13.0], 512.0),
]


@pytest.mark.parametrize("order", range(1, 9))
@pytest.mark.parametrize(("btype", "cutoff", "fs"), BANDS)
def test_butter_coefficients(order: int, btype: str, cutoff: list[float], fs: float) -> None:
    wn = cutoff if len(cutoff) > 1 else cutoff[0]
    b, a = _native._butter_ba(order, cutoff, btype, fs)
    want_b, want_a = ss.butter(order, wn, btype, fs=fs)
    assert_coefs(b, want_b)
    assert_coefs(a, want_a)
    assert_coefs(_native._butter_sos(order, cutoff, btype, fs), ss.butter(order, wn, btype, fs=fs, output="sos"))


@pytest.mark.parametrize(("f0", "q", "fs"), [(60.0, 30.0, 256.0), (50.0, 30.0, 250.0), (60.0, 10.0, 1000.0), (1.0, 2.0, 100.0)])
def test_iirnotch_coefficients(f0: float, q: float, fs: float) -> None:
    b, a = _native._iirnotch(f0, q, fs)
    want_b, want_a = ss.iirnotch(f0, q, fs)
    assert_coefs(b, want_b)
    assert_coefs(a, want_a)


def test_initial_conditions() -> None:
    b, a = ss.butter(3, [0.5, 120.0], "bandpass", fs=256.0)
    np.testing.assert_allclose(_native._lfilter_zi(b, a), ss.lfilter_zi(b, a), rtol=1e-7)
    sos = ss.butter(4, [1.0, 40.0], "bandpass", fs=250.0, output="sos")
    np.testing.assert_allclose(_native._sosfilt_zi(sos), ss.sosfilt_zi(sos), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fs", [250.0, 256.0, 512.0])
@pytest.mark.parametrize("order", [1, 3, 5])
def test_causal_filters(fs: float, order: int) -> None:
    b, a = ss.butter(order, [0.5, 120.0], "bandpass", fs=fs)
    sos = ss.butter(order, [0.5, 120.0], "bandpass", fs=fs, output="sos")
    nb, na = ss.iirnotch(60.0, 30.0, fs)
    for x in signals(int(20 * fs), fs):
        assert_close_rms(_native._lfilter(b, a, x), ss.lfilter(b, a, x))
        assert_close_rms(_native._sosfilt(sos, x), ss.sosfilt(sos, x))
        assert_close_rms(_native._lfilter(nb, na, x), ss.lfilter(nb, na, x))


def test_lfilter_normalizes_by_a0() -> None:
    x = np.random.default_rng(2).standard_normal(500)
    b, a = np.array([0.5, 0.2]), np.array([2.0, -0.5])
    assert_close_rms(_native._lfilter(b, a, x), ss.lfilter(b, a, x))


@pytest.mark.parametrize("padlen", [None, 0, 5, 100])
def test_zero_phase_filters(padlen: int | None) -> None:
    fs = 256.0
    b, a = ss.butter(3, [0.5, 120.0], "bandpass", fs=fs)
    sos = ss.butter(3, [0.5, 120.0], "bandpass", fs=fs, output="sos")
    nb, na = ss.iirnotch(60.0, 30.0, fs)
    for x in signals(int(30 * fs), fs):
        assert_close_rms(_native._filtfilt(b, a, x, padlen), ss.filtfilt(b, a, x, padlen=padlen))
        assert_close_rms(_native._sosfiltfilt(sos, x, padlen), ss.sosfiltfilt(sos, x, padlen=padlen))
        assert_close_rms(_native._filtfilt(nb, na, x, padlen), ss.filtfilt(nb, na, x, padlen=padlen))


def test_zero_phase_on_signals_shorter_than_the_padding() -> None:
    b, a = ss.butter(3, [0.5, 120.0], "bandpass", fs=256.0)
    sos = ss.butter(3, [0.5, 120.0], "bandpass", fs=256.0, output="sos")
    for n in [1, 2, 5, 21]:
        x = eeg_like(64, 256.0)[:n]
        with pytest.raises(ValueError, match="padlen"):
            ss.filtfilt(b, a, x)
        # brainbrr pads with n - 1 samples instead: scipy's result with that padlen.
        # (One sample: the output is ~1e-20, so compare with the input's RMS.)
        assert_close_rms(_native._filtfilt(b, a, x), ss.filtfilt(b, a, x, padlen=n - 1), scale=x)
        assert_close_rms(_native._sosfiltfilt(sos, x), ss.sosfiltfilt(sos, x, padlen=n - 1), scale=x)


@pytest.mark.parametrize("fs", RATES)
def test_fft_resample_to_256(fs: float) -> None:
    n = int(round(60 * fs)) + 1  # odd and even lengths across the rates
    num = round(n * 256.0 / fs)
    for x in signals(n, fs):
        assert_close_rms(_native._resample(x, num), ss.resample(x, num))


@pytest.mark.parametrize(("n", "num"), [(8, 16), (16, 8), (9, 16), (16, 9), (10, 10), (7, 3), (1, 1), (2, 5)])
def test_fft_resample_nyquist_bin(n: int, num: int) -> None:
    x = np.random.default_rng(n * 100 + num).standard_normal(n)
    assert_close_rms(_native._resample(x, num), ss.resample(x, num))


@pytest.mark.parametrize("fs", RATES)
def test_poly_resample_to_256(fs: float) -> None:
    up, down = _native._rational_ratio(fs, 256.0)
    assert up / down * fs == pytest.approx(256.0, rel=1e-12)
    n = int(round(20 * fs)) + 3
    for x in signals(n, fs):
        assert_close_rms(_native._resample_poly(x, up, down), ss.resample_poly(x, up, down))


@pytest.mark.parametrize(("up", "down"), [(1, 2), (3, 1), (2, 3), (160, 147), (64, 125)])
def test_poly_resample_ratios(up: int, down: int) -> None:
    x = np.random.default_rng(up + down).standard_normal(1001)
    assert_close_rms(_native._resample_poly(x, up, down), ss.resample_poly(x, up, down))


def test_fractional_rate_ratio() -> None:
    assert _native._rational_ratio(250.3, 256.0) == (2560, 2503)
    assert _native._rational_ratio(250.0, 256.0) == (128, 125)


def test_invalid_design_raises_dsp_error() -> None:
    with pytest.raises(brainbrr.DspError, match="Nyquist"):
        _native._butter_ba(3, [0.5, 130.0], "bandpass", 256.0)
    with pytest.raises(brainbrr.DspError, match="order"):
        _native._butter_ba(0, [10.0], "lowpass", 256.0)
    with pytest.raises(brainbrr.DspError, match="btype"):
        _native._butter_ba(3, [10.0], "bandpass", 256.0)
    with pytest.raises(brainbrr.DspError, match="quality"):
        _native._iirnotch(60.0, -1.0, 256.0)
    with pytest.raises(brainbrr.DspError, match="a\\[0\\]"):
        _native._lfilter(np.array([1.0]), np.array([0.0, 1.0]), np.zeros(3))
    with pytest.raises(brainbrr.DspError, match="shape"):
        _native._sosfilt(np.ones((2, 5)), np.zeros(3))
