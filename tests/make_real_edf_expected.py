"""Writes rust/core/tests/fixtures/real_edf_expected.json: what pyedflib or edfio read.

The Rust integration tests (rust/core/tests/real_edf.rs) check brainbrr-core
against these values with no Python involved. Regenerate with
``python -m tests.make_real_edf_expected`` when a file is added to tests/data/real-edf/.
``test_expected_fixture_is_current`` checks that the committed file matches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.conftest import REAL_EDF, REPO
from tests.test_edf import REAL_FILES, UNREADABLE, _oracle

FIXTURE = REPO / "rust" / "core" / "tests" / "fixtures" / "real_edf_expected.json"
N_PROBES = 16


def expected() -> dict:
    out = {}
    for name in REAL_FILES:
        if name in UNREADABLE:
            out[name] = {"error": UNREADABLE[name]}
            continue
        oracle, want = _oracle(REAL_EDF / name)
        signals = []
        for label, rate, data in zip(want["labels"], want["rates"], want["data"], strict=True):
            idx = np.unique(np.linspace(0, len(data) - 1, N_PROBES).astype(int)) if len(data) else np.array([], int)
            signals.append(
                {
                    "label": label,
                    "rate": float(rate),
                    "n": len(data),
                    "probe_index": idx.tolist(),
                    "probe_value": [float(v) for v in data[idx]],
                    "sum": float(np.sum(data, dtype=np.float64)),
                }
            )
        out[name] = {"oracle": oracle, "signals": signals}
    return out


def render() -> str:
    return json.dumps(expected(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    FIXTURE.write_text(render())
    print(f"wrote {FIXTURE}")
