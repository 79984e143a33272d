"""Exceptions raised by brainbrr.

Every error brainbrr raises on bad input derives from :class:`BrainbrrError`
and from the builtin that fits it, so ``except ValueError`` keeps working.
Missing files raise the builtin ``FileNotFoundError``.
"""

from __future__ import annotations

__all__ = ["AnnotationError", "BrainbrrError", "DspError", "EdfError", "IngestError", "MontageError", "StoreError"]


class BrainbrrError(Exception):
    """Base class of brainbrr's errors."""


class EdfError(BrainbrrError, ValueError):
    """An EDF/BDF file is malformed; the message names the file and the field."""


class DspError(BrainbrrError, ValueError):
    """A preprocessing parameter or input cannot be used."""


class MontageError(BrainbrrError, ValueError):
    """A recording's channels do not fit the montage (missing or duplicated)."""


class AnnotationError(BrainbrrError, ValueError):
    """An annotation file is malformed, or labels/windows cannot be built.

    The message names the file, the 1-based line and the offending text.
    """


class StoreError(BrainbrrError):
    """A store cannot be created, opened, read or written.

    The message names the store path; a store built with another config lists
    each differing parameter as ``path: stored != requested``.
    """


class IngestError(BrainbrrError):
    """An ingest could not run (unreadable source or file list) or was stopped by ``--strict``."""
