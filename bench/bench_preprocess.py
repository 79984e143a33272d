"""Preprocessing throughput of brainbrr.preprocess vs the same steps in scipy.

Both run on one core (RAYON_NUM_THREADS=1 is set before brainbrr loads) on the
same inputs: 19 channels x 1 h of EEG-like signal at each input rate. The
scipy side is the old pipeline: resample (FFT) to 256 Hz, butter(3, [0.5,
120]) with lfilter, iirnotch(60, 30) with lfilter, z-score, float32.

Usage: python bench/bench_preprocess.py [--rates 250 400 512] [--seconds 3600] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("RAYON_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import scipy  # noqa: E402
import scipy.signal as ss  # noqa: E402

import brainbrr  # noqa: E402

N_CHANNELS = 19


def eeg_like(n_channels: int, n: int, fs: float) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(0)
    spectrum = np.fft.rfft(rng.standard_normal((n_channels, n)), axis=1)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spectrum[:, 1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spectrum, n, axis=1)
    x *= 30.0 / x.std(axis=1, keepdims=True)
    t = np.arange(n) / fs
    return x + 20.0 * np.sin(2 * np.pi * 10.0 * t) + 5.0 * np.sin(2 * np.pi * 60.0 * t) + 40.0


def scipy_stages(x: npt.NDArray[np.float64], fs: float) -> dict[str, Callable[[Any], Any]]:
    b, a = ss.butter(3, [0.5, 120.0], btype="bandpass", fs=256.0)
    nb, na = ss.iirnotch(60.0, 30.0, 256.0)
    num = round(x.shape[1] * 256.0 / fs)
    return {
        "resample": lambda v: ss.resample(v, num, axis=1) if fs != 256.0 else v,
        "bandpass": lambda v: ss.lfilter(b, a, v, axis=1),
        "notch": lambda v: ss.lfilter(nb, na, v, axis=1),
        "zscore+f32": lambda v: ((v - v.mean(axis=1, keepdims=True)) / (v.std(axis=1, keepdims=True) + 1e-8)).astype(np.float32),
    }


def scipy_pipeline(x: npt.NDArray[np.float64], fs: float) -> npt.NDArray[np.float32]:
    v: Any = x
    for stage in scipy_stages(x, fs).values():
        v = stage(v)
    return v


def median_time(f: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def stage_times(x: npt.NDArray[np.float64], fs: float, runs: int) -> dict[str, float]:
    """scipy time per stage (each stage timed on the previous stage's output)."""
    out: dict[str, float] = {}
    v: Any = x
    for name, stage in scipy_stages(x, fs).items():
        out[name] = median_time(lambda: stage(v), runs)
        v = stage(v)
    return out


def brainbrr_stage_times(x: npt.NDArray[np.float64], fs: float, runs: int) -> dict[str, float]:
    """brainbrr time per stage, from its primitives run channel by channel
    (each call also copies its channel in and out of Python)."""
    from brainbrr import _native

    b, a = ss.butter(3, [0.5, 120.0], btype="bandpass", fs=256.0)
    nb, na = ss.iirnotch(60.0, 30.0, 256.0)
    num = round(x.shape[1] * 256.0 / fs)
    y = np.stack([_native._resample(c, num) for c in x])
    out = {
        "resample": median_time(lambda: [_native._resample(c, num) for c in x], runs),
        "bandpass": median_time(lambda: [_native._lfilter(b, a, c) for c in y], runs),
        "notch": median_time(lambda: [_native._lfilter(nb, na, c) for c in y], runs),
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=float, nargs="+", default=[250.0, 400.0, 512.0])
    p.add_argument("--seconds", type=float, default=3600.0)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--stages", action="store_true", help="also time each stage")
    args = p.parse_args()
    print(f"command: RAYON_NUM_THREADS={os.environ['RAYON_NUM_THREADS']} python {' '.join(sys.argv)}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, brainbrr {brainbrr.__version__}, {os.cpu_count()} cpus, {platform.processor() or platform.machine()}")
    print("| input rate | input samples | scipy s | brainbrr s | scipy Msamples/s | brainbrr Msamples/s | speedup |")
    print("|---|---|---|---|---|---|---|")
    for fs in args.rates:
        x = eeg_like(N_CHANNELS, int(round(args.seconds * fs)), fs)
        y_ref = scipy_pipeline(x, fs)
        y, _ = brainbrr.preprocess(x, fs)
        assert np.max(np.abs(y - y_ref)) < 1e-4, "outputs differ"
        t_scipy = median_time(lambda: scipy_pipeline(x, fs), args.runs)
        t_ours = median_time(lambda: brainbrr.preprocess(x, fs), args.runs)
        n = x.size
        print(f"| {fs:g} Hz | {N_CHANNELS} x {x.shape[1]} | {t_scipy:.3f} | {t_ours:.3f} | {n / t_scipy / 1e6:.1f} | {n / t_ours / 1e6:.1f} | {t_scipy / t_ours:.1f}x |")
        if args.stages:
            s, o = stage_times(x, fs, args.runs), brainbrr_stage_times(x, fs, args.runs)
            for name in s:
                if name in o:
                    print(f"|   {name} | | {s[name]:.3f} | {o[name]:.3f} | | | {s[name] / o[name]:.1f}x |")


if __name__ == "__main__":
    main()
