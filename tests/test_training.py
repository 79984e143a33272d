"""docs/training.md's recipes, run as the page gives them (one process, then two gloo
ranks on the CPU): each rank takes the optimizer steps its share of the epoch makes,
and the loss is finite."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from brainbrr.dataset import ZarrWindowDataset
from brainbrr.ingest import ingest
from tests.conftest import REPO
from tests.test_batches import _free_port

DOC = REPO / "docs" / "training.md"
BATCH = 2
WORLD = 2
#: The line each recipe ends with; a script run in one process names no rank.
REPORT = re.compile(r"(?:rank (\d+): )?(\d+) optimizer steps, last loss (\S+)")


@pytest.fixture(scope="module")
def store(small_corpus_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("training") / "s.zarr"
    ingest(small_corpus_template / "edf", out)
    return out


@pytest.fixture(scope="module")
def draws(store: Path) -> int:
    """The windows a balanced_sampler draws an epoch in one process: the labeled windows of the recipes' split."""
    labels = ZarrWindowDataset(store, split="train").labels
    return int(((labels == 0) | (labels == 1)).sum())


def _scripts(folder: Path) -> None:
    """Write the page's scripts into ``folder``: each ```python block whose first line is ``# NAME.py``."""
    blocks = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", DOC.read_text(), re.S)
    assert {name for name, _ in blocks} == {"detector.py", "train.py", "train_ddp.py", "train_lightning.py"}
    for name, code in blocks:
        (folder / name).write_text(code)


def _run(folder: Path, *argv: str | int | Path) -> dict[int, tuple[int, float]]:
    """Run a command in ``folder`` on the CPU; each rank's ``(optimizer steps, last loss)``."""
    env = os.environ | {
        "CUDA_VISIBLE_DEVICES": "",  # the CPU and gloo, also on a machine with GPUs
        "OMP_NUM_THREADS": "1",  # two ranks on two cores, not each with every core
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
    }
    args = [sys.executable, *map(str, argv), "--epochs", "1", "--batch-size", str(BATCH)]
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (folder / "detector.pt").is_file(), "the weights are saved"
    ranks = {int(r or 0): (int(steps), float(loss)) for r, steps, loss in REPORT.findall(done.stdout)}
    assert all(math.isfinite(loss) for _, loss in ranks.values()), done.stdout
    return ranks


def _steps(windows: int) -> int:
    return -(-windows // BATCH)


def _share(windows: int) -> int:
    return -(-windows // WORLD)


def test_one_device(store: Path, draws: int, tmp_path: Path) -> None:
    _scripts(tmp_path)
    ranks = _run(tmp_path, "train.py", store)
    assert {r: s for r, (s, _) in ranks.items()} == {0: _steps(draws)}


def test_torchrun(store: Path, draws: int, tmp_path: Path) -> None:
    _scripts(tmp_path)
    # --standalone: torchrun's rendezvous takes a free port of its own.
    ranks = _run(tmp_path, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", WORLD, "train_ddp.py", store)
    assert {r: s for r, (s, _) in ranks.items()} == {r: _steps(_share(draws)) for r in range(WORLD)}


def _lightning(folder: Path, store: Path) -> dict[int, int]:
    ranks = _run(folder, "train_lightning.py", store, "--accelerator", "cpu", "--devices", WORLD)
    return {r: s for r, (s, _) in ranks.items()}


def test_lightning(store: Path, draws: int, tmp_path: Path) -> None:
    _scripts(tmp_path)
    assert _lightning(tmp_path, store) == {r: _steps(_share(draws)) for r in range(WORLD)}


def test_lightning_with_its_distributed_sampler_halves_each_rank(store: Path, draws: int, tmp_path: Path) -> None:
    """The page's pitfall: Lightning's default shares out the per-rank draws again."""
    _scripts(tmp_path)
    script = tmp_path / "train_lightning.py"
    code = script.read_text()
    assert code.count("use_distributed_sampler=False") == 1
    script.write_text(code.replace("use_distributed_sampler=False", "use_distributed_sampler=True"))
    halved = _steps(_share(_share(draws)))
    assert halved < _steps(_share(draws))
    assert _lightning(tmp_path, store) == {r: halved for r in range(WORLD)}
