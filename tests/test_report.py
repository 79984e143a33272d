"""`brainbrr report`: one self-contained HTML file with the store's numbers, its failures
escaped, figures inline; rendered by a real headless Chromium when one is installed."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from brainbrr.ingest import ingest
from brainbrr.report import write_report
from tests.conftest import TuszCorpus, run_cli
from tests.test_cli import BAD_STORES, assert_one_error_line

pytest.importorskip("matplotlib", reason="matplotlib (brainbrr[plot]) is not installed")


class _Page(HTMLParser):
    """The tags, the attributes that load something, and the text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.loads: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.loads += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "data")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def report(tusz_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    proc = run_cli("brainbrr", "report", tusz_store, "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote {out}"
    return out


def test_report_is_self_contained(report: Path) -> None:
    page = _parse(report.read_text())
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    # Histogram plus 4 example windows, all inline.
    assert len(page.loads) == 5 and all(src.startswith("data:image/png;base64,") for src in page.loads)


def test_report_holds_the_store_numbers(report: Path, tusz_store: Path, tusz_corpus: TuszCorpus) -> None:
    import json

    from brainbrr import _native

    text = " ".join(_parse(report.read_text()).text)
    splits = json.loads(_native.store_info(tusz_store))["index"]["splits"]
    for name, st in splits.items():
        assert f"{st['seizure_seconds']:.1f}" in text, name
        for t, sec in st["seizure_seconds_by_type"].items():
            assert f"{sec:.1f} s" in text and t in text
    # Every failure and skip of the corpus, with its reason words.
    for rel, words in {**tusz_corpus.failed, **tusz_corpus.skipped}.items():
        assert rel in text
        assert all(w in text for w in words), rel
    assert "bandpass.low" in text and "window_s" in text


def test_report_escapes_what_comes_from_the_store(small_corpus_template: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus_template, corpus)
    evil = corpus / "edf" / "train" / '<img src=x onerror=alert(1)>&"q".edf'
    evil.write_bytes(b"not an EDF at all" * 20)
    store = tmp_path / "s.zarr"
    ingest(corpus, store, n_jobs=2)
    out = write_report(store, tmp_path / "r.html", examples=1)
    html = out.read_text()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;q&quot;.edf" in html
    page = _parse(html)
    assert all(src.startswith("data:") for src in page.loads)


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary found (apt-get install chromium): the report was not rendered")
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         # Nothing may load from the network: every host resolves to nothing.
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--screenshot={shot}", "--window-size=1280,3000",
         report.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0 and shot.is_file(), proc.stderr
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1280)
    # Rendered, not blank: dark text and the red seizure shading both appear.
    rgb = pixels[..., :3]
    assert (rgb.sum(axis=2) < 0.6).mean() > 0.002
    assert np.any((rgb[..., 0] > 0.9) & (rgb[..., 1] < 0.85) & (rgb[..., 1] > 0.6))


@pytest.mark.parametrize("case", list(BAD_STORES))
def test_report_and_plot_on_bad_stores(tmp_path: Path, case: str) -> None:
    make, words = BAD_STORES[case]
    path = make(tmp_path)
    assert_one_error_line(run_cli("brainbrr", "report", path, "--out", tmp_path / "r.html"), path, words)
    assert not (tmp_path / "r.html").exists()
    if case in ("missing", "foreign zarr group"):
        proc = run_cli("brainbrr", "plot", path, "--recording", "x", "--start", "0", "--out", tmp_path / "x.png")
        assert_one_error_line(proc, path, words)


def test_report_of_a_store_without_seizures(tmp_path: Path) -> None:
    from brainbrr.synthetic import write_recording

    folder = tmp_path / "corpus" / "edf" / "eval" / "aaaaaaaa" / "s001_2010" / "01_tcp_ar"
    folder.mkdir(parents=True)
    write_recording(folder / "aaaaaaaa_s001_t000.edf", fs=256, duration_s=70)
    ingest(tmp_path / "corpus", tmp_path / "s.zarr", n_jobs=1)
    page = _parse(write_report(tmp_path / "s.zarr", tmp_path / "r.html").read_text())
    text = " ".join(page.text)
    assert "No seizure events in the store." in text and "Every file found was ingested." in text
    assert page.loads == []


def test_a_long_patient_id_is_cut_in_titles(small_corpus_template: Path, tmp_path: Path) -> None:
    """Regression: a crafted 400,000-character patient id made `brainbrr report` take 32 s
    (every glyph of the example plots' titles drawn on each layout pass); titles now show
    its first characters."""
    import zarr

    from brainbrr.dataset import ZarrWindowDataset
    from brainbrr.plot import TITLE_FIELD_CHARS, plot_segment

    store = tmp_path / "s.zarr"
    ingest(small_corpus_template, store, n_jobs=2)
    group = zarr.open_group(store, mode="r+")
    old = group["index/recordings/patient"]
    patient = "<script>&amp;" + "p" * 400_000
    data = np.asarray([patient] * old.shape[0], dtype=old.dtype)
    del group["index/recordings/patient"]
    group.create_array("index/recordings/patient", data=data, chunks=old.chunks)
    ds = ZarrWindowDataset(store, drop_unlabeled=False)
    title = plot_segment(ds, 0, 0.0, 10.0).axes[0].get_title(loc="left")
    assert f"patient {patient[: TITLE_FIELD_CHARS - 1]}\u2026 |" in title and len(title) < 400, title[:500]
    proc = run_cli("brainbrr", "report", store, "--out", tmp_path / "r.html", "--examples", "1")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text()
    assert "<script>" not in html and "p" * TITLE_FIELD_CHARS not in html
