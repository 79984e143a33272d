"""A dataset's store on disk: its index read, its recordings' chunk files
checked, opened and mapped.

Every chunk file is checked (in Rust, against the index, the root and the
store id the dataset opened) before it is read, and checked again when the
file opened is not the one checked: the store may have been rebuilt, or a
remote copy evicted, since. The memory maps of the recordings read last are
kept, and a remote store's shared cache is told which recordings are in use.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from brainbrr import _native
from brainbrr.errors import StoreError

if TYPE_CHECKING:
    from brainbrr.windows import _Recordings

Array = Literal["signal", "label"]

#: Memory maps kept open per process. CPython's ``mmap`` holds a file
#: descriptor per map, and a TUSZ-size store has 7,400 recordings; a view
#: handed out keeps its map alive after eviction.
_MAX_OPEN_MAPS = 256
#: How often a dataset over a remote store records the recordings it read in
#: the shared cache's use records (well within the minute in which a recording
#: used is never evicted).
USE_RECORD_S = 5.0
_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
}
#: Guards the use records: the prefetch thread gathers while the caller reads items.
_USE_LOCK = threading.Lock()


def _after_fork() -> None:
    # A DataLoader worker forked while a prefetch thread held the lock would wait on it forever.
    global _USE_LOCK
    _USE_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def open_reader(
    path: Path, url: str | None, cache_dir: Path | None, cache_bytes: int | None
) -> _native.StoreReader:
    """The store's reader: the folder ``path``, or the remote store ``url`` copied into ``cache_dir``."""
    if url is None:
        return _native.StoreReader(path)
    return _native.StoreReader(url, cache_dir, cache_bytes)


def read_index(reader: _native.StoreReader, allow_incomplete: bool) -> tuple[dict[str, Any], dict[str, Any], np.dtype[Any]]:
    """The store's root metadata, its window index and its signal dtype.

    Raises
    ------
    brainbrr.StoreError
        An incomplete index without ``allow_incomplete``, no readable index,
        or a dtype other than float32 and float16.
    """
    path = reader.path
    meta: dict[str, Any] = json.loads(reader.meta)
    if (
        not meta.get("index", {}).get("complete", False)
        and not allow_incomplete
    ):
        raise StoreError(
            f"{path}: the window index is incomplete (index.complete is false): an ingest is "
            "still running, or was interrupted before it rebuilt the index. Wait for it, or run "
            f"`brainbrr-ingest SOURCE --out {path}` again with the same options (it resumes "
            "and rebuilds the index); pass allow_incomplete=True to open the index as it is."
        )
    try:
        index = reader.index()
    except FileNotFoundError as e:
        raise StoreError(
            f"{path}: no readable window index ({e}); run the ingest to completion"
        ) from e
    dtype = meta.get("config", {}).get("dtype", "float32")
    if dtype not in _DTYPES:
        raise StoreError(
            f"{path}: signal dtype {dtype!r} is neither float32 nor float16"
        )
    return meta, index, _DTYPES[dtype]


def rid_to_path(rid: str) -> str:
    """The source path, relative to its corpus, of recording id ``rid`` (the
    id is that path with ``/`` written ``~`` and other bytes ``%XX``).

    Raises
    ------
    brainbrr.StoreError
        ``rid`` is no recording id, or was shortened with a hash (a path
        over 255 bytes): :attr:`ZarrWindowDataset.paths` holds every path.
    """
    return os.fsdecode(_native.rid_path(rid))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/brainbrr``, else ``~/.cache/brainbrr``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "brainbrr" if base else Path.home() / ".cache" / "brainbrr"


class _ChunkFiles:
    """The chunk files of a dataset's recordings (by position in ``recordings``).

    The reader, the maps and the gatherers are the process's: dropped when
    pickled, so DataLoader workers open their own.
    """

    def __init__(
        self,
        reader: _native.StoreReader,
        url: str | None,
        cache_dir: Path | None,
        cache_bytes: int | None,
        recordings: _Recordings,
        n_channels: int,
        dtype: np.dtype[Any],
        store_id: str | None,
        verify: bool,
    ) -> None:
        self.path: Path = reader.path
        self.url, self.cache_dir, self.cache_bytes = url, cache_dir, cache_bytes
        self.recordings = recordings
        self.n_channels, self.dtype = n_channels, dtype
        self.store_id, self.verify = store_id, verify
        self.reader: _native.StoreReader | None = reader
        #: The last check of each recording, by id: its chunk files and whether they are raw.
        self.checks: dict[str, tuple[str, str, bool]] = {}
        #: Chunk files checked, by path: their identity when checked (see ``open_checked``).
        self.checked_files: dict[str, tuple[int, ...]] = {}
        self.maps: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()
        self.gatherers: dict[str, _native.WindowGatherer] = {}
        self.in_use: set[str] = set()
        self.use_recorded = 0.0
        self.compressed = False

    def of(self, recordings: _Recordings) -> _ChunkFiles:
        """The chunk files of ``recordings``, a subset of these: the reader and the
        checks are shared, the maps and gatherers (by position) are not."""
        other = copy.copy(self)
        other.recordings = recordings
        other.checks = dict(self.checks)
        other.maps, other.gatherers, other.in_use = OrderedDict(), {}, set()
        return other

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(reader=None, maps=OrderedDict(), gatherers={}, in_use=set())
        if self.url is not None:
            # A worker checks its recordings in the cache itself (another may have evicted them).
            state["checks"] = {}
        return state

    def store(self) -> _native.StoreReader:
        """The process's reader of the store."""
        if self.reader is None:  # dropped when pickled: one per process
            self.reader = open_reader(self.path, self.url, self.cache_dir, self.cache_bytes)
        return self.reader

    def checked(self, r: int, again: bool = False) -> tuple[str, str, bool]:
        """Recording ``r``'s chunk files and whether they are memory-mappable,
        checked (in Rust) against the index, the root and the store id this
        dataset opened, and with ``verify``, against their checksums (once);
        ``again``: checked anew, not taken from the last check."""
        rid = self.recordings.rids[r]
        hit = None if again else self.checks.get(rid)
        if hit is None:
            n = int(self.recordings.n_samples[r])
            checksums = self.verify and rid not in self.checks
            signal, label, raw = self.store().recording(rid, n, self.store_id, checksums=checksums)
            if not raw and not self.compressed:
                self.compressed = True
                warnings.warn(
                    f"{self.path} is compressed: windows are decoded on every read, not zero-copy "
                    "memory-mapped views (re-ingest without --zstd for training)",
                    UserWarning,
                    stacklevel=3,
                )
            hit = self.checks[rid] = (str(signal), str(label), raw)
        return hit

    def chunk_path(self, r: int, array: Array) -> str:
        signal, label, _ = self.checked(r)
        return signal if array == "signal" else label

    def note_use(self, recordings: Iterable[int]) -> None:
        """Remember that ``recordings`` were read; every ``USE_RECORD_S`` seconds, tell a
        remote store's shared cache, which evicts the least recently used first."""
        if self.url is None:
            return
        with _USE_LOCK:
            self.in_use.update(self.recordings.rids[r] for r in recordings)
            now = time.monotonic()
            if now - self.use_recorded < USE_RECORD_S:
                return
            used, self.in_use, self.use_recorded = sorted(self.in_use), set(), now
        self.store().record_use(used)

    def read(self, array: Array, r: int) -> np.ndarray:
        """Recording ``r``'s whole ``array``: a copy-on-write memory map, or
        the decoded array of a compressed store."""
        self.note_use((r,))
        key = (r, array)
        hit = self.maps.get(key)
        if hit is not None:
            self.maps.move_to_end(key)
            return hit
        n = int(self.recordings.n_samples[r])
        shape = (self.n_channels, n) if array == "signal" else (n,)
        dtype = self.dtype if array == "signal" else np.dtype(np.uint8)
        if n == 0:
            a = np.zeros(shape, dtype)
        elif not self.checked(r)[2]:
            import zarr

            self.checked(r, again=True)
            node = self.path / "recordings" / self.recordings.rids[r] / array
            a = np.asarray(zarr.open_array(node, mode="r")[...])
        else:
            with self.open_checked(r, array) as f:
                # mode "c": a private mapping. Pages are shared with the page cache
                # until written, and torch gets a writable array (no warning). The
                # shape covers the samples only: a checksum may follow them.
                a = np.memmap(f, dtype=dtype, mode="c", shape=shape)
        self.maps[key] = a
        if len(self.maps) > _MAX_OPEN_MAPS:
            self.maps.popitem(last=False)
        return a

    def open_checked(self, r: int, array: Array) -> BinaryIO:
        """Recording ``r``'s ``array`` chunk file, opened (no link followed) and known
        to be a file that was checked: the store may have been rebuilt, or a remote
        copy evicted, since the last check. A file seen before (same device, inode,
        size and times) was checked then; any other is checked anew, the store id
        too, and used only if the checked path is still the file opened."""
        for _ in range(3):
            path = self.chunk_path(r, array)
            try:
                f = open(path, "rb", opener=_no_follow)  # noqa: SIM115 (returned open)
            except FileNotFoundError:
                # Replaced or evicted: the check says which (and fetches it again).
                self.checked(r, again=True)
                continue
            try:
                held = _identity(os.fstat(f.fileno()))
                if self.checked_files.get(path) == held:
                    return f
                signal, label, _ = self.checked(r, again=True)
                checked = signal if array == "signal" else label
                now = _identity(os.stat(checked, follow_symlinks=False))
            except BaseException:
                f.close()
                raise
            if now == held:
                self.checked_files[checked] = held
                return f
            f.close()
        raise StoreError(
            f"{self.path}: recording {self.recordings.rids[r]} keeps changing while it is opened "
            "(is the store being rewritten?)"
        )

    def gather(
        self,
        rec: npt.NDArray[np.int64],
        start: npt.NDArray[np.int64],
        window: int,
        dst: np.ndarray,
        io: str,
        used: npt.NDArray[np.int64],
    ) -> None:
        """Fill ``dst`` with the ``window`` samples from ``start`` of recordings ``rec``
        (Rust threads, GIL released), read with ``io``; ``used``: every recording the
        dataset's windows name (the others are never gathered: no path to check)."""
        # Every recording is checked before it is read: by `read` when decoding,
        # and when the gatherer is made, for all the dataset's recordings.
        if self.compressed:
            for k, (r, a) in enumerate(zip(rec.tolist(), start.tolist(), strict=True)):
                dst[k] = self.read("signal", r)[:, a : a + window]
            return
        if self.url is not None:
            self.note_use(np.unique(rec).tolist())
        gatherer = self.gatherers.get(io)
        if gatherer is None:
            present = set(np.unique(used).tolist())
            paths = [self.checked(r)[0] if r in present else "" for r in range(len(self.recordings))]
            gatherer = self.gatherers[io] = _native.WindowGatherer(
                paths,
                [int(n) for n in self.recordings.n_samples],
                self.n_channels,
                self.dtype.name,
                io=io,
            )
        if self.dtype == np.float16:
            dst = dst.view(np.uint16)
        gatherer.gather(rec, start, dst)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What tells one file from another that replaced it (an inode number alone may be reused)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
