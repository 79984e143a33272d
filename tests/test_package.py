"""The package surface: stubs match the extension, the CLI runs, errors are mapped."""

from __future__ import annotations

import subprocess
import sys

import brainbrr


def test_stubs_match_the_extension() -> None:
    """mypy.stubtest checks _native.pyi against the compiled module."""
    run = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "brainbrr._native", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_errors_derive_from_builtins() -> None:
    assert issubclass(brainbrr.EdfError, ValueError)
    assert issubclass(brainbrr.EdfError, brainbrr.BrainbrrError)
    assert issubclass(brainbrr.MontageError, ValueError)


def test_cli_edf_and_version(real_edf_dir) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "brainbrr.cli", "edf", str(real_edf_dir / "test_uneven_samp.edf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "EDF, 2 signals" in out and "warning: unreadable start date/time" in out
    bad = subprocess.run(
        [sys.executable, "-m", "brainbrr.cli", "edf", str(real_edf_dir / "Invalid DataRecord Count.edf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "Invalid DataRecord Count.edf: no data" in bad.stderr
