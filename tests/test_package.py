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
    assert bad.returncode == 2 and "Invalid DataRecord Count.edf: no data" in bad.stderr


def test_demo_runs_the_main_job(tmp_path) -> None:
    """The README's first command: a sample corpus ingested into a store the dataset opens."""
    run = subprocess.run(
        [sys.executable, "-m", "brainbrr.cli", "demo", "--out", str(tmp_path), "--patients", "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "6 found, 6 ingested" in run.stdout and "0 failed" in run.stdout
    assert (tmp_path / "cache.zarr" / "zarr.json").is_file()
    assert f"ZarrWindowDataset({str(tmp_path / 'cache.zarr')!r}" in run.stdout


NO_TORCH = """
import sys
sys.modules["torch"] = None  # as if torch were not installed: any import of it fails
import brainbrr
from brainbrr.cli import main
from brainbrr.ingest import ingest
from brainbrr import events, scoring

status = main(["demo", "--out", sys.argv[1], "--patients", "2"])
assert status == 0, status
assert main(["info", sys.argv[1] + "/cache.zarr"]) == 0
assert main(["verify", sys.argv[1] + "/cache.zarr"]) == 0
try:
    brainbrr.ZarrWindowDataset
except ImportError as e:
    print("refused:", e)
"""


def test_the_ingest_and_the_cli_need_no_torch(tmp_path) -> None:
    """torch is the extra of the training side: the base install ingests and inspects stores."""
    run = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(tmp_path / "demo")], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "refused: brainbrr's dataset needs PyTorch" in run.stdout and "pip install 'brainbrr[torch]'" in run.stdout
