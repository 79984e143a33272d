"""A store summarised as one self-contained HTML file a researcher can send.

Config, per-split statistics (the numbers of ``brainbrr info --json``, which
the ingest computed from the stored labels), seizure events per type, a
histogram of seizure durations, failed and skipped files with their reasons,
warnings, and a few example windows with seizures. Styles are inline and
figures are PNG data URIs: the file opens anywhere, without network access.
Everything that comes from the store (paths, reasons, ids) is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import os
from collections import Counter, defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import brainbrr
from brainbrr import _native
from brainbrr.events import Event, from_labels
from brainbrr.plot import SEIZURE_COLOR, _figure_class, plot_segment

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from brainbrr.dataset import ZarrWindowDataset

__all__ = ["write_report"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1.5em; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
.sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5em 1em; min-width: 8em; }
.card b { display: block; font-size: 1.4em; }
.card span { color: #57606a; font-size: 0.85em; }
.bad, .card .bad { color: #cf222e; }
.ok, .card .ok { color: #1a7f37; }
table.files td:nth-child(2) { min-width: 22em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.88em; }
td code { overflow-wrap: anywhere; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.9em; }
"""


class _Markup(str):
    """Markup built here from escaped parts: inserted as is."""


def _e(value: Any) -> str:
    """A value for the page: markup built here as is, anything else (from the
    store) escaped for HTML text and attributes."""
    return value if isinstance(value, _Markup) else html.escape(str(value), quote=True)


def _code(value: Any) -> _Markup:
    """A path, id or key from the store in monospace, escaped."""
    return _Markup(f"<code>{_e(value)}</code>")


def _png(fig: Figure, dpi: int = 80) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(head: list[str], rows: list[list[Any]], numeric: Collection[int] = (), cls: str = "") -> str:
    """An HTML table of class ``cls``, every cell through :func:`_e`; columns ``numeric`` right-aligned."""

    def cell(tag: str, k: int, v: Any) -> str:
        cls = ' class="num"' if k in numeric else ""
        return f"<{tag}{cls}>{_e(v)}</{tag}>"

    out = [f'<table class="{cls}"><tr>' + "".join(cell("th", k, h) for k, h in enumerate(head)) + "</tr>"]
    out += ["<tr>" + "".join(cell("td", k, v) for k, v in enumerate(row)) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def _flat(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A nested config as ``(dotted.key, value)`` rows."""
    if isinstance(config, dict) and config:
        return [row for k, v in config.items() for row in _flat(v, f"{prefix}.{k}" if prefix else str(k))]
    return [(prefix, json.dumps(config) if isinstance(config, dict | list) or config is None else config)]


def _histogram(events: list[Event]) -> str:
    """A stacked histogram of seizure durations by type, log-spaced bins; as an ``<img>``."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = _figure_class()(figsize=(9, 3.6), layout="constrained")
    ax = fig.add_subplot()
    durations = np.array([e.duration_s for e in events])
    lo, hi = max(durations.min(), 0.1), max(durations.max(), 1.0)
    bins = np.geomspace(lo, hi * 1.001, 25) if hi > lo else np.array([lo * 0.9, lo * 1.1])
    by_type = Counter(e.type for e in events)
    names = [t for t, _ in by_type.most_common()]
    ax.hist(
        [[e.duration_s for e in events if e.type == t] for t in names],
        bins=bins.tolist(), stacked=True, label=[f"{t} ({by_type[t]})" for t in names],
    )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("seizure duration (s, log scale)")
    ax.set_ylabel("events")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, title="type (events)", title_fontsize=8)
    median = float(np.median(durations))
    ax.axvline(median, color=SEIZURE_COLOR, linestyle="--", linewidth=1)
    ax.text(median, 1.0, f" median {median:.1f} s", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
    return f'<img alt="histogram of seizure durations" src="{_png(fig, 90)}">'


def _examples(ds: ZarrWindowDataset, events: list[Event], n: int) -> list[tuple[Event, str]]:
    """Up to ``n`` events, one per type first (most common types first), from
    distinct recordings where possible, each plotted in a window that shows its onset."""
    by_type: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_type[e.type].append(e)
    queues = sorted(by_type.values(), key=len, reverse=True)
    picked: list[Event] = []
    seen: set[str] = set()
    while len(picked) < n and any(queues):
        for q in queues:
            # Prefer a recording not shown yet; else the queue's next event.
            k = next((k for k, e in enumerate(q) if e.rid not in seen), 0) if q else None
            if k is not None and len(picked) < n:
                e = q.pop(k)
                picked.append(e)
                seen.add(e.rid)
    window_s = ds.window_samples / ds.fs
    out = []
    for e in picked:
        start = max(0.0, e.start_s - window_s / 4)
        out.append((e, _png(plot_segment(ds, e.rid, start, window_s, width=12.0), 90)))
    return out


def write_report(store: str | os.PathLike[str], out: str | os.PathLike[str], *, examples: int = 4) -> Path:
    """Write the HTML report of ``store`` to ``out`` and return its path.

    Parameters
    ----------
    store : path-like
        A brainbrr store whose ingest completed.
    out : path-like
        The HTML file to write (its folder must exist).
    examples : int
        Example windows with seizures to embed (0 for none).

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'brainbrr[plot]'``).
    brainbrr.StoreError
        Not a store, or its index is incomplete.
    """
    from brainbrr.dataset import ZarrWindowDataset

    _figure_class()  # fail before reading anything when matplotlib is missing
    store = Path(store)
    meta = json.loads(_native.store_info(store))  # what `brainbrr info --json` prints
    index = meta.get("index", {})
    splits: dict[str, dict[str, Any]] = index.get("splits", {})
    ds = ZarrWindowDataset(store, drop_unlabeled=False)
    failures = _native.StoreReader(store).index()["failures"]
    events_by_rid = from_labels(ds)
    events = [e for evs in events_by_rid.values() for e in evs]
    split_of = dict(zip(ds.rids, ds.splits, strict=True))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>brainbrr report: {_e(store.name)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>brainbrr store report</h1>",
        f'<p class="sub">{_code(store.resolve())}<br>written '
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by brainbrr {_e(brainbrr.__version__)}</p>",
    ]
    n_skip = failures["kind"].count("skipped")
    n_fail = len(failures["kind"]) - n_skip
    cards = [
        (index.get("recordings", len(ds.rids)), "recordings"),
        (f"{index.get('hours', float(ds.n_samples.sum()) / ds.fs / 3600):.1f}", "hours"),
        (len({p for p in ds.patients if p}), "patients"),
        (len(events), "seizure events"),
        (f"{sum(e.duration_s for e in events) / 60:.1f}", "seizure minutes"),
        (f"{index.get('store_bytes', 0) / 1e9:.2f}", "GB stored"),
        (_Markup(f'<span class="{"bad" if n_fail else "ok"}">{n_fail}</span>'), "failed files"),
        (n_skip, "skipped files"),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for v, k in cards)
        + "</div>"
    )

    parts.append("<h2>Per split</h2>")
    rows = [
        [name or "(none)", st["recordings"], st["patients"], f"{st['hours']:.2f}", st["windows"],
         st["seizure_windows"], st["seizure_events"], f"{st['seizure_seconds']:.1f}", st["unlabeled_recordings"]]
        for name, st in sorted(splits.items())
    ]
    parts.append(_table(
        ["split", "recordings", "patients", "hours", "windows", "seizure windows", "seizure events",
         "seizure s", "unlabeled recordings"],
        rows, numeric=set(range(1, 9)),
    ))
    types = sorted({t for st in splits.values() for t in st.get("seizure_seconds_by_type", {})} | {e.type for e in events})
    if types:
        count = Counter((split_of[e.rid], e.type) for e in events)
        parts.append("<p>Seizure events and seconds per type (an event is a maximal run of seizure samples, "
                     "typed by the type most of its samples carry):</p>")
        rows = [
            [name or "(none)"] + [
                f"{count[(name, t)]} / {st.get('seizure_seconds_by_type', {}).get(t, 0.0):.1f} s"
                if count[(name, t)] or st.get("seizure_seconds_by_type", {}).get(t) else ""
                for t in types
            ]
            for name, st in sorted(splits.items())
        ]
        parts.append(_table(["split"] + types, rows, numeric=set(range(1, len(types) + 1))))

    parts.append("<h2>Seizure durations</h2>")
    if events:
        parts.append(f"<figure>{_histogram(events)}<figcaption>{len(events)} events; durations of maximal runs "
                     "of seizure samples, all splits.</figcaption></figure>")
    else:
        parts.append("<p>No seizure events in the store.</p>")

    if examples > 0 and events:
        parts.append("<h2>Example windows with seizures</h2>")
        for e, src in _examples(ds, events, examples):
            parts.append(
                f'<figure><img alt="{_e(e.rid)}" src="{src}"><figcaption>{_e(e.type)} seizure of '
                f"{e.duration_s:.1f} s at {e.start_s:.1f} s in {_code(e.rid)} "
                f"({_e(split_of[e.rid] or 'no split')})</figcaption></figure>"
            )

    parts.append("<h2>Failed and skipped files</h2>")
    if len(failures["path"]):
        rows = [
            ["skipped" if k == "skipped" else _Markup('<span class="bad">failed</span>'), _code(p), r]
            for p, k, r in zip(failures["path"], failures["kind"], failures["reason"], strict=True)
        ]
        parts.append(_table(["", "file", "reason"], rows, cls="files"))
    else:
        parts.append('<p class="ok">Every file found was ingested.</p>')
    warnings = index.get("warnings", [])
    if warnings:
        parts.append("<h2>Warnings</h2>")
        parts.append(_table(["file", "warning"], [[_code(p or "store"), w] for p, w in warnings]))

    parts.append("<h2>Config</h2>")
    channels = meta.get("channels", [])
    parts.append(
        f"<p>{len(channels)} channels at {meta.get('fs', 0):g} Hz: {_e(', '.join(channels))}; "
        f"config hash {_code(meta.get('config_hash', ''))}</p>"
    )
    parts.append(_table(["parameter", "value"], [[_code(k), v] for k, v in _flat(meta.get("config", {}))]))
    parts.append("</body></html>\n")

    out = Path(out)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
