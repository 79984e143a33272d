"""The ingest, from Python: a corpus of EDF files into one Zarr store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from brainbrr import _native
from brainbrr._native import IngestOptions
from brainbrr.errors import IngestError
from brainbrr.ingest_types import Event, Indexing, Recording, SplitStats, Started, Summary, event_from_dict
from brainbrr.preprocessing import ConfigLike, PreprocessConfig

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Event", "Indexing", "IngestOptions", "Recording", "SplitStats", "Started", "Summary", "ingest", "ingest_with"]


#: One source, or several local folders.
Sources: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def ingest(
    source: Sources,
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
    progress: Callable[[Event], object] | None = None,
    client: Client | None = None,
    stage: str | os.PathLike[str] | None = None,
    corpus: str | None = None,
) -> Summary:
    """Ingest every EDF/BDF file under ``source`` into the store ``out``.

    Parameters
    ----------
    source : path-like or str, or a sequence of them
        Corpus root; every ``*.edf``, ``*.EDF`` and ``*.bdf`` below it is ingested.
        An ``s3://bucket/prefix`` URL lists the bucket instead (credentials and
        endpoint as the AWS tools take them: ``AWS_*`` variables, ``~/.aws``);
        each recording is downloaded with its annotations, a few ahead of the
        workers, and deleted once committed. Several local folders
        (``["tusz", "chbmit", "siena"]``) go into one store, each read as its
        own corpus; a recording's path then starts with its folder's name
        (``chbmit/chb01/chb01_03.edf``), so folders must have distinct names.
    out : path-like or str
        The Zarr store; created, or continued when it exists with the same config.
        An ``s3://bucket/prefix`` URL writes the store to object storage: the
        recordings go to a local staging store (``stage``) and each is uploaded
        once committed (its arrays, then its ``zarr.json``: a reader never sees
        half of one), the index and then the root last. One writer at a time,
        by a lease object taken with a conditional PUT (``.brainbrr-lock``,
        renewed every 20 s, taken over after 2 min without renewal; a writer
        whose lease was taken over publishes nothing more and raises).
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
        named in the summary's ``warnings``. A corpus other than TUSZ reads
        them from its own names (see ``corpus``) unless a pattern is given.
    corpus : {"tusz", "chbmit", "siena", "seizeit", "bids"}, optional
        Read ``source`` as this corpus: where its annotations are (CHB-MIT's
        summaries, Siena's seizure lists, SeizeIT's ``_a1.tsv``, BIDS
        ``_events.tsv``) and how it names patients, sessions and runs. Default:
        the corpus the recordings' names fit (TUSZ when none does; names that
        fit several raise ``IngestError`` naming them).
    progress : callable, optional
        Called with each progress event: :class:`Started` once the sources are
        listed, :class:`Recording` as each recording is done, :class:`Indexing`
        before the index is rebuilt.
    stage : path-like, optional
        The staging folder of a store on object storage (default: this
        process's own in this user's ``brainbrr-stage-<uid>`` of the system's
        temporary folder, removed at the end); it holds the recordings in flight and
        every recording's labels, never the whole store.
    client : distributed.Client, optional
        Run the recordings on this Dask cluster. This process lists the sources,
        holds the store's writer lock and rebuilds the index at the end; each
        task ingests a batch of recordings on a worker, reading its sources and
        writing the store by the same paths (a shared file system) or URLs
        (``s3://``: the workers need the ``AWS_*`` settings; each downloads its
        recordings and publishes what it commits), and returns their outcomes. A task whose worker dies is retried elsewhere; a
        recording whose tasks killed workers repeatedly (Dask's
        ``distributed.scheduler.allowed-failures``) or whose worker could not
        run it fails with the reason. ``n_jobs`` then sets the threads of the
        index rebuild here; the workers run one recording per Dask thread.

    Returns
    -------
    Summary
        Counts, skipped and failed recordings with reasons, hours, windows,
        store size, per-split statistics (``Summary.to_dict()``: the JSON that
        ``brainbrr-ingest --json`` prints).

    Raises
    ------
    brainbrr.StoreError
        The store exists with another config (the differences are named), or
        another process is writing it (its pid and host are named).
    KeyboardInterrupt
        On Ctrl-C, after the workers stopped; committed recordings are kept.
    """
    options = IngestOptions(
        n_jobs=n_jobs,
        overwrite=overwrite,
        wait=wait,
        strict=strict,
        zstd_level=zstd_level,
        files=files,
        layout=layout,
        stage=stage,
        corpus=corpus,
    )
    return ingest_with(source, out, config, options, progress=progress, client=client)


def ingest_with(
    source: Sources,
    out: str | os.PathLike[str],
    config: ConfigLike,
    options: IngestOptions,
    *,
    progress: Callable[[Event], object] | None = None,
    client: Client | None = None,
) -> Summary:
    """:func:`ingest` with its options built once (by :func:`ingest` or the CLI),
    passed whole to the local run or, with ``client``, to the driver and its tasks."""
    config_json = PreprocessConfig.from_overrides(config).json
    sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if client is not None:
        if len(sources) != 1:
            raise IngestError(f"a Dask ingest takes one source, not {len(sources)}: ingest each into the store in turn")
        return _ingest_on_dask(client, sources[0], out, config_json, options, progress)
    summary = _native.ingest([location(s) for s in sources], location(out), config_json, options, progress=_typed(progress))
    return Summary.from_dict(summary)


def _typed(progress: Callable[[Event], object] | None) -> Callable[[dict[str, Any]], object] | None:
    """The native module's callback (an event in the core's serde form) for a typed one."""
    return None if progress is None else (lambda event: progress(event_from_dict(event)))


#: Tasks per Dask thread: enough for the load to balance (the last tasks are
#: the smallest), few enough that scheduling stays a small part of the time.
TASKS_PER_THREAD = 4


def batches(queue: Sequence[tuple[str, int]], threads: int) -> list[list[tuple[str, int]]]:
    """Cut the queue (largest first) into tasks of about equal bytes, largest first.

    A recording larger than a task's share is a task of its own; the small ones
    at the end are grouped, so each task costs its scheduling once.
    """
    total = sum(b for _, b in queue)
    target = total / max(1, threads * TASKS_PER_THREAD)
    out: list[list[tuple[str, int]]] = []
    size = 0
    for item in queue:
        if not out or size + item[1] > target:
            out.append([])
            size = 0
        out[-1].append(item)
        size += item[1]
    return out


#: How long an interrupted driver waits for its running tasks to stop.
STOP_TIMEOUT_S = 60


def _ingest_on_dask(
    client: Client,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config_json: str,
    options: IngestOptions,
    progress: Callable[[Event], object] | None,
) -> Summary:
    """The driver of a distributed ingest (see :func:`ingest`)."""
    import distributed

    emit = progress or (lambda event: None)
    # Local paths absolute, so that workers started elsewhere resolve the same ones.
    source, out = (p if isinstance(p, str) and p.startswith("s3://") else os.path.abspath(p) for p in (source, out))
    driver = _native.IngestDriver([location(source)], location(out), config_json, options)
    futures: list[Any] = []
    try:
        emit(event_from_dict(driver.started()))
        threads = sum(client.nthreads().values())
        if threads == 0:
            raise IngestError(f"the Dask cluster at {client.scheduler.address} has no workers")
        queue = driver.queue()
        rel_of = {os.fspath(p): rel for p, rel, _, _ in queue}
        remote_of = {os.fspath(p): remote for p, _, _, remote in queue}
        work = batches([(os.fspath(p), b) for p, _, b, _ in queue], threads)
        tasks = [[(p, b, remote_of[p]) for p, b in batch] for batch in work]
        keys = [f"brainbrr-ingest-{driver.run_id}-{i}" for i in range(len(work))]
        futures = client.map(
            _ingest_batch, tasks, source=source, out=out, config_json=config_json, run=driver.run_id, options=driver.options, key=keys
        )
        batch_of = {f.key: b for f, b in zip(futures, work, strict=True)}
        for future in distributed.as_completed(futures):
            summary, events = _batch_result(future, [(rel_of[p], b) for p, b in batch_of[future.key]])
            if summary.get("cancelled"):
                raise IngestError(f"{out}: a task was stopped: the store is no longer ingested by run {driver.run_id}")
            stop = driver.absorb(summary)
            for event in events:
                emit(event)
            if stop:
                client.cancel(futures)
                break
    except BaseException:
        # Ctrl-C, SIGTERM, an error here: the tasks see the run marked
        # interrupted and stop within a recording's stage; wait for them
        # before letting go of the store, as a local run waits for its threads.
        try:
            driver.stop()
            with contextlib.suppress(TimeoutError):
                distributed.wait(futures, timeout=STOP_TIMEOUT_S)
        finally:
            client.cancel(futures)
            driver.finish(cancelled=True)
        raise
    return Summary.from_dict(driver.finish(progress=_typed(progress)))


def _ingest_batch(batch: list[tuple[str, int, dict[str, Any] | None]], source: str, out: str, **kwargs: Any) -> dict[str, Any]:
    """A Dask task: one batch into the store (see ``_native.ingest_batch``).

    Its result is the core's serde form in plain dicts and lists, which pickle
    anywhere; the partial summary goes back to the native driver as it came.
    """
    return _native.ingest_batch(location(source), location(out), batch=batch, **kwargs)


def _batch_result(future: Any, batch: list[tuple[str, int]]) -> tuple[dict[str, Any], list[Event]]:
    """What a task did: its partial summary (the core's serde form, for
    ``IngestDriver.absorb``) and its events. A task that raised fails each of its
    recordings (``batch``: path relative to the source, bytes) with the reason.

    That includes a worker that cannot open the store and a batch whose
    workers died more often than Dask allows (``KilledWorker``).
    """
    try:
        part = future.result()
    except Exception as e:  # noqa: BLE001 - any task error is the batch's recordings' reason
        reason = f"on Dask worker: {type(e).__name__}: {e}"
        summary = {"failed": [(path, f"{path}: {reason}") for path, _ in batch], "source_bytes": 0}
        return summary, [Recording(path, "failed", f"{path}: {reason}", b) for path, b in batch]
    return part["summary"], [event_from_dict(e) for e in part["events"]]


def location(path: str | os.PathLike[str]) -> str | Path:
    """``path`` as the native module takes it: an ``s3://`` URL kept as written
    (``Path`` would fold its ``//``), anything else a local path."""
    return path if isinstance(path, str) and path.startswith("s3://") else Path(path)
