"""Per-channel seizure targets (``label="channel"``).

A TUSZ ``.csv`` names the channel of the TCP bipolar montage each seizure is
seen on (``FP1-F7``); the ingest keeps those rows per recording (the index's
``channel_seizures`` table, in stored samples). A window's target is, for each
of the store's channels, the fraction of its samples inside a seizure seen on
that channel. A row names a store channel by its name, or, in a store of a
referential montage, the two electrodes of its pair (``FP1-F7`` is ``FP1``
and ``F7``); a row that names no store channel refuses the option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclasses.dataclass(frozen=True)
class ChannelSeizures:
    """One recording's seizures per store channel: disjoint sample ranges
    ``[start, stop)`` of channel ``channel``, sorted by channel and start."""

    channel: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    stop: npt.NDArray[np.int64]


def _store_channels(name: str, channels: list[str]) -> list[int]:
    """The store channels that annotation channel ``name`` stands for."""
    upper = [c.upper() for c in channels]
    if name.upper() in upper:
        return [upper.index(name.upper())]
    if all("-" not in c for c in upper):  # a referential store: the pair's electrodes
        return [upper.index(e) for e in name.upper().split("-") if e in upper]
    return []


def per_recording(
    table: dict[str, Any], rows: npt.NDArray[np.int64], channels: list[str], paths: list[str]
) -> list[ChannelSeizures]:
    """The seizures per store channel of index recording rows ``rows`` (their
    ``paths`` name them in errors), from the index's ``channel_seizures`` table.

    Raises
    ------
    ValueError
        A row names a channel that is none of ``channels`` nor, in a
        referential store, a pair of two of them.
    """
    rec = np.asarray(table["recording"], dtype=np.int64)
    start = np.asarray(table["start"], dtype=np.int64)
    stop = np.asarray(table["stop"], dtype=np.int64)
    names: list[str] = list(table["channel"])
    position = {int(r): k for k, r in enumerate(rows)}
    spans: list[list[tuple[int, int, int]]] = [[] for _ in rows]
    mapped: dict[str, list[int]] = {}
    for j in range(rec.size):
        k = position.get(int(rec[j]))
        if k is None:
            continue
        name = names[j]
        if name not in mapped:
            mapped[name] = _store_channels(name, channels)
            if not mapped[name]:
                raise ValueError(
                    f"label='channel': {paths[k]} annotates a seizure on channel {name!r}, which is "
                    f"none of the store's channels ({', '.join(channels)}) nor a pair of two of them; "
                    "ingest with the montage it is annotated on (--montage tcp for TUSZ)"
                )
        spans[k].extend((c, int(start[j]), int(stop[j])) for c in mapped[name])
    return [_merged(s) for s in spans]


def _merged(spans: list[tuple[int, int, int]]) -> ChannelSeizures:
    """``spans`` of ``(channel, start, stop)`` with overlapping or touching ranges of a channel merged."""
    out: list[list[int]] = []
    for c, a, b in sorted(spans):
        if out and out[-1][0] == c and a <= out[-1][2]:
            out[-1][2] = max(out[-1][2], b)
        else:
            out.append([c, a, b])
    cols = np.asarray(out, dtype=np.int64).reshape(-1, 3).T
    return ChannelSeizures(cols[0].copy(), cols[1].copy(), cols[2].copy())


def targets(
    seizures: Sequence[ChannelSeizures | None],
    rec: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    window: int,
    n_channels: int,
) -> npt.NDArray[np.float32]:
    """``[len(rec), n_channels]``: the fraction of each window (recording
    ``rec``, first sample ``start``, ``window`` samples) in a seizure seen on
    each channel."""
    out = np.zeros((rec.size, n_channels), dtype=np.float64)
    for k, (r, a) in enumerate(zip(rec.tolist(), start.tolist(), strict=True)):
        s = seizures[r]
        if s is None:
            raise ValueError(f"recording {r} was opened without its channel seizures (label='channel')")
        inside = np.clip(np.minimum(s.stop, a + window) - np.maximum(s.start, a), 0, None)
        np.add.at(out[k], s.channel, inside)
    return (out / window).astype(np.float32)
