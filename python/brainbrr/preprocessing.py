"""Preprocessing of ``[channels, samples]`` EEG: resample, filter, normalize.

The work is done in Rust (``brainbrr._native``); this module merges config
overrides onto the defaults and converts arguments. The defaults come from the
Rust side (:func:`default_config`), so they are written down once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from brainbrr import _native
from brainbrr.errors import DspError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["PreprocessConfig", "default_config", "preprocess"]

#: What every ``config`` argument accepts.
ConfigLike: TypeAlias = "PreprocessConfig | Mapping[str, Any] | str | None"


def default_config() -> dict[str, Any]:
    """Return the default preprocessing config as a nested dict.

    Returns
    -------
    dict
        256 Hz by FFT resampling, Butterworth order 3 0.5-120 Hz, 60 Hz notch
        (Q 30), causal filtering, per-channel z-score (eps 1e-8), no clip,
        60 s windows every 10 s, float32, the 19-channel montage.
    """
    return json.loads(_native.default_config_json())


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[key] = dataclasses.asdict(value)
        else:
            out[key] = value
    return out


class PreprocessConfig(_native.PreprocessConfig):
    """A validated preprocessing config: the Rust struct the ingest uses.

    Build it with :meth:`from_overrides` (or from JSON,
    ``PreprocessConfig(json)``); equal configs are ``==``, hash alike and
    have equal :attr:`json` and :attr:`hash`, whatever the order or spelling
    of the overrides. Pickles as its JSON.

    Attributes
    ----------
    json : str
        Canonical JSON (keys sorted, no whitespace): what a store records.
    hash : str
        SHA-256 (hex) of :attr:`json`.
    target_fs, window_s, stride_s : float
        Output rate (Hz), window length and stride (s).
    channels : list of str
        The stored channel names, in order.
    """

    __slots__ = ()

    @classmethod
    def from_overrides(cls, config: ConfigLike = None) -> PreprocessConfig:
        """Merge ``config`` onto the defaults and validate it.

        Parameters
        ----------
        config : PreprocessConfig, mapping, str or None
            A config; a (nested) mapping of overrides, e.g.
            ``{"bandpass": {"high": 100.0}, "notch": None}`` (``None``
            disables a step); a dataclass instance with such fields; or a
            config as JSON. Left-out parameters take their defaults; where
            ``bandpass.high`` is left out it follows ``target_fs`` (120 Hz,
            or 120/128 of a lower Nyquist frequency: 93.75 Hz at 200 Hz),
            and a left-out notch is dropped when 60 Hz is not below Nyquist.
            ``{"montage": {"kind": "tcp"}}`` selects the 22-channel TCP
            bipolar montage (see the README).

        Returns
        -------
        PreprocessConfig

        Raises
        ------
        brainbrr.DspError
            If a parameter is unknown, of the wrong type or out of range; the
            message names it by its dotted path (``bandpass.high: ...``).
        """
        if isinstance(config, PreprocessConfig):
            return config
        if config is None:
            return cls(_native.default_config_json())
        if isinstance(config, str):
            return cls(config)
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if not isinstance(config, Mapping):
            raise DspError(f"config must be a mapping, a dataclass, JSON or None, not {type(config).__name__}")
        # Rust fills what is left out, some defaults from others given
        # (``bandpass.high`` follows ``target_fs``), so the overrides go as they are.
        return cls(json.dumps(_merge({}, config)))

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a nested dict."""
        return json.loads(self.json)

    def replace(self, **overrides: Any) -> PreprocessConfig:
        """Return a copy with (nested) overrides merged in."""
        return PreprocessConfig.from_overrides(_merge(self.to_dict(), overrides))

    def diff(self, other: ConfigLike) -> list[tuple[str, str, str]]:  # type: ignore[override]
        """Name the parameters that differ from ``other``.

        Returns
        -------
        list of (path, self's value, other's value)
            Dotted paths such as ``"bandpass.high"``, values as JSON.
        """
        return super().diff(PreprocessConfig.from_overrides(other))


def preprocess(
    x: npt.ArrayLike,
    fs: float,
    config: ConfigLike = None,
) -> tuple[npt.NDArray[np.float32], float]:
    """Resample, filter and normalize a recording.

    Steps, each as its ``scipy.signal`` namesake: resample to
    ``target_fs`` (FFT, or polyphase), Butterworth bandpass, notch (causal
    ``lfilter`` or zero-phase ``filtfilt``), per-channel z-score over the
    whole recording, optional clip. Channels run in parallel in Rust with the
    GIL released (``RAYON_NUM_THREADS`` sets the threads).

    Parameters
    ----------
    x : array_like, shape (n_channels, n_samples)
        Physical samples (e.g. microvolts), channels already in montage order.
    fs : float
        Sampling rate of ``x``, Hz.
    config : PreprocessConfig, mapping, str or None
        Overrides merged onto :func:`default_config` (see
        :meth:`PreprocessConfig.from_overrides`).

    Returns
    -------
    y : ndarray of float32, shape (n_channels, n_out)
        C-contiguous. ``n_out = round(n_samples * target_fs / fs)`` for FFT
        resampling, ``ceil(n_samples * up / down)`` for polyphase.
    fs_out : float
        Sampling rate of ``y``.

    Raises
    ------
    brainbrr.DspError
        For an invalid config, a non-2-D ``x``, or a NaN/infinite sample.

    Notes
    -----
    Zero-phase filtering pads like scipy (odd extension of ``3 * ntaps``);
    a recording no longer than that is padded with ``n_samples - 1``
    instead of raising. A constant channel comes out as zeros when z-scoring.
    """
    cfg = PreprocessConfig.from_overrides(config)
    import numpy as np  # here, not at the top: the CLI never loads numpy

    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise DspError(f"x must be 2-D (n_channels, n_samples), got shape {arr.shape}")
    y, fs_out = _native.preprocess(arr, float(fs), cfg.json)
    return y, fs_out
