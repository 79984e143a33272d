"""Parity of brainbrr's DSP primitives with scipy.signal.

The comparison itself runs in Rust (``rust/core/tests/dsp_scipy.rs``, under
``cargo test``) against ``rust/core/tests/fixtures/dsp_scipy.json``, so the
shipped extension exposes no primitive for tests. Here: that fixture is what
scipy computes today, and the generator's inputs are what the Rust side rebuilds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from tests.make_dsp_expected import FIXTURE, expected, signal


def _close(got: Any, want: Any, where: str) -> None:
    """Equal structure; numbers within 1e-9 relative (a scipy release may round
    the last bits differently; anything larger is a changed result)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            _close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got} != {want}"
    else:
        assert got == want, where


def test_fixture_is_what_scipy_computes_today() -> None:
    _close(json.loads(FIXTURE.read_text()), expected(), "dsp_scipy.json")


def test_generator_is_the_integer_rule_the_rust_test_rebuilds() -> None:
    # The first values of the LCG, computed by hand: state = a * state + c mod 2**64.
    a, c, m = 6364136223846793005, 1442695040888963407, 2**64
    state, want = 1, []
    for _ in range(3):
        state = (a * state + c) % m
        want.append((state >> 11) / 2.0**53 * 3.4 - 1.7)
    np.testing.assert_array_equal(signal("white", 3, 256.0, 1), want)
    eeg = signal("eeg", 1000, 256.0, 0)
    assert abs(eeg.mean() - 40.0) < 10.0 and eeg.std() > 10.0
