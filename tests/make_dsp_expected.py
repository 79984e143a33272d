"""Writes rust/core/tests/fixtures/dsp_scipy.json: what scipy.signal computes.

The Rust integration tests (rust/core/tests/dsp_scipy.rs) check brainbrr-core's
DSP primitives (Butterworth and notch design, causal and zero-phase filters,
FFT and polyphase resampling) against these values, so the shipped extension
carries no test-only entry points. The inputs are not stored: both sides build
them from :func:`signal`'s integer generator. Each output is stored as probes
(its first and last samples and evenly spaced ones) plus its sum and RMS, which
catch an error anywhere. Regenerate with ``python -m tests.make_dsp_expected``;
``test_dsp.py`` checks that the committed file is what scipy computes.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.signal as ss

from tests.conftest import REPO

FIXTURE = REPO / "rust" / "core" / "tests" / "fixtures" / "dsp_scipy.json"

RATES = [200.0, 250.0, 256.0, 400.0, 500.0, 512.0, 1000.0, 250.3]
BANDS = [
    ("lowpass", [30.0], 256.0),
    ("lowpass", [0.9], 200.0),
    ("highpass", [0.5], 256.0),
    ("highpass", [40.0], 1000.0),
    ("bandpass", [0.5, 120.0], 256.0),
    ("bandpass", [1.0, 40.0], 250.0),
    ("bandpass", [8.0, 13.0], 512.0),
]
EDGE = 8
SPREAD = 32

Array = npt.NDArray[np.float64]


def signal(kind: str, n: int, fs: float, seed: int) -> Array:
    """``"white"``: uniform noise in [-1.7, 1.7); ``"eeg"``: low-frequency noise plus a
    10 Hz rhythm, 60 Hz line noise and a DC offset, in µV.

    The noise is a 64-bit LCG (Knuth's MMIX constants) whose top 53 bits are the
    uniform sample, so Rust computes the same values bit for bit; the sines
    agree to an ulp.
    """
    mask = (1 << 64) - 1
    state = seed
    white = np.empty(n)
    for k in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        white[k] = (state >> 11) / float(1 << 53) * 3.4 - 1.7
    if kind == "white":
        return white
    low = np.empty(n)
    acc = 0.0
    for k in range(n):
        acc = 0.95 * acc + white[k]
        low[k] = acc
    t = np.arange(n) / fs
    return 10.0 * low + 20.0 * np.sin(2 * np.pi * 10.0 * t) + 5.0 * np.sin(2 * np.pi * 60.0 * t) + 40.0


def signals(n: int, fs: float) -> list[dict[str, Any]]:
    """The two inputs every filter and resampler case runs on."""
    return [{"kind": "white", "n": n, "fs": fs, "seed": 1}, {"kind": "eeg", "n": n, "fs": fs, "seed": 0}]


def build(spec: dict[str, Any]) -> Array:
    return signal(spec["kind"], spec["n"], spec["fs"], spec["seed"])


def probed(y: Array) -> dict[str, Any]:
    """Enough of ``y`` to compare with: probes, the sum and the RMS."""
    n = len(y)
    idx = sorted({*range(min(EDGE, n)), *range(max(0, n - EDGE), n), *np.linspace(0, n - 1, SPREAD).astype(int).tolist()})
    return {
        "n": n,
        "probe_index": idx,
        "probe_value": [float(y[i]) for i in idx],
        "sum": float(np.sum(y)),
        "rms": float(np.sqrt(np.mean(y**2))) if n else 0.0,
    }


def wn(cutoff: list[float]) -> float | list[float]:
    return cutoff if len(cutoff) > 1 else cutoff[0]


def design() -> dict[str, Any]:
    """Coefficients: every order 1-8 of each band, notches, initial conditions."""
    butter = [
        {
            "order": order,
            "btype": btype,
            "cutoff": cutoff,
            "fs": fs,
            "b": ss.butter(order, wn(cutoff), btype, fs=fs)[0].tolist(),
            "a": ss.butter(order, wn(cutoff), btype, fs=fs)[1].tolist(),
            "sos": ss.butter(order, wn(cutoff), btype, fs=fs, output="sos").tolist(),
        }
        for btype, cutoff, fs in BANDS
        for order in range(1, 9)
    ]
    notch = [
        {"f0": f0, "q": q, "fs": fs, "b": ss.iirnotch(f0, q, fs)[0].tolist(), "a": ss.iirnotch(f0, q, fs)[1].tolist()}
        for f0, q, fs in [(60.0, 30.0, 256.0), (50.0, 30.0, 250.0), (60.0, 10.0, 1000.0), (1.0, 2.0, 100.0)]
    ]
    b, a = ss.butter(3, [0.5, 120.0], "bandpass", fs=256.0)
    sos = ss.butter(4, [1.0, 40.0], "bandpass", fs=250.0, output="sos")
    zi = {
        "lfilter": {"b": b.tolist(), "a": a.tolist(), "zi": ss.lfilter_zi(b, a).tolist()},
        "sosfilt": {"sos": sos.tolist(), "zi": ss.sosfilt_zi(sos).tolist()},
    }
    return {"butter": butter, "notch": notch, "zi": zi}


def filters(fs: float, order: int) -> dict[str, Any]:
    """The three filters the preprocessing uses, as coefficients."""
    b, a = ss.butter(order, [0.5, 120.0], "bandpass", fs=fs)
    nb, na = ss.iirnotch(60.0, 30.0, fs)
    sos = ss.butter(order, [0.5, 120.0], "bandpass", fs=fs, output="sos")
    return {"ba": [b, a], "sos": sos, "notch": [nb, na]}


def as_lists(f: dict[str, Any]) -> dict[str, Any]:
    return {"ba": [c.tolist() for c in f["ba"]], "sos": f["sos"].tolist(), "notch": [c.tolist() for c in f["notch"]]}


def causal() -> list[dict[str, Any]]:
    out = []
    for fs in [250.0, 256.0, 512.0]:
        for order in [1, 3, 5]:
            f = filters(fs, order)
            for spec in signals(int(20 * fs), fs):
                x = build(spec)
                out.append(
                    {
                        "input": spec,
                        "filters": as_lists(f),
                        "ba": probed(ss.lfilter(*f["ba"], x)),
                        "sos": probed(ss.sosfilt(f["sos"], x)),
                        "notch": probed(ss.lfilter(*f["notch"], x)),
                    }
                )
    b, a = np.array([0.5, 0.2]), np.array([2.0, -0.5])
    spec = {"kind": "white", "n": 500, "fs": 256.0, "seed": 2}
    out.append({"input": spec, "filters": {"ba": [b.tolist(), a.tolist()]}, "ba": probed(ss.lfilter(b, a, build(spec)))})
    return out


def zero_phase() -> list[dict[str, Any]]:
    out = []
    f = filters(256.0, 3)
    for padlen in [None, 0, 5, 100]:
        for spec in signals(int(30 * 256.0), 256.0):
            x = build(spec)
            out.append(
                {
                    "input": spec,
                    "padlen": padlen,
                    "filters": as_lists(f),
                    "ba": probed(ss.filtfilt(*f["ba"], x, padlen=padlen)),
                    "sos": probed(ss.sosfiltfilt(f["sos"], x, padlen=padlen)),
                    "notch": probed(ss.filtfilt(*f["notch"], x, padlen=padlen)),
                }
            )
    # Shorter than scipy's padding, which scipy refuses: brainbrr pads with
    # n - 1 samples instead, so the reference is scipy's result with that padlen.
    for n in [1, 2, 5, 21]:
        spec = {"kind": "eeg", "n": n, "fs": 256.0, "seed": 0}
        x = build(spec)
        out.append(
            {
                "input": spec,
                "padlen": None,
                "filters": {"ba": as_lists(f)["ba"], "sos": as_lists(f)["sos"]},
                "ba": probed(ss.filtfilt(*f["ba"], x, padlen=n - 1)),
                "sos": probed(ss.sosfiltfilt(f["sos"], x, padlen=n - 1)),
                # One sample filters to ~1e-20: errors are relative to the input's RMS.
                "scale": probed(x)["rms"],
            }
        )
    return out


def resampling() -> dict[str, Any]:
    fft = []
    for fs in RATES:
        n = int(round(60 * fs)) + 1  # odd and even lengths across the rates
        num = round(n * 256.0 / fs)
        fft += [{"input": spec, "num": num, "y": probed(ss.resample(build(spec), num))} for spec in signals(n, fs)]
    for n, num in [(8, 16), (16, 8), (9, 16), (16, 9), (10, 10), (7, 3), (1, 1), (2, 5)]:
        spec = {"kind": "white", "n": n, "fs": 256.0, "seed": n * 100 + num}
        fft.append({"input": spec, "num": num, "y": probed(ss.resample(build(spec), num))})
    poly = []
    for fs in RATES:
        # The exact ratio of the rates as written: what `rational_ratio` must find.
        ratio = Fraction(256) / Fraction(str(fs))
        up, down = ratio.numerator, ratio.denominator
        n = int(round(20 * fs)) + 3
        poly += [
            {"input": spec, "rate": [fs, 256.0], "up": up, "down": down, "y": probed(ss.resample_poly(build(spec), up, down))}
            for spec in signals(n, fs)
        ]
    for up, down in [(1, 2), (3, 1), (2, 3), (160, 147), (64, 125)]:
        spec = {"kind": "white", "n": 1001, "fs": 256.0, "seed": up + down}
        poly.append({"input": spec, "up": up, "down": down, "y": probed(ss.resample_poly(build(spec), up, down))})
    return {"fft": fft, "poly": poly}


def expected() -> dict[str, Any]:
    return {"design": design(), "causal": causal(), "zero_phase": zero_phase(), **resampling()}


def main() -> None:
    FIXTURE.write_text(json.dumps(expected(), indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
