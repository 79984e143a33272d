"""`ds.plot(i)` and `brainbrr plot`: the traces, the shaded seizure samples (against the labels
zarr-python reads), the type named, and clear errors (no matplotlib, a bad recording or time)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from brainbrr.dataset import ZarrWindowDataset
from brainbrr.plot import find_recording, plot_segment
from tests.conftest import read_array, run_cli

pytest.importorskip("matplotlib", reason="matplotlib (brainbrr[plot]) is not installed")


def _spans(ax) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    """The (x0, x1, colour) of the axvspan patches of ``ax``."""
    from matplotlib.colors import to_hex

    out = []
    for p in ax.patches:
        # A Rectangle since matplotlib 3.9, a Polygon before.
        xs = np.array([p.get_x(), p.get_x() + p.get_width()]) if hasattr(p, "get_width") else p.get_xy()[:, 0]
        out.append((float(xs.min()), float(xs.max()), to_hex(p.get_facecolor(), keep_alpha=False)))
    return sorted(out)


def test_plot_window_shades_the_seizure_samples_and_names_the_type(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store)
    i = int(np.flatnonzero((ds.labels == 1) & (ds.seizure_fractions < 0.9))[0])  # a seizure edge inside the window
    info = ds.info(i)
    fig = ds.plot(i)
    [ax] = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ds.channels
    assert len(ax.lines) == len(ds.channels)
    t0, t1 = ax.get_xlim()
    assert t0 == pytest.approx(info["start_s"]) and t1 == pytest.approx(info["start_s"] + 60.0)
    a = info["start"]
    labels = read_array(tusz_store, f"recordings/{info['recording']}/label")[a : a + ds.window_samples]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], labels == 1, [0]]).astype(np.int8)))
    want = [((a + s) / ds.fs, (a + e) / ds.fs) for s, e in zip(edges[::2], edges[1::2], strict=True)]
    spans = _spans(ax)
    assert want and [c for *_, c in spans] == ["#d62728"] * len(want)
    assert np.allclose([sp[:2] for sp in spans], want)
    texts = [t.get_text() for t in ax.texts]
    assert f" seizure: {info['type']}" in texts
    assert info["recording"] in ax.get_title(loc="left") and info["type"] in ax.get_title(loc="left")


def test_plot_segment_of_background_and_of_an_unlabeled_recording(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    unlabeled = next(
        r for r, rid in enumerate(ds.rids) if np.all(read_array(tusz_store, f"recordings/{rid}/label") == 255)
    )
    ax = plot_segment(ds, unlabeled, 10.0, 20.0).axes[0]
    assert [s[2] for s in _spans(ax)] == ["#7f7f7f"] and "unlabeled" in [t.get_text().strip() for t in ax.texts]
    quiet = next(r for r, rid in enumerate(ds.rids) if not read_array(tusz_store, f"recordings/{rid}/label").any())
    ax = plot_segment(ds, ds.rids[quiet], 0.0, 5.0).axes[0]
    assert _spans(ax) == [] and "no seizure" in ax.get_title(loc="left")
    # Cut at the end of the recording.
    end = int(ds.n_samples[quiet]) / ds.fs
    assert plot_segment(ds, quiet, end - 2.0).axes[0].get_xlim()[1] == pytest.approx(end)


def test_recordings_are_found_by_id_path_or_unique_part(tusz_store: Path) -> None:
    ds = ZarrWindowDataset(tusz_store, drop_unlabeled=False)
    rid = next(r for r in ds.rids if r.endswith("aaaazzzz_s002_t008.edf"))
    r = ds.rids.index(rid)
    assert find_recording(ds, rid) == find_recording(ds, rid.replace("~", "/")) == r
    assert find_recording(ds, "aaaazzzz_s002_t008") == r
    with pytest.raises(ValueError, match="matches .* recordings"):
        find_recording(ds, "aaaazzzz_s002")
    with pytest.raises(ValueError, match="no recording 'aaaazzzz_s002_t018'.*did you mean"):
        find_recording(ds, "aaaazzzz_s002_t018")
    with pytest.raises(ValueError, match=r"start 10000 s is outside .* \(0 to 200 s\)"):
        plot_segment(ds, r, 1e4)


def test_cli_plot_writes_png_and_svg(tusz_store: Path, tmp_path: Path) -> None:
    png, svg = tmp_path / "w.png", tmp_path / "w.svg"
    for out in (png, svg):
        proc = run_cli("brainbrr", "plot", tusz_store, "--recording", "aaaazzzz_s002_t008", "--start", "90", "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"wrote {out}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert ET.parse(svg).getroot().tag.endswith("svg")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--recording", "nope", "--start", "0", "--out", "x.png"), "no recording 'nope'"),
        (("--recording", "aaaazzzz_s002_t008", "--start", "-5", "--out", "x.png"), "start -5 s is outside"),
        (("--recording", "aaaazzzz_s002_t008", "--start", "0", "--out", "x.jpg"), "must end in .png, .svg or .pdf"),
    ],
)
def test_cli_plot_errors_are_one_line(tusz_store: Path, tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    proc = run_cli("brainbrr", "plot", tusz_store, *[str(tmp_path / a) if a.startswith("x.") else a for a in args])
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and words in line


def test_without_matplotlib_the_message_says_what_to_install(tusz_store: Path, tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; from brainbrr.cli import main; "
        f"sys.exit(main(['plot', {str(tusz_store)!r}, '--recording', 'aaaazzzz_s002_t008', '--start', '0', "
        f"'--out', {str(tmp_path / 'x.png')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "pip install 'brainbrr[plot]'" in proc.stderr and "Traceback" not in proc.stderr
