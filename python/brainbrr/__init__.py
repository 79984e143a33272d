"""brainbrr: EEG corpora to training batches.

EDF files are decoded, preprocessed and windowed once, in parallel, in Rust;
training reads windows back as views of memory-mapped arrays.
"""

from __future__ import annotations

from brainbrr._native import EdfRecording, __version__, read_edf
from brainbrr.errors import BrainbrrError, DspError, EdfError, MontageError

__all__ = [
    "BrainbrrError",
    "DspError",
    "EdfRecording",
    "EdfError",
    "MontageError",
    "__version__",
    "read_edf",
]
