"""Exceptions raised by brainbrr.

Every error brainbrr raises on bad input derives from :class:`BrainbrrError`
and from the builtin that fits it, so ``except ValueError`` keeps working.
Missing files raise the builtin ``FileNotFoundError``.
"""

from __future__ import annotations

__all__ = [
    "AnnotationError",
    "BrainbrrError",
    "ConfigError",
    "DspError",
    "EdfError",
    "GatherError",
    "IngestError",
    "LabelError",
    "MontageError",
    "StoreError",
    "StrictStop",
    "WindowIndexError",
]


class BrainbrrError(Exception):
    """Base class of brainbrr's errors."""


class EdfError(BrainbrrError, ValueError):
    """An EDF/BDF file is malformed; the message names the file and the field."""


class DspError(BrainbrrError, ValueError):
    """A preprocessing parameter or input cannot be used."""


class MontageError(BrainbrrError, ValueError):
    """A recording's channels do not fit the montage (missing or duplicated)."""


class ConfigError(DspError):
    """A preprocessing config cannot be used: it does not parse, names an
    unknown key, or a parameter is out of range (the message names it).

    A :class:`DspError`, as it was before it had a class of its own.
    """


class LabelError(BrainbrrError, ValueError):
    """An annotation file is malformed, or labels/windows cannot be built.

    The message names the file, the 1-based line and the offending text.
    The Rust core's ``LabelError``.
    """


#: The name :class:`LabelError` had before it took the Rust core's name.
AnnotationError = LabelError


class StoreError(BrainbrrError):
    """A store cannot be created, opened, read or written.

    The message names the store path; a store built with another config lists
    each differing parameter as ``path: stored != requested``.
    """


class IngestError(BrainbrrError):
    """An ingest could not run (unreadable source or file list, a source inside the store)."""


class GatherError(BrainbrrError, ValueError):
    """Windows could not be gathered into a batch (a wrong buffer, a chunk file of the wrong size)."""


class WindowIndexError(BrainbrrError, IndexError):
    """A window that lies outside the store's recordings."""


class StrictStop(IngestError):
    """``strict=True``: a recording failed and the ingest stopped; the message is its reason."""
