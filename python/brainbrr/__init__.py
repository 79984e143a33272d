"""brainbrr: EEG corpora to training batches.

EDF files are decoded, preprocessed and windowed once, in parallel, in Rust;
training reads windows back as views of memory-mapped arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brainbrr._native import EdfRecording, __version__, read_edf, write_edf
from brainbrr.chunks import rid_to_path
from brainbrr.errors import (
    AnnotationError,
    BrainbrrError,
    ConfigError,
    DspError,
    EdfError,
    IngestError,
    LabelError,
    MontageError,
    StoreError,
    StrictStop,
)
from brainbrr.montage import (
    STANDARD_CHANNELS,
    apply_montage,
    interpolation_matrix,
    normalize_label,
    pick_channels,
)
from brainbrr.preprocessing import PreprocessConfig, default_config, preprocess

if TYPE_CHECKING:
    from brainbrr.dataset import ZarrWindowDataset, balanced_sampler

#: Names imported on first use: they import torch, which takes seconds.
_LAZY = {"ZarrWindowDataset": "brainbrr.dataset", "balanced_sampler": "brainbrr.dataset"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'brainbrr' has no attribute {name!r}")


__all__ = [
    "STANDARD_CHANNELS",
    "AnnotationError",
    "BrainbrrError",
    "ConfigError",
    "DspError",
    "EdfRecording",
    "EdfError",
    "IngestError",
    "LabelError",
    "MontageError",
    "PreprocessConfig",
    "StoreError",
    "StrictStop",
    "ZarrWindowDataset",
    "__version__",
    "apply_montage",
    "balanced_sampler",
    "default_config",
    "interpolation_matrix",
    "normalize_label",
    "pick_channels",
    "preprocess",
    "read_edf",
    "rid_to_path",
    "write_edf",
]
