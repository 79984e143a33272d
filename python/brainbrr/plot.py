"""Looking at a store: a stretch of a recording as stacked traces, its seizure
samples shaded and named.

Needs matplotlib (``pip install 'brainbrr[plot]'``). Figures are made with
``matplotlib.figure.Figure``, not pyplot: no GUI backend, no global state, and
Jupyter still shows the returned figure.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import numpy as np

from brainbrr.events import runs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from brainbrr.dataset import ZarrWindowDataset

__all__ = ["find_recording", "plot_segment", "plot_window"]

SEIZURE_COLOR = "#d62728"
UNLABELED_COLOR = "#7f7f7f"
#: The most characters of a store's patient, session or split a title shows:
#: matplotlib draws every glyph of a title on each layout pass, so a crafted
#: 400,000-character patient id made one report take 32 s.
TITLE_FIELD_CHARS = 80


def _short(text: str) -> str:
    return text if len(text) <= TITLE_FIELD_CHARS else text[: TITLE_FIELD_CHARS - 1] + "\u2026"


def _figure_class() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            "brainbrr's plots and report need matplotlib, which is not installed: "
            "pip install 'brainbrr[plot]' (or pip install matplotlib)"
        ) from e
    return Figure


def find_recording(ds: ZarrWindowDataset, recording: int | str) -> int:
    """The position in ``ds.rids`` of ``recording``: a position, a recording id,
    its source path (``edf/train/.../x.edf``), or a part of the id that only
    one recording has (``aaaaaaac_s001_t000``)."""
    if isinstance(recording, int | np.integer):
        if not 0 <= int(recording) < len(ds.rids):
            raise ValueError(f"recording {int(recording)} out of range: the dataset has {len(ds.rids)}")
        return int(recording)
    for wanted in (recording, recording.replace("/", "~")):
        if wanted in ds.rids:
            return ds.rids.index(wanted)
    matches = [r for r, rid in enumerate(ds.rids) if recording in rid]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(ds.rids[r] for r in matches[:5])
        raise ValueError(f"recording {recording!r} matches {len(matches)} recordings ({names}, ...); give more of its id")
    near = difflib.get_close_matches(recording, ds.rids, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(near)}?" if near else f"; ids look like {ds.rids[0]!r}" if ds.rids else ""
    raise ValueError(f"no recording {recording!r} in {ds.path} ({len(ds.rids)} recordings){hint}")


def plot_segment(
    ds: ZarrWindowDataset,
    recording: int | str,
    start_s: float,
    seconds: float = 60.0,
    *,
    width: float = 12.0,
) -> Figure:
    """Channels of ``recording`` from ``start_s`` for ``seconds`` as stacked traces.

    The time axis is in seconds from the start of the recording; seizure
    samples are shaded red and each run is named by the seizure type most of
    its samples carry; unlabeled samples (no annotation) are shaded grey.
    Traces are the stored (z-scored) signals, all at one scale, stated in
    the corner.

    Parameters
    ----------
    ds : ZarrWindowDataset
        The dataset to read from (its recording list: open it with
        ``drop_unlabeled=False`` to reach every recording).
    recording : int or str
        See :func:`find_recording`.
    start_s, seconds : float
        The stretch; it is cut at the end of the recording.
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure_class = _figure_class()
    r = find_recording(ds, recording)
    n = int(ds.n_samples[r])
    duration = n / ds.fs
    if not 0 <= start_s < duration:
        raise ValueError(f"start {start_s:g} s is outside recording {ds.rids[r]!r} (0 to {duration:g} s)")
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, not {seconds:g}")
    a = int(round(start_s * ds.fs))
    b = min(n, a + max(1, int(round(seconds * ds.fs))))
    x = np.asarray(ds._read("signal", r)[:, a:b], dtype=np.float32)
    labels = np.asarray(ds._read("label", r)[a:b])
    t = np.arange(a, b) / ds.fs

    n_channels = x.shape[0]
    fig = figure_class(figsize=(width, 1.4 + 0.32 * n_channels), layout="constrained")
    ax = fig.add_subplot()
    # One scale for every trace, from the typical channel's 99th percentile,
    # so a seizure's larger amplitude stays visible as larger.
    scale = float(np.median(np.percentile(np.abs(x), 99, axis=1))) if x.size else 1.0
    spacing = 2.0 * scale if scale > 0 else 1.0
    offsets = -spacing * np.arange(n_channels)
    ax.plot(t, (x + offsets[:, None]).T, color="black", linewidth=0.5)
    ax.set_yticks(offsets, list(ds.channels), fontsize=8)
    # Room above the first trace for the seizure labels.
    ax.set_ylim(offsets[-1] - spacing, 1.6 * spacing)
    ax.set_xlim(t[0], t[-1] + 1.0 / ds.fs)
    ax.set_xlabel("time (s) from the start of the recording")
    ax.text(
        1.0, 1.0, f"trace spacing {spacing:.3g} (z-scored units)",
        transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#555555",
    )

    names = []
    # The seizure runs of the segment, each named by the type most of its shown samples carry.
    seizures = ds._store().events(ds.rids[r], start=a, stop=b) or ((), (), ())
    for s, e, code in zip(*seizures, strict=True):
        s, e = int(s) - a, int(e) - a
        name = ds.type_names.get(int(code), "seiz")
        names.append(name)
        ax.axvspan(t[s], t[e - 1] + 1.0 / ds.fs, color=SEIZURE_COLOR, alpha=0.15, linewidth=0)
        ax.text(
            t[s], spacing * 1.05, f" seizure: {name}", color=SEIZURE_COLOR, fontsize=9, fontweight="bold",
            va="bottom", ha="left", clip_on=True, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
        )
    for s, e in zip(*runs(labels == 255), strict=True):
        ax.axvspan(t[s], t[e - 1] + 1.0 / ds.fs, color=UNLABELED_COLOR, alpha=0.12, linewidth=0, hatch="//")
        ax.text(t[s], spacing * 1.05, " unlabeled", color=UNLABELED_COLOR, fontsize=9, va="bottom", clip_on=True)

    what = (
        f"seizure ({', '.join(sorted(set(names)))})" if names
        else "unlabeled (no annotation)" if labels.size and np.all(labels == 255) else "no seizure"
    )
    fields = (("patient", ds.recording_patients[r]), ("session", ds.sessions[r]), ("split", ds.splits[r]))
    where = [f"{k} {_short(v)}" for k, v in fields if v]
    where += [f"{t[0]:.1f}-{t[-1] + 1.0 / ds.fs:.1f} s", what]
    ax.set_title(f"{ds.rids[r]}\n{' | '.join(where)}", fontsize=10, loc="left")
    return fig


def plot_window(ds: ZarrWindowDataset, i: int, **kwargs: Any) -> Figure:
    """Window ``i`` of ``ds`` (as ``ds[i]`` reads it) with :func:`plot_segment`."""
    info = ds.info(i)
    return plot_segment(ds, info["recording_index"], info["start_s"], ds.window_samples / ds.fs, **kwargs)
