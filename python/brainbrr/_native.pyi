"""Type stubs of the native extension ``brainbrr._native``."""

from __future__ import annotations

__version__: str

# --- edf ---

# --- preprocessing (dsp, config) ---

# --- montage ---
