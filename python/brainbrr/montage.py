"""Montage: pick and order a recording's channels, interpolate missing ones.

EDF labels are matched to the montage case-insensitively after removing the
``EEG`` prefix and the ``-REF`` / ``-LE`` / ``-AR`` suffix; T7/T8/P7/P8 read as
T3/T4/T5/T6. Missing FZ and/or PZ are interpolated with spherical splines,
exactly as MNE's ``Raw.interpolate_bads()`` does on ``standard_1020`` positions.

A montage config is a mapping with the fields of the ``montage`` entry of the
preprocessing config (``channels``, ``aliases``, ``strip_prefixes``,
``strip_suffixes``, ``interpolate``); absent fields take their defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from brainbrr import _native

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "STANDARD_CHANNELS",
    "apply_montage",
    "interpolation_matrix",
    "normalize_label",
    "pick_channels",
]

#: The 19 channels of the default montage, in output order.
STANDARD_CHANNELS: tuple[str, ...] = tuple(_native.default_montage_channels())


def _config_json(config: Mapping[str, Any] | None) -> str | None:
    return None if config is None else json.dumps(dict(config))


def normalize_label(label: str, config: Mapping[str, Any] | None = None) -> str:
    """Return the montage name an EDF channel label stands for.

    Parameters
    ----------
    label : str
        An EDF signal label, e.g. ``"EEG T7-LE"``.
    config : mapping | None
        Montage config; ``None`` for the defaults.

    Returns
    -------
    name : str
        Upper-case name after prefix/suffix removal and aliases, e.g. ``"T3"``.
        Labels of other signals come back cleaned (``"PHOTIC-REF"`` ->
        ``"PHOTIC"``) and match no montage channel.

    Raises
    ------
    brainbrr.MontageError
        If ``config`` is invalid.
    """
    return _native.normalize_label(label, _config_json(config))


def pick_channels(
    labels: Sequence[str], config: Mapping[str, Any] | None = None
) -> list[int | None]:
    """Match a recording's labels to the montage's electrodes.

    Parameters
    ----------
    labels : sequence of str
        The EDF signal labels of one recording, in file order.
    config : mapping | None
        Montage config; ``None`` for the defaults.

    Returns
    -------
    sources : list of int | None
        One entry per electrode (the channels of a referential montage, the
        electrodes of the pairs of a bipolar one, in order of first
        appearance): the index in ``labels`` of its signal, or ``None`` when
        it is interpolated or a missing optional electrode.

    Raises
    ------
    brainbrr.MontageError
        If two labels name the same channel (the message names the channel and
        the labels), if channels that cannot be interpolated are missing (the
        message lists all of them), or if ``config`` is invalid.
    """
    return _native.pick_channels(list(labels), _config_json(config))


def apply_montage(
    labels: Sequence[str],
    signals: Sequence[npt.ArrayLike],
    config: Mapping[str, Any] | None = None,
) -> npt.NDArray[np.float64]:
    """Build the montage matrix of a recording, interpolating missing channels.

    With ``{"kind": "tcp"}`` (or ``"bipolar"`` and ``"pairs"``), each row is
    the difference of two electrodes' signals (interpolated first if needed);
    a row needing a missing optional electrode (A1/A2 for ``tcp``) is zeros.

    Parameters
    ----------
    labels : sequence of str
        The EDF signal labels of one recording.
    signals : sequence of array_like
        One 1-D signal per label (same length for the picked ones), in
        physical units; converted to contiguous float64.
    config : mapping | None
        Montage config; ``None`` for the defaults.

    Returns
    -------
    data : ndarray of float64, shape (n_channels, n_times)
        The montage channels in order; interpolated electrodes as MNE's
        ``interpolate_bads`` computes them.

    Raises
    ------
    brainbrr.MontageError
        As :func:`pick_channels`, or if the picked signals differ in length.
    ValueError
        If ``signals`` and ``labels`` differ in length.
    """
    import numpy as np  # here, not at the top: the CLI never loads numpy

    arrays = [np.ascontiguousarray(s, dtype=np.float64) for s in signals]
    return _native.apply_montage(list(labels), arrays, _config_json(config))


def interpolation_matrix(good: Sequence[str], bad: Sequence[str]) -> npt.NDArray[np.float64]:
    """Return the spherical-spline matrix from good to bad electrodes.

    The head sphere is fitted to good and bad electrodes together, as MNE does
    for a recording that holds exactly these channels.

    Parameters
    ----------
    good : sequence of str
        Electrodes to interpolate from (``standard_1020`` names, any case).
    bad : sequence of str
        Electrodes to interpolate.

    Returns
    -------
    matrix : ndarray of float64, shape (len(bad), len(good))
        ``bad_signals = matrix @ good_signals``.

    Raises
    ------
    brainbrr.MontageError
        If a name has no ``standard_1020`` position, fewer than 4 positions
        remain to fit the head sphere, or ``good`` is empty.
    """
    return _native.interpolation_matrix(list(good), list(bad))
