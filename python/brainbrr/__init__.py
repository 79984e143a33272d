"""brainbrr: EEG corpora to training batches.

EDF files are decoded, preprocessed and windowed once, in parallel, in Rust;
training reads windows back as views of memory-mapped arrays.
"""

from __future__ import annotations

from brainbrr._native import EdfRecording, __version__, read_edf
from brainbrr.errors import BrainbrrError, DspError, EdfError, MontageError
from brainbrr.montage import (
    STANDARD_CHANNELS,
    apply_montage,
    interpolation_matrix,
    normalize_label,
    pick_channels,
)
from brainbrr.preprocessing import PreprocessConfig, default_config, preprocess

__all__ = [
    "STANDARD_CHANNELS",
    "BrainbrrError",
    "DspError",
    "EdfRecording",
    "EdfError",
    "MontageError",
    "PreprocessConfig",
    "__version__",
    "apply_montage",
    "default_config",
    "interpolation_matrix",
    "normalize_label",
    "pick_channels",
    "preprocess",
    "read_edf",
]
