"""The ingest, from Python: a corpus of EDF files into one Zarr store."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brainbrr import _native
from brainbrr.preprocessing import ConfigLike, PreprocessConfig

__all__ = ["ingest"]


def ingest(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: ConfigLike = None,
    *,
    n_jobs: int = 0,
    overwrite: bool = False,
    wait: bool = False,
    strict: bool = False,
    zstd_level: int | None = None,
    files: str | os.PathLike[str] | None = None,
    layout: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Ingest every EDF/BDF file under ``source`` into the store ``out``.

    Parameters
    ----------
    source : path-like or str
        Corpus root; every ``*.edf``, ``*.EDF`` and ``*.bdf`` below it is ingested.
        An ``s3://bucket/prefix`` URL lists the bucket instead (credentials and
        endpoint as the AWS tools take them: ``AWS_*`` variables, ``~/.aws``);
        each recording is downloaded with its annotations, a few ahead of the
        workers, and deleted once committed.
    out : path-like
        The Zarr store; created, or continued when it exists with the same config.
    config : PreprocessConfig, mapping, str or None
        Preprocessing overrides merged onto the defaults (see
        :meth:`brainbrr.PreprocessConfig.from_overrides`); stored in the store.
    n_jobs : int
        Recordings processed at once; 0 uses every core.
    overwrite : bool
        Empty the store and rebuild it (refused when ``source`` lies inside ``out``).
    wait : bool
        When another process is writing the store, wait for it instead of
        raising :class:`brainbrr.StoreError` naming it. Only one process writes
        a store at a time (an OS lock on the store folder, released when the
        writer exits, however it exits); readers never wait.
    strict : bool
        Stop at the first failed recording (raises).
    zstd_level : int, optional
        Compress signal chunks with zstd (archives; not zero-copy to read).
    files : path-like, optional
        A file listing the recordings to ingest, one path per line relative to ``source``.
    layout : str, optional
        How split, patient and session are read from each file's path relative
        to ``source``. Default: both TUSZ layouts (v2
        ``edf/<split>/<patient>/<session>/<montage>/<patient>_sNNN_tNNN.edf``,
        v1 ``edf/<split>/<montage>/<group>/<patient>/<session>/...``): the
        split is the folder named train, dev or eval wherever it sits, patient
        and session come from the file name. Other corpora give a pattern of
        path segments: ``"{split}/{patient}/**"``, ``"**/{tusz}"``,
        ``"{patient}/*"`` (tokens ``{split}`` ``{patient}`` ``{session}``
        ``{montage}`` ``{tusz}``, ``*`` one segment, ``**`` any number). A
        path that does not fit is ingested with the fields it lacks empty and
        named in the summary's ``warnings``.
    progress : callable, optional
        Called with each progress event (a dict with an ``"event"`` key).

    Returns
    -------
    dict
        The summary: counts, skipped and failed recordings with reasons, hours,
        windows, store size.

    Raises
    ------
    brainbrr.StoreError
        The store exists with another config (the differences are named), or
        another process is writing it (its pid and host are named).
    KeyboardInterrupt
        On Ctrl-C, after the workers stopped; committed recordings are kept.
    """
    callback = None if progress is None else (lambda event: progress(json.loads(event)))
    summary = _native.ingest(
        location(source),
        Path(out),
        PreprocessConfig.from_overrides(config).json,
        jobs=n_jobs,
        overwrite=overwrite,
        wait=wait,
        strict=strict,
        zstd_level=zstd_level,
        files=None if files is None else Path(files),
        layout=layout,
        progress=callback,
    )
    return json.loads(summary)


def location(path: str | os.PathLike[str]) -> str | Path:
    """``path`` as the native module takes it: an ``s3://`` URL kept as written
    (``Path`` would fold its ``//``), anything else a local path."""
    return path if isinstance(path, str) and path.startswith("s3://") else Path(path)
