"""Reading a store: a map-style torch Dataset of windows, and a batch loader.

Items are views of memory-mapped signal chunks (no copy, no decode). The batch
path, :meth:`ZarrWindowDataset.batches`, gathers windows with Rust threads
(GIL released) into pinned host memory and copies them to the GPU on a side
stream while the previous batch is in use.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import sys
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset, Sampler

from brainbrr import _native
from brainbrr.errors import StoreError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ZarrWindowDataset", "balanced_sampler"]

LabelMode = Literal["any", "fraction", "per_sample", "type"]

#: Memory maps kept open per process. CPython's ``mmap`` holds a file
#: descriptor per map, and a TUSZ-size store has 7,400 recordings; a view
#: handed out keeps its map alive after eviction.
_MAX_OPEN_MAPS = 256
#: How often a dataset over a remote store records the recordings it read in
#: the shared cache's use records (well within the minute in which a recording
#: used is never evicted).
USE_RECORD_S = 5.0
_USE_LOCK = threading.Lock()

_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
}


def _member(values: list[str], wanted: Sequence[str], what: str) -> npt.NDArray[np.bool_]:
    """Which ``values`` are ``wanted``; a wanted value the store does not hold is an error."""
    held = set(values)
    missing = sorted(set(wanted) - held)
    if missing:
        have = ", ".join(repr(v) for v in sorted(held)[:20]) + (" ..." if len(held) > 20 else "")
        raise ValueError(f"no {what} {', '.join(map(repr, missing))} in the store; it holds: {have or 'none'}")
    return np.fromiter((v in set(wanted) for v in values), bool, len(values))


class ZarrWindowDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Windows of a brainbrr store (format 1) as a map-style torch Dataset.

    Opening reads the index tables only (never the recordings), so a store
    of TUSZ size opens in well under a second.

    Parameters
    ----------
    store : path-like or str
        The Zarr store written by ``brainbrr-ingest``, or an ``s3://bucket/prefix``
        URL of one (credentials and endpoint as the AWS tools take them). A
        remote store's root and index are downloaded when it is opened, each
        recording the first time it is read (checked against its CRC-32C) into
        ``cache_dir``; from then on windows are views of the local files, as
        for a local store.
    split : str or sequence of str, optional
        Keep the recordings of these splits (``"train"``, ``"dev"``, ``"eval"``).
        A split the store does not hold raises ``ValueError`` listing those it has.
    patients : sequence of str, optional
        Keep the recordings of these patients (each must be in the store).
    window_s, stride_s : float, optional
        Window length and stride in seconds; default the ingest's. Other values
        rebuild the window index from the recordings' stored labels (in Rust,
        by the ingest's own rule), with no re-ingest. A window longer than
        every recording raises ``ValueError``.
    label : {"any", "fraction", "per_sample", "type"}
        ``y`` of an item: the window label (int64: 0 background, 1 seizure,
        255 unlabeled), the seizure fraction (float32), the per-sample
        labels (uint8 ``[T]``, a view like ``x``), or the window's seizure
        type (int64 code, the type most of its seizure samples carry; 0
        background; names in :attr:`type_names`).
    drop_unlabeled : bool
        Leave out windows of unlabeled recordings (label 255, no annotation
        file), the default for training: a BCE loss must never see y=255.
        ``False`` keeps them (e.g. to run a model over every window).
    require_channels : bool
        Leave out recordings with a channel stored as zeros because an
        optional electrode is missing (the A1-T3 and T4-A2 channels of a TCP
        montage of a recording without A1/A2, e.g. TUSZ's 03_tcp_ar_a).
        :attr:`channel_present` gives the mask per recording either way.
    transform : callable, optional
        Applied to ``x`` in ``__getitem__`` (not by :meth:`batches`). It gets a
        copy of the window, which it may change in place: an in-place
        augmentation never reaches the store's mapping or later items.
    allow_incomplete : bool
        Open a store whose index is marked incomplete (an ingest running or
        interrupted); the index may then miss recordings.
    cache_dir : path-like, optional
        Where a remote store's copy lives (default ``$XDG_CACHE_HOME/brainbrr``
        or ``~/.cache/brainbrr``). Several processes (DataLoader workers, DDP
        ranks of one machine) may share it.
    cache_bytes : int, optional
        Bound on the copy's recordings: past it, the least recently used are
        evicted (never one used in the last minute; a process that mapped a
        recording keeps its mapping). Default: no bound.
    verify : bool
        Check each recording's chunk checksums (CRC-32C) the first time it is
        mapped in a process: a damaged or edited chunk raises instead of being
        served. Reads each recording once more (at several GB/s).

    Raises
    ------
    brainbrr.StoreError
        Not a format-1 store, an incomplete index without ``allow_incomplete``,
        or an index that does not match the store (a recording id naming a path
        outside it, windows outside their recording). A recording whose chunks
        disagree with the index or the root (length, channels, dtype, codec,
        file size), or a store overwritten since it was opened, raises when the
        recording is first read: wrong data is never served.
    FileNotFoundError
        ``store`` does not exist.

    Notes
    -----
    Memory maps are opened lazily in each process and dropped when pickled,
    so DataLoader workers work under ``fork`` and ``spawn``. Without a
    transform, items are views of the map; it is copy-on-write, so writing to
    an item changes that process's copy (and overlapping windows), never the store.
    """

    def __init__(
        self,
        store: str | os.PathLike[str],
        split: str | Sequence[str] | None = None,
        patients: Sequence[str] | None = None,
        window_s: float | None = None,
        stride_s: float | None = None,
        label: LabelMode = "any",
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        allow_incomplete: bool = False,
        verify: bool = False,
        drop_unlabeled: bool = True,
        require_channels: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_bytes: int | None = None,
    ) -> None:
        if label not in ("any", "fraction", "per_sample", "type"):
            raise ValueError(
                f"label must be 'any', 'fraction', 'per_sample' or 'type', not {label!r}"
            )
        self.label = label
        self.transform = transform
        self.verify = verify
        #: The ``s3://`` URL of a remote store, and where its local copy lives.
        self.url: str | None = store if isinstance(store, str) and store.startswith("s3://") else None
        self.cache_dir: Path | None = None
        if self.url is not None:
            self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self.cache_bytes = cache_bytes
        self.path = Path(store) if self.url is None else Path()
        reader = self._open_reader()
        #: The store's folder (a remote store's local copy).
        self.path = reader.path
        self.meta: dict[str, Any] = json.loads(reader.meta)
        self.store_id: str | None = self.meta.get("store_id")
        if (
            not self.meta.get("index", {}).get("complete", False)
            and not allow_incomplete
        ):
            raise StoreError(
                f"{self.path}: the window index is incomplete (index.complete is false): an ingest is "
                "still running, or was interrupted before it rebuilt the index. Wait for it, or run "
                f"`brainbrr-ingest SOURCE --out {self.path}` again with the same options (it resumes "
                "and rebuilds the index); pass allow_incomplete=True to open the index as it is."
            )
        try:
            index = reader.index()
        except FileNotFoundError as e:
            raise StoreError(
                f"{self.path}: no readable window index ({e}); run the ingest to completion"
            ) from e
        self.channels: list[str] = list(self.meta["channels"])
        self.fs = float(self.meta["fs"])
        dtype = self.meta.get("config", {}).get("dtype", "float32")
        if dtype not in _DTYPES:
            raise StoreError(
                f"{self.path}: signal dtype {dtype!r} is neither float32 nor float16"
            )
        self.dtype: np.dtype[Any] = _DTYPES[dtype]

        recs = index["recordings"]
        all_splits, all_patients = list(recs["split"]), list(recs["patient"])
        keep = np.ones(len(all_splits), dtype=bool)
        if split is not None:
            keep &= _member(all_splits, [split] if isinstance(split, str) else split, "split")
        if patients is not None:
            keep &= _member(all_patients, patients, "patient")
        present = np.asarray(recs["channel_present"], dtype=bool).reshape(keep.size, -1)
        if require_channels:
            keep &= present.all(axis=1)
        #: Index rows of this dataset's recordings; ``recording_index`` and the
        #: per-recording lists below count within them.
        rows = np.flatnonzero(keep)
        self.rids: list[str] = [recs["rid"][r] for r in rows]
        self.patients: list[str] = [all_patients[r] for r in rows]
        self.splits: list[str] = [all_splits[r] for r in rows]
        self.sessions: list[str] = [recs["session"][r] for r in rows]
        self.n_samples: npt.NDArray[np.int64] = np.asarray(recs["n_samples"], dtype=np.int64)[rows]
        #: ``[recording, channel]``: False where a channel is zeros (an optional electrode missing).
        self.channel_present: npt.NDArray[np.bool_] = present[rows]
        self.type_names: dict[int, str] = {int(k): v for k, v in self.meta.get("type_names", {}).items()}

        self._maps: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()
        self._chunks: dict[int, tuple[str, str, bool]] = {}
        #: Chunk files checked, by path: their identity when checked (see ``_open_checked``).
        self._checked_files: dict[str, tuple[int, ...]] = {}
        self._reader: _native.StoreReader | None = reader
        self._gatherers: dict[str, _native.WindowGatherer] = {}
        self._in_use: set[str] = set()
        self._use_recorded = 0.0
        self.compressed = False

        ingest_t, ingest_s = int(index["window_samples"]), int(index["stride_samples"])
        if window_s is None and stride_s is None:
            w = index["windows"]
            position = np.full(keep.size, -1, dtype=np.int64)
            position[rows] = np.arange(rows.size)
            rec = position[np.asarray(w["recording"], dtype=np.int64)]
            sel = rec >= 0
            self._rec = rec[sel]
            self._start = np.asarray(w["start"], dtype=np.int64)[sel]
            self._label = np.asarray(w["label"], dtype=np.uint8)[sel]
            self._frac = np.asarray(w["seizure_fraction"], dtype=np.float32)[sel]
            self._type = np.asarray(w["type"], dtype=np.uint8)[sel]
            self.window_samples, self.stride_samples = ingest_t, ingest_s
        else:
            # Rebuilt from the stored labels by the ingest's own rule (Rust).
            config = self.meta.get("config", {})
            self._rec, self._start, self._label, self._frac, self._type, t, s = reader.windows(
                list(enumerate(self.rids)),
                float(config.get("window_s") if window_s is None else window_s),
                float(config.get("stride_s") if stride_s is None else stride_s),
            )
            self.window_samples, self.stride_samples = int(t), int(s)
            if self._rec.size == 0 and self.n_samples.size:
                raise ValueError(
                    f"window_s={window_s} ({t} samples) is longer than every recording of the "
                    f"dataset (the longest has {int(self.n_samples.max())} samples): no window"
                )
        if drop_unlabeled:
            labeled = self._label != 255
            self._rec, self._start, self._label, self._frac, self._type = (
                a[labeled] for a in (self._rec, self._start, self._label, self._frac, self._type)
            )
        if len(self._rec):
            # One recording checked at open: a store that is compressed, or
            # does not match its index, is known before the first batch.
            self._checked(int(self._rec[0]))

    # --- reading ----------------------------------------------------------

    def _open_reader(self) -> _native.StoreReader:
        if self.url is None:
            return _native.StoreReader(self.path)
        return _native.StoreReader(self.url, self.cache_dir, self.cache_bytes)

    def _store(self) -> _native.StoreReader:
        if self._reader is None:  # dropped when pickled: one per process
            self._reader = self._open_reader()
        return self._reader

    def _checked(self, r: int, again: bool = False) -> tuple[str, str, bool]:
        """Recording ``r``'s chunk files and whether they are memory-mappable,
        checked (in Rust) against the index, the root and the store id this
        dataset opened, and with ``verify``, against their checksums (once);
        ``again``: checked anew, not taken from the last check."""
        hit = None if again else self._chunks.get(r)
        if hit is None:
            reader = self._store()
            rid, n = self.rids[r], int(self.n_samples[r])
            checksums = self.verify and r not in self._chunks
            signal, label, raw = reader.recording(rid, n, self.store_id, checksums=checksums)
            if not raw and not self.compressed:
                self.compressed = True
                warnings.warn(
                    f"{self.path} is compressed: windows are decoded on every read, not zero-copy "
                    "memory-mapped views (re-ingest without --zstd for training)",
                    UserWarning,
                    stacklevel=3,
                )
            hit = self._chunks[r] = (str(signal), str(label), raw)
        return hit

    def chunk_file(self, r: int, array: Literal["signal", "label"] = "signal") -> Path:
        """The chunk file of ``array`` of recording ``r`` (absent when empty), checked."""
        return Path(self._chunk_path(r, array))

    def _chunk_path(self, r: int, array: Literal["signal", "label"]) -> str:
        signal, label, _ = self._checked(r)
        return signal if array == "signal" else label

    def _note_use(self, recordings: Iterable[int]) -> None:
        """Remember that ``recordings`` were read; every ``USE_RECORD_S`` seconds, tell a
        remote store's shared cache, which evicts the least recently used first."""
        if self.url is None:
            return
        # The prefetch thread gathers while the caller may read items.
        with _USE_LOCK:
            self._in_use.update(self.rids[r] for r in recordings)
            now = time.monotonic()
            if now - self._use_recorded < USE_RECORD_S:
                return
            used, self._in_use, self._use_recorded = sorted(self._in_use), set(), now
        self._store().record_use(used)

    def _read(self, array: Literal["signal", "label"], r: int) -> np.ndarray:
        """Recording ``r``'s whole ``array``: a copy-on-write memory map, or
        the decoded array of a compressed store."""
        self._note_use((r,))
        key = (r, array)
        hit = self._maps.get(key)
        if hit is not None:
            self._maps.move_to_end(key)
            return hit
        n = int(self.n_samples[r])
        shape = (len(self.channels), n) if array == "signal" else (n,)
        dtype = self.dtype if array == "signal" else np.dtype(np.uint8)
        if n == 0:
            a = np.zeros(shape, dtype)
        elif not self._checked(r)[2]:
            import zarr

            self._checked(r, again=True)
            node = self.path / "recordings" / self.rids[r] / array
            a = np.asarray(zarr.open_array(node, mode="r")[...])
        else:
            with self._open_checked(r, array) as f:
                # mode "c": a private mapping. Pages are shared with the page cache
                # until written, and torch gets a writable array (no warning). The
                # shape covers the samples only: a checksum may follow them.
                a = np.memmap(f, dtype=dtype, mode="c", shape=shape)
        self._maps[key] = a
        if len(self._maps) > _MAX_OPEN_MAPS:
            self._maps.popitem(last=False)
        return a

    def _open_checked(self, r: int, array: Literal["signal", "label"]) -> BinaryIO:
        """Recording ``r``'s ``array`` chunk file, opened (no link followed) and known
        to be a file that was checked: the store may have been rebuilt, or a remote
        copy evicted, since the last check. A file seen before (same device, inode,
        size and times) was checked then; any other is checked anew, the store id
        too, and used only if the checked path is still the file opened."""
        for _ in range(3):
            path = self._chunk_path(r, array)
            try:
                f = open(path, "rb", opener=_no_follow)  # noqa: SIM115 (returned open)
            except FileNotFoundError:
                # Replaced or evicted: the check says which (and fetches it again).
                self._checked(r, again=True)
                continue
            try:
                held = _identity(os.fstat(f.fileno()))
                if self._checked_files.get(path) == held:
                    return f
                checked = self._checked(r, again=True)[0 if array == "signal" else 1]
                now = _identity(os.stat(checked, follow_symlinks=False))
            except BaseException:
                f.close()
                raise
            if now == held:
                self._checked_files[checked] = held
                return f
            f.close()
        raise StoreError(
            f"{self.path}: recording {self.rids[r]} keeps changing while it is opened "
            "(is the store being rewritten?)"
        )

    def __len__(self) -> int:
        return int(self._rec.size)

    def _check(self, i: int) -> int:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"window {i} out of range for {n} windows")
        return i % n if n else i

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Window ``i``: ``(x, y)``, ``x`` a ``[C, T]`` view of the memory-mapped signal."""
        i = self._check(i)
        r, a = int(self._rec[i]), int(self._start[i])
        b = a + self.window_samples
        x = torch.from_numpy(self._read("signal", r)[:, a:b])
        if self.transform is not None:
            # A copy the transform may change in place: the view is shared by
            # every later read of this window and the windows overlapping it.
            x = self.transform(x.clone())
        if self.label == "any":
            y = torch.tensor(int(self._label[i]), dtype=torch.int64)
        elif self.label == "type":
            y = torch.tensor(int(self._type[i]), dtype=torch.int64)
        elif self.label == "fraction":
            y = torch.tensor(float(self._frac[i]), dtype=torch.float32)
        else:
            y = torch.from_numpy(self._read("label", r)[a:b])
        return x, y

    def info(self, i: int) -> dict[str, Any]:
        """Where window ``i`` comes from: recording id and index, patient,
        session, split, start in samples and seconds, label, seizure fraction."""
        i = self._check(i)
        r = int(self._rec[i])
        start = int(self._start[i])
        return {
            "recording": self.rids[r],
            "recording_index": r,
            "patient": self.patients[r],
            "session": self.sessions[r],
            "split": self.splits[r],
            "start": start,
            "start_s": start / self.fs,
            "label": int(self._label[i]),
            "seizure_fraction": float(self._frac[i]),
            "type": self.type_names.get(int(self._type[i]), str(int(self._type[i]))),
        }

    def plot(self, i: int, **kwargs: Any) -> Figure:
        """Window ``i`` as stacked channel traces, seizure samples shaded and
        typed: a matplotlib Figure (needs ``brainbrr[plot]``); see
        :func:`brainbrr.plot.plot_segment` for ``kwargs``."""
        from brainbrr.plot import plot_window

        return plot_window(self, i, **kwargs)

    @property
    def labels(self) -> npt.NDArray[np.uint8]:
        """The window labels (0, 1, 255), from the index; read-only."""
        v = self._label.view()
        v.flags.writeable = False
        return v

    @property
    def seizure_fractions(self) -> npt.NDArray[np.float32]:
        """The windows' seizure fractions, from the index; read-only."""
        v = self._frac.view()
        v.flags.writeable = False
        return v

    @property
    def windows(self) -> dict[str, npt.NDArray[Any]]:
        """Every window of the dataset as columns, in item order: ``recording``
        (id), ``patient``, ``split``, ``session``, ``start`` (samples),
        ``start_s``, ``label``, ``seizure_fraction``, ``type`` (code) and
        ``type_name``, so that predictions map back to recordings and times
        with no loop over :meth:`info`. ``pandas.DataFrame(ds.windows)`` makes a frame.
        """
        per_recording = {
            "recording": self.rids,
            "patient": self.patients,
            "split": self.splits,
            "session": self.sessions,
        }
        names = np.array([self.type_names.get(c, str(c)) for c in range(256)], dtype=object)
        columns: dict[str, npt.NDArray[Any]] = {
            k: np.asarray(v, dtype=object)[self._rec] if v else np.zeros(0, object)
            for k, v in per_recording.items()
        }
        columns.update(
            start=self._start.copy(),
            start_s=self._start / self.fs,
            label=self._label.copy(),
            seizure_fraction=self._frac.copy(),
            type=self._type.copy(),
            type_name=names[self._type],
        )
        return columns

    def subset(self, recordings: Sequence[int]) -> ZarrWindowDataset:
        """A dataset of the windows of these recordings (positions in :attr:`rids`),
        sharing the store; its per-recording lists describe those recordings only."""
        rows = np.unique(np.asarray(recordings, dtype=np.int64))
        position = np.full(len(self.rids), -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        keep = position[self._rec] >= 0
        other = copy.copy(self)
        other.rids = [self.rids[r] for r in rows]
        other.patients = [self.patients[r] for r in rows]
        other.splits = [self.splits[r] for r in rows]
        other.sessions = [self.sessions[r] for r in rows]
        other.n_samples = self.n_samples[rows]
        other.channel_present = self.channel_present[rows]
        other._maps, other._gatherers, other._in_use = OrderedDict(), {}, set()
        other._chunks = {int(position[r]): v for r, v in self._chunks.items() if position[r] >= 0}
        other._rec = position[self._rec[keep]]
        other._start, other._label, other._frac, other._type = (
            a[keep] for a in (self._start, self._label, self._frac, self._type)
        )
        return other

    def split(
        self, val_fraction: float = 0.1, by: Literal["patient"] = "patient", seed: int = 0
    ) -> tuple[ZarrWindowDataset, ZarrWindowDataset]:
        """``(train, val)`` with disjoint patients, about ``val_fraction`` of the
        patients in ``val``, stratified: patients with seizure windows and
        patients without are split separately, so both sides get seizure
        windows whenever two or more patients have them. Deterministic for ``seed``.
        """
        if by != "patient":
            raise ValueError(f"split by {by!r}: only 'patient' is supported")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie in (0, 1), not {val_fraction}")
        patients = np.asarray(self.patients, dtype=object)
        seizure = {self.patients[r] for r in np.unique(self._rec[self._label == 1])}
        rng = np.random.default_rng(seed)
        val: set[str] = set()
        for group in (sorted(seizure), sorted(set(self.patients) - seizure)):
            if not group:
                continue
            k = round(len(group) * val_fraction)
            # Each side gets at least one patient of a group of two or more.
            k = min(max(k, 1), len(group) - 1) if len(group) > 1 else 0
            val.update(rng.permutation(np.asarray(group, dtype=object))[:k].tolist())
        in_val = np.isin(patients, list(val)) if val else np.zeros(len(patients), bool)
        rows = np.arange(len(patients))
        return self.subset(rows[~in_val]), self.subset(rows[in_val])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = OrderedDict()
        state["_gatherers"] = {}
        state["_in_use"] = set()
        state["_reader"] = None
        if self.url is not None:
            # A worker checks its recordings in the cache itself (another may have evicted them).
            state["_chunks"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (
            f"ZarrWindowDataset({str(self.path)!r}, windows={len(self)}, channels={len(self.channels)}, "
            f"window={self.window_samples / self.fs:g}s, stride={self.stride_samples / self.fs:g}s, "
            f"dtype={self.dtype.name}, label={self.label!r})"
        )

    # --- batches ----------------------------------------------------------

    def _gather_into(self, idx: npt.NDArray[np.int64], dst: np.ndarray, io: str = "map") -> None:
        """Fill ``dst`` ``[len(idx), C, T]`` with windows ``idx`` (Rust threads, GIL released),
        read with ``io`` (``"read"``: positional reads; ``"map"``: copies out of memory maps)."""
        # Every recording is checked before it is read: by `_read` when decoding,
        # and when the gatherer is made, for all the dataset's recordings.
        if self.compressed:
            for k, i in enumerate(idx):
                r, a = int(self._rec[i]), int(self._start[i])
                dst[k] = self._read("signal", r)[:, a : a + self.window_samples]
            return
        if self.url is not None:
            self._note_use(np.unique(self._rec[idx]).tolist())
        gatherer = self._gatherers.get(io)
        if gatherer is None:
            # Recordings outside the dataset are never gathered: no path to check.
            present = set(np.unique(self._rec).tolist())
            paths = [self._checked(r)[0] if r in present else "" for r in range(len(self.rids))]
            gatherer = self._gatherers[io] = _native.WindowGatherer(
                paths,
                [int(n) for n in self.n_samples],
                len(self.channels),
                self.dtype.name,
                io=io,
            )
        if self.dtype == np.float16:
            dst = dst.view(np.uint16)
        gatherer.gather(self._rec[idx], self._start[idx], dst)

    def _targets(self, idx: npt.NDArray[np.int64]) -> torch.Tensor:
        if self.label == "any":
            return torch.from_numpy(self._label[idx].astype(np.int64))
        if self.label == "type":
            return torch.from_numpy(self._type[idx].astype(np.int64))
        if self.label == "fraction":
            return torch.from_numpy(self._frac[idx])
        y = np.empty((idx.size, self.window_samples), np.uint8)
        for k, i in enumerate(idx):
            a = int(self._start[i])
            y[k] = self._read("label", int(self._rec[i]))[a : a + self.window_samples]
        return torch.from_numpy(y)

    def order(
        self,
        shuffle: bool = True,
        seed: int = 0,
        sampler: Sampler[int] | None = None,
        *,
        order: Literal["random", "block"] = "random",
        block_recordings: int = 64,
    ) -> npt.NDArray[np.int64]:
        """The window order of one epoch of :meth:`batches`: the sampler's, or
        with ``shuffle`` a permutation drawn from ``numpy.random.default_rng(seed)``
        (``order="random"``), or the block order, else index order.

        ``order="block"`` keeps reads local for stores larger than RAM, as
        FFCV's quasi-random order does: the recordings are shuffled, cut into
        pools of ``block_recordings`` recordings, and the windows of each pool
        shuffled among themselves. Every window still comes once per epoch and
        the order changes with ``seed``, but a batch draws from at most
        ``block_recordings`` recordings and consecutive batches from the same
        pool, so the pages a pool reads are reused before they are evicted.
        """
        if sampler is not None:
            return np.fromiter(iter(sampler), dtype=np.int64)
        if not shuffle:
            return np.arange(len(self), dtype=np.int64)
        rng = np.random.default_rng(seed)
        if order == "random":
            return rng.permutation(len(self)).astype(np.int64)
        if order != "block":
            raise ValueError(f"order must be 'random' or 'block', not {order!r}")
        if block_recordings < 1:
            raise ValueError(f"block_recordings must be at least 1, not {block_recordings}")
        pool_of = np.empty(len(self.rids), dtype=np.int64)
        pool_of[rng.permutation(len(self.rids))] = np.arange(len(self.rids)) // block_recordings
        # Within a pool, a random key per window: sorting by (pool, key) shuffles each pool.
        keys = pool_of[self._rec] * 2.0 + rng.random(len(self))
        return np.argsort(keys, kind="stable").astype(np.int64)

    @staticmethod
    def _rank_share(
        order: npt.NDArray[np.int64], rank: int | None, world_size: int | None, drop_last: bool
    ) -> npt.NDArray[np.int64]:
        """Rank ``rank``'s disjoint share of an epoch's ``order``, as long on every
        rank: padded by repeating its first windows (at most ``world_size - 1``),
        or cut with ``drop_last``. Defaults from ``torch.distributed`` when a
        process group is initialised, else the whole order."""
        if rank is None and world_size is None and torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        if world_size is None or world_size == 1:
            return order
        if rank is None or not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, {world_size}), not {rank}")
        extra = order.size % world_size
        if drop_last:
            order = order[: order.size - extra]
        elif extra:
            order = np.concatenate([order, order[: world_size - extra]])
        return order[rank::world_size]

    def batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        device: str | torch.device | None = None,
        drop_last: bool = False,
        sampler: Sampler[int] | None = None,
        dtype: torch.dtype | None = None,
        batch_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        prefetch: int = 2,
        order: Literal["random", "block"] = "random",
        block_recordings: int = 64,
        rank: int | None = None,
        world_size: int | None = None,
        io: Literal["read", "map"] = "map",
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x [B, C, T], y [B] or [B, T])`` batches on ``device``.

        Windows are gathered by Rust threads (GIL released) into host memory
        (pinned on CUDA) up to ``prefetch`` batches ahead of the caller, on a
        background thread, and copied to the GPU with ``non_blocking`` on a
        side stream: while the caller works on batch k, batches k+1 ..
        k+prefetch are gathered. Without a sampler every window comes exactly
        once (on each rank, its share).

        Parameters
        ----------
        batch_size : int
            Windows per batch.
        shuffle : bool
            Shuffle the windows, deterministically for ``seed``.
        seed : int
            Seed of the permutation (use ``seed + epoch`` for a new order per epoch).
        device : str or torch.device, optional
            Default ``"cuda"`` when available, else ``"cpu"``.
        drop_last : bool
            Drop the last batch when it is smaller than ``batch_size`` (and,
            across ranks, the windows that do not divide evenly).
        sampler : torch Sampler, optional
            Draw the window indices from this sampler instead (e.g.
            :func:`balanced_sampler`); ``shuffle``, ``seed`` and ``order`` are then unused.
        dtype : torch.dtype, optional
            Cast ``x`` on the device (e.g. a float16 store to ``torch.float32``).
        batch_transform : callable, optional
            Applied to each ``x`` batch ``[B, C, T]`` on the device, after
            ``dtype`` (normalization, augmentation). The dataset's per-window
            ``transform`` is not applied here: called window by window it
            would undo the batched gather.
        prefetch : int
            Batches gathered ahead (0: gather each when asked for). Memory:
            ``prefetch + 2`` batch buffers.
        order : {"random", "block"}
            A full permutation (default), or the block order for stores larger
            than RAM (see :meth:`order`).
        block_recordings : int
            Recordings per pool of the block order.
        rank, world_size : int, optional
            This process's share of each epoch's order for data-parallel
            training: disjoint across ranks, the same number of batches on
            every rank. Default: ``torch.distributed``'s when a process group
            is initialised, else the whole epoch.
        io : {"read", "map"}
            How the Rust threads read the chunk files: copies out of memory
            maps (default), or positional reads (``pread``) straight into the
            batch. Measured on this project's machine (``bench/RESULTS-epochs.md``)
            the maps are faster on the first epoch, later ones and a cold page
            cache alike; reads avoid page-table work, which may pay on file
            systems where page faults are slow.

        Yields
        ------
        x : torch.Tensor
            ``[B, C, T]``, the store's dtype unless ``dtype`` is given, through
            ``batch_transform``.
        y : torch.Tensor
            As the items' ``y``, stacked.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if prefetch < 0:
            raise ValueError(f"prefetch must be at least 0, not {prefetch}")
        dev = torch.device(
            device
            if device is not None
            else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        epoch = self.order(shuffle, seed, sampler, order=order, block_recordings=block_recordings)
        epoch = self._rank_share(epoch, rank, world_size, drop_last)
        stops = range(0, epoch.size, batch_size)
        chunks = [epoch[a : a + batch_size] for a in stops]
        if drop_last and chunks and chunks[-1].size < batch_size:
            chunks.pop()
        shape = (len(self.channels), self.window_samples)
        tdtype = torch.float16 if self.dtype == np.float16 else torch.float32

        def finish(x: torch.Tensor) -> torch.Tensor:
            x = x if dtype is None else x.to(dtype)
            return x if batch_transform is None else batch_transform(x)

        if dev.type != "cuda":
            ring = _BufferRing.shared((batch_size, *shape), self.dtype, keep=prefetch + 2)

            def gather_cpu(idx: npt.NDArray[np.int64]) -> tuple[np.ndarray, torch.Tensor]:
                buf = ring.take(idx.size)
                self._gather_into(idx, buf, io)
                return buf, self._targets(idx)

            for buf, y in _ahead(gather_cpu, chunks, prefetch):
                yield finish(torch.from_numpy(buf)), y
            return
        for x, y in self._cuda_batches(chunks, shape, tdtype, dev, prefetch, io):
            yield finish(x), y

    def _cuda_batches(
        self,
        chunks: list[npt.NDArray[np.int64]],
        shape: tuple[int, int],
        tdtype: torch.dtype,
        dev: torch.device,
        prefetch: int,
        io: str,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        b = max((c.size for c in chunks), default=0)
        slots = prefetch + 2
        host = [torch.empty((b, *shape), dtype=tdtype, pin_memory=True) for _ in range(slots)]
        copied = [torch.cuda.Event() for _ in range(slots)]
        side = torch.cuda.Stream(device=dev)

        def gather_pinned(k: int, idx: npt.NDArray[np.int64]) -> tuple[int, torch.Tensor]:
            slot = k % slots
            # The slot's previous H2D copy must be done before it is refilled.
            copied[slot].synchronize()
            self._gather_into(idx, host[slot][: idx.size].numpy(), io)
            y_host = self._targets(idx)
            return slot, y_host.pin_memory() if y_host.numel() else y_host

        jobs = [lambda k=k, idx=idx: gather_pinned(k, idx) for k, idx in enumerate(chunks)]
        for (slot, y_host), idx in zip(_ahead(lambda job: job(), jobs, prefetch), chunks, strict=True):
            main = torch.cuda.current_stream(dev)
            with torch.cuda.stream(side):
                x = host[slot][: idx.size].to(dev, non_blocking=True)
                y = y_host.to(dev, non_blocking=True)
                copied[slot].record(side)
            main.wait_stream(side)
            # Allocated on the side stream, used on the main one: keep the allocator from reusing them early.
            x.record_stream(main)
            y.record_stream(main)
            yield x, y


_T = TypeVar("_T")
_R = TypeVar("_R")


def _ahead(work: Callable[[_T], _R], items: Sequence[_T], depth: int) -> Iterator[_R]:
    """``work(item)`` for each item, in order, computed up to ``depth`` items
    ahead of the consumer on one background thread (``depth`` 0: inline).

    The work releases the GIL in Rust, so it overlaps the consumer's step. At
    most ``depth`` results wait, done or in progress, beyond the one the
    consumer holds, so the buffers they fill are bounded: ``depth + 2`` with
    the one the consumer let go last (its caller may still hold it while it
    asks for the next). An exception in the work is raised to the consumer at
    that item; a consumer that stops early stops the thread.
    """
    if depth == 0:
        for item in items:
            yield work(item)
        return
    results: queue.Queue[tuple[bool, Any]] = queue.Queue()
    # The consumer's current result holds a slot until it asks for the next.
    slots = threading.Semaphore(depth + 1)
    stop = threading.Event()

    def produce() -> None:
        for item in items:
            while not slots.acquire(timeout=0.1):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            try:
                results.put((True, work(item)))
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                results.put((False, e))
                return

    thread = threading.Thread(target=produce, name="brainbrr-prefetch", daemon=True)
    thread.start()
    try:
        for _ in items:
            ok, value = results.get()
            if not ok:
                raise value
            yield value
            del value
            slots.release()  # the consumer is done with the previous result
    finally:
        stop.set()
        thread.join()


class _BufferRing:
    """Reusable host batch buffers for the CPU path.

    Fresh memory costs more than the gather itself (the kernel zeroes and maps
    every page: measured 1.9 GB/s into new buffers against 6.4 GB/s into
    reused ones, and a first huge-page fault may wait on compaction), so
    batches are gathered into a few buffers in turn, shared by every dataset
    of the process (:meth:`shared`): a new dataset (a subset, another split,
    one made each epoch) starts on warm memory. A buffer is reused only when
    nothing refers to it any more: ``torch.from_numpy`` holds a reference to
    the array for as long as any tensor or view of the batch lives, so a batch
    the caller keeps is never overwritten.
    """

    #: The process's rings by (shape, dtype), most recently used last; a few kept.
    _shared: OrderedDict[tuple[tuple[int, int, int], str], _BufferRing] = OrderedDict()
    _shared_lock = threading.Lock()
    KEEP_SHAPES = 2

    def __init__(self, shape: tuple[int, int, int], dtype: np.dtype[Any], keep: int = 3) -> None:
        #: Buffers kept; a caller holding more batches gets fresh ones.
        self.keep = keep
        self.shape, self.dtype = shape, dtype
        self.lock = threading.Lock()
        # The count of a buffer only the ring holds, measured the way `take` measures.
        self.buffers: list[np.ndarray] = [np.empty(0)]
        self.idle = self._refs(0)
        self.buffers.clear()

    @classmethod
    def shared(cls, shape: tuple[int, int, int], dtype: np.dtype[Any], keep: int) -> _BufferRing:
        """The process's ring for batches of ``shape`` and ``dtype``, keeping at least ``keep`` buffers."""
        key = (shape, np.dtype(dtype).str)
        with cls._shared_lock:
            ring = cls._shared.get(key)
            if ring is None:
                ring = cls._shared[key] = cls(shape, dtype, keep)
                while len(cls._shared) > cls.KEEP_SHAPES:
                    cls._shared.popitem(last=False)
            cls._shared.move_to_end(key)
            ring.keep = max(ring.keep, keep)
            return ring

    @classmethod
    def _after_fork(cls) -> None:
        # A DataLoader worker forked while a prefetch thread held a ring's lock
        # would wait on it forever: the child starts with its own rings and locks.
        global _USE_LOCK
        cls._shared = OrderedDict()
        cls._shared_lock = threading.Lock()
        _USE_LOCK = threading.Lock()

    def _refs(self, i: int) -> int:
        return sys.getrefcount(self.buffers[i])

    def take(self, n: int) -> np.ndarray:
        """The first ``n`` batch rows of a buffer nobody else refers to (prefetch
        threads of several iterators may take at once: the view is made under the lock)."""
        with self.lock:
            for i in range(len(self.buffers)):
                if self._refs(i) <= self.idle:
                    return self.buffers[i][:n]
            a = np.empty(self.shape, self.dtype)
            if len(self.buffers) < self.keep:
                self.buffers.append(a)
            return a[:n]


os.register_at_fork(after_in_child=_BufferRing._after_fork)


class _WeightedWindows(Sampler[int]):
    """Window indices drawn with replacement from fixed per-window weights."""

    def __init__(
        self, weights: npt.NDArray[np.float64], num_samples: int, seed: int, rank: int = 0
    ) -> None:
        self.weights = weights / weights.sum()
        self.num_samples = num_samples
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw another sequence for ``epoch`` (same seed, same epoch: same draws)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        # Each rank draws its own sequence: ranks never share their draws' stream.
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        draws = rng.choice(
            self.weights.size, size=self.num_samples, replace=True, p=self.weights
        )
        return iter(draws.tolist())


def balanced_sampler(
    ds: ZarrWindowDataset,
    seizure_rate: float = 0.5,
    num_samples: int | None = None,
    seed: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
) -> Sampler[int]:
    """A sampler drawing seizure windows (label 1) at ``seizure_rate``.

    Computed from the index only (no window is read). Unlabeled windows (255)
    are never drawn; background and seizure windows are drawn with replacement,
    uniformly within each class.

    Parameters
    ----------
    ds : ZarrWindowDataset
        The dataset whose window indices are drawn.
    seizure_rate : float
        Expected fraction of seizure windows, in (0, 1).
    num_samples : int, optional
        Draws per epoch; default the number of labeled windows.
    seed : int
        Seed; the sampler's ``set_epoch(e)`` gives epoch ``e`` its own draws.
    rank, world_size : int, optional
        For data-parallel training: each rank draws ``num_samples / world_size``
        (rounded up, the same on every rank) from its own random stream.
        Default: ``torch.distributed``'s when a process group is initialised.

    Returns
    -------
    torch.utils.data.Sampler
        Usable as a DataLoader ``sampler`` and as :meth:`ZarrWindowDataset.batches`' ``sampler``.

    Raises
    ------
    ValueError
        A rate outside (0, 1), or a dataset without seizure or background windows.
    """
    if not 0.0 < seizure_rate < 1.0:
        raise ValueError(f"seizure_rate must lie in (0, 1), not {seizure_rate}")
    labels = ds.labels
    seiz, bckg = labels == 1, labels == 0
    n_seiz, n_bckg = int(seiz.sum()), int(bckg.sum())
    if n_seiz == 0 or n_bckg == 0:
        raise ValueError(
            f"cannot balance {n_seiz} seizure and {n_bckg} background windows"
        )
    weights = np.where(
        seiz, seizure_rate / n_seiz, np.where(bckg, (1.0 - seizure_rate) / n_bckg, 0.0)
    )
    n = n_seiz + n_bckg if num_samples is None else int(num_samples)
    if rank is None and world_size is None and torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
    world_size = world_size or 1
    rank = rank or 0
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must lie in [0, {world_size}), not {rank}")
    return _WeightedWindows(weights, -(-n // world_size), seed, rank)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What tells one file from another that replaced it (an inode number alone may be reused)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/brainbrr``, else ``~/.cache/brainbrr``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "brainbrr" if base else Path.home() / ".cache" / "brainbrr"
