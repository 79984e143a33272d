"""Shared fixtures: where the real EDF files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Real EDF/BDF files from the wild (see SOURCES.md there); CI lays ``shared/`` beside the clone.
REAL_EDF = Path(os.environ.get("BRAINBRR_REAL_EDF", REPO.parent / "shared" / "data" / "real-edf"))


@pytest.fixture(scope="session")
def real_edf_dir() -> Path:
    if not REAL_EDF.is_dir():
        pytest.fail(f"real EDF files not found at {REAL_EDF}; set BRAINBRR_REAL_EDF")
    return REAL_EDF
