"""Every example of README.md and docs/*.md, run as a reader would run it.

Each ```python block runs in a new interpreter of this environment and each
```sh / ```bash / ``` block in bash (``set -euo pipefail``), in a folder laid out
as the pages name it: TUSZ at ``data_ext4/tusz`` (the demo's generated corpus,
shorter recordings), the other corpora beside it (``data_ext4/chbmit`` ...) and
``cache.zarr`` ingested from ``data_ext4/tusz``. A page's blocks share one such
folder and run in page order, as a reader follows the page: a block sees the files
the blocks above it wrote. Each block is a test case of its own, named by page and
block; run alone, it first runs the blocks above it. What a page on object storage
names ``s3://bucket`` is a bucket of the moto server the S3 tests use, holding
``data_ext4/tusz`` under ``tusz/``.

What does not run is explicit and few:

- install steps (``pip``, ``maturin``, ``cargo``, making or entering a virtual
  environment): this environment is installed; only those commands of a line are
  left out, the rest of the line runs;
- a block with ``<!-- not run: REASON -->`` on the line before it: a skipped case
  giving the reason (``test_not_run_blocks_are_few`` lists and bounds them);
- blocks in other languages (```text output, Rust);
- docs/training.md: its scripts are run by tests/test_training.py, which runs them
  on two ranks and checks each rank's optimizer steps; run here too they would only
  cost the time twice.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from brainbrr.ingest import ingest
from brainbrr.synthetic import make_corpus
from tests.conftest import REPO
from tests.corpora import WRITERS

try:  # moto is in the test extra; without it only the pages that name s3:// skip
    from tests.s3server import CREDENTIALS, s3_endpoint  # noqa: F401  (fixture)
except pytest.skip.Exception:
    CREDENTIALS = {}
from tests.test_szcore import szcore  # noqa: F401  (fixture: szcore-evaluation, installed once)

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Run by tests/test_training.py (two ranks, steps per rank checked), not twice.
NOT_HERE = {"docs/training.md"}
SHELL = {"", "sh", "bash", "shell"}
PYTHON = {"python"}
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*$", re.S)
#: Install steps: the test environment is installed already (see the module docstring).
INSTALL = re.compile(r"^(pip3?|python3? -m (pip|venv)|maturin|cargo|(\.|source) \S*bin/activate)(\s|$)")
#: The most blocks the pages may mark not run.
MAX_NOT_RUN = 3
TIMEOUT_S = 180


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository
    index: int  # among the page's run-able (python and shell) blocks
    line: int  # of the opening fence
    lang: str  # "python" or "sh"
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        return f"{self.page}:{self.index}"


def _blocks(path: Path) -> list[Block]:
    text = path.read_text()
    page = path.relative_to(REPO).as_posix()
    out: list[Block] = []
    for m in FENCE.finditer(text):
        lang = m.group(1).lower()
        if lang not in SHELL | PYTHON:
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = NOT_RUN.search(before)
        out.append(
            Block(
                page,
                len(out),
                text.count("\n", 0, m.start()) + 1,
                "python" if lang in PYTHON else "sh",
                m.group(2),
                marked.group(1) if marked else None,
            )
        )
    return out


ALL = [b for p in PAGES for b in _blocks(p)]
RUN = [b for b in ALL if b.page not in NOT_HERE]


def _shell(code: str) -> tuple[str, list[str]]:
    """The block without its install commands, and the commands left out."""
    lines: list[str] = []
    left_out: list[str] = []
    for line in code.splitlines():
        command, _, comment = line.partition(" #")
        kept: list[str] = []
        for part in command.split("&&"):
            (left_out if INSTALL.match(part.strip()) else kept).append(part.strip())
        lines.append(" && ".join(p for p in kept if p) + (f"  #{comment}" if comment and kept else ""))
    return "\n".join(lines), [c for c in left_out if c]


# --- The folder the pages name ------------------------------------------------


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data_ext4/{tusz,chbmit,siena,seizeit,bids} and cache.zarr, made once."""
    root = tmp_path_factory.mktemp("docs-template")
    # The demo's corpus (brainbrr demo: make_corpus, 6 patients) with shorter recordings.
    make_corpus(root / "data_ext4" / "tusz", n_patients=6, duration_s=(70, 120), seed=0)
    for name, write in WRITERS.items():
        write(root / "data_ext4" / name)
    ingest(root / "data_ext4" / "tusz", root / "cache.zarr")
    return root


@dataclass
class Page:
    """One page's folder, environment and the outcomes of its blocks so far."""

    folder: Path
    scripts: Path
    env: dict[str, str]
    done: dict[int, tuple[bool, str]] = field(default_factory=dict)


def _needs(blocks: list[Block], word: str) -> bool:
    return any(word in b.code for b in blocks if b.not_run is None)


@pytest.fixture(scope="session")
def page_of(
    template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str], Page]:
    """A page's folder, made on first use: the template's corpora and a copy of its store."""
    made: dict[str, Page] = {}

    def page(name: str) -> Page:
        if name not in made:
            top = tmp_path_factory.mktemp("docs-" + Path(name).stem)
            folder, scripts, tmp = top / "work", top / "scripts", top / "tmp"
            # The corpora are only read: hard links. The store is written (resumes, re-indexing): a copy.
            shutil.copytree(template / "data_ext4", folder / "data_ext4", copy_function=os.link)
            shutil.copytree(template / "cache.zarr", folder / "cache.zarr")
            scripts.mkdir()
            tmp.mkdir()
            env = os.environ | {
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
                "TMPDIR": str(tmp),  # brainbrr demo's folder, staging folders: gone with the page
                "MPLBACKEND": "Agg",
            }
            blocks = [b for b in RUN if b.page == name]
            if _needs(blocks, "s3://"):
                env |= _bucket(request, template)
            if _needs(blocks, "szcore_evaluation"):
                szcore = str(request.getfixturevalue("szcore"))
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [szcore, env.get("PYTHONPATH")]))
            made[name] = Page(folder, scripts, env)
        return made[name]

    return page


def _bucket(request: pytest.FixtureRequest, template: Path) -> dict[str, str]:
    """``s3://bucket/tusz`` on the session's moto server; the environment that reaches it."""
    if not CREDENTIALS:
        pytest.skip("moto[server] is in the test extra: pip install -e '.[test]'")
    endpoint = request.getfixturevalue("s3_endpoint")
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    try:
        client.create_bucket(Bucket="bucket")
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    tusz = template / "data_ext4" / "tusz"
    for path in sorted(p for p in tusz.rglob("*") if p.is_file()):
        client.upload_file(str(path), "bucket", f"tusz/{path.relative_to(tusz).as_posix()}")
    return {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        # The machine's own AWS files must not reach the examples.
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
    }


# --- Running a block ------------------------------------------------------------


def _run(block: Block, page: Page) -> tuple[bool, str]:
    script = page.scripts / f"block{block.index}.{'py' if block.lang == 'python' else 'sh'}"
    if block.lang == "python":
        script.write_text(block.code)
        argv = [sys.executable, str(script)]
    else:
        code, _ = _shell(block.code)
        script.write_text("set -euo pipefail\n" + code + "\n")
        argv = ["bash", str(script)]
    # A session of its own, so whatever the block leaves running (Dask workers) is ended with it.
    proc = subprocess.Popen(
        argv, cwd=page.folder, env=page.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\n(killed after {TIMEOUT_S} s)"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.returncode == 0, output


def _through(page: Page, blocks: list[Block], index: int) -> tuple[bool, str]:
    """Run the page's blocks up to ``index`` that have not run yet; ``index``'s outcome."""
    for b in blocks[: index + 1]:
        if b.index not in page.done:
            page.done[b.index] = (True, "not run") if b.not_run or not _runs(b) else _run(b, page)
    return page.done[index]


def _runs(block: Block) -> bool:
    """Whether anything of the block is left to run (a block of install steps only has nothing)."""
    return block.lang == "python" or bool(_shell(block.code)[0].strip())


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_block(block: Block, page_of: Callable[[str], Page]) -> None:
    if block.not_run:
        pytest.skip(f"{block.page} line {block.line}: not run: {block.not_run}")
    if not _runs(block):
        pytest.skip(f"{block.page} line {block.line}: install steps only, and this environment is installed")
    blocks = [b for b in RUN if b.page == block.page]
    page = page_of(block.page)
    ok, output = _through(page, blocks, block.index)
    failed_before = [b.id for b in blocks[: block.index] if not page.done[b.index][0]]
    shown = block.code if block.lang == "python" else _shell(block.code)[0]
    assert ok, (
        f"{block.page} line {block.line} ({block.lang}) failed in {page.folder}"
        + (f"; blocks above it failed too: {failed_before}" if failed_before else "")
        + f"\n--- the block as run:\n{shown}\n--- output (last 4000 characters):\n{output[-4000:]}"
    )


# --- What is not run, and what must stay ----------------------------------------


def test_not_run_blocks_are_few() -> None:
    marked = [f"{b.page} line {b.line}: {b.not_run}" for b in RUN if b.not_run]
    print("\n".join(["blocks marked not run:", *marked]))
    assert len(marked) <= MAX_NOT_RUN, marked


def test_readme_keeps_its_two_commands() -> None:
    """The demo line and CI's test line (.ci/run runs it verbatim), each in a fenced block."""
    readme = [b.code.strip() for b in ALL if b.page == "README.md"]
    assert "pip install -e . && brainbrr demo" in readme
    assert 'pip install -e ".[test]" && pytest && cargo test' in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert '\npip install -e ".[test]" && pytest && cargo test\n' in ci
