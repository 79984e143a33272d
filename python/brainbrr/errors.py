"""Exceptions raised by brainbrr.

Every error brainbrr raises on bad input derives from :class:`BrainbrrError`
and from the builtin that fits it, so ``except ValueError`` keeps working.
Missing files raise the builtin ``FileNotFoundError``.
"""

from __future__ import annotations

__all__ = ["BrainbrrError", "DspError", "EdfError", "MontageError"]


class BrainbrrError(Exception):
    """Base class of brainbrr's errors."""


class EdfError(BrainbrrError, ValueError):
    """An EDF/BDF file is malformed; the message names the file and the field."""


class DspError(BrainbrrError, ValueError):
    """A preprocessing parameter or input cannot be used."""


class MontageError(BrainbrrError, ValueError):
    """A recording's channels do not fit the montage (missing or duplicated)."""
