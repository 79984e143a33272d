"""Reading a store: a map-style torch Dataset of windows, and a batch loader.

Items are views of memory-mapped signal chunks (no copy, no decode). The batch
path, :meth:`ZarrWindowDataset.batches`, gathers windows with Rust threads
(GIL released) into pinned host memory and copies them to the GPU on a side
stream while the previous batch is in use.

The dataset composes its parts: the window table (:mod:`brainbrr.windows`),
the chunk files (:mod:`brainbrr.chunks`), the epoch orders and samplers
(:mod:`brainbrr.sampler`) and the batch loader (:mod:`brainbrr.loader`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

try:
    import torch
except ImportError as e:  # the ingest and the CLI need no torch; the training side does
    raise ImportError(
        "brainbrr's dataset needs PyTorch, which is not installed: pip install 'brainbrr[torch]'"
    ) from e
from torch.utils.data import Dataset, Sampler

from brainbrr import _native, channels
from brainbrr.chunks import _ChunkFiles, default_cache_dir, open_reader, read_index
from brainbrr.loader import _Batches
from brainbrr.sampler import balanced_sampler, epoch_order
from brainbrr.windows import LabelMode, _Recordings, _Windows, patient_split

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ZarrWindowDataset", "balanced_sampler"]


_V = TypeVar("_V")


class _Part(Generic[_V]):
    """An attribute of the dataset that one of its parts holds (read-only)."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name or ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    @overload
    def __get__(self, obj: None, owner: type) -> _Part[_V]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _V: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> _Part[_V] | _V:
        if obj is None:
            return self
        value: _V = getattr(getattr(obj, self.part), self.name)
        return value

    def __set__(self, obj: object, value: _V) -> None:
        raise AttributeError(f"{self.name} is read-only: the dataset's {self.part.lstrip('_')} hold it")


class ZarrWindowDataset(_Batches, Dataset[tuple[torch.Tensor, torch.Tensor]]):
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
    corpus : str or sequence of str, optional
        Keep the recordings of these corpora (``"tusz"``, ``"chbmit"``,
        ``"siena"``, ``"seizeit"``, ``"bids"``; :attr:`corpora` lists the
        store's). A corpus the store does not hold raises ``ValueError``.
    window_s, stride_s : float, optional
        Window length and stride in seconds; default the ingest's. Other values
        rebuild the window index from the recordings' stored labels (in Rust,
        by the ingest's own rule), with no re-ingest. A window longer than
        every recording raises ``ValueError``.
    label : {"any", "fraction", "per_sample", "type", "channel"}
        ``y`` of an item: the window label (int64: 0 background, 1 seizure,
        255 unlabeled), the seizure fraction (float32), the per-sample
        labels (uint8 ``[T]``, a view like ``x``), the window's seizure
        type as a class id (int64, ``0 .. num_classes - 1``, of the type
        most of its seizure samples carry; class names in :attr:`classes`),
        or per channel (float32 ``[C]``, in :attr:`channels` order) the
        fraction of the window inside a seizure seen on that channel, from
        the per-channel rows of TUSZ's ``.csv`` (see :mod:`brainbrr.channels`);
        ``"channel"`` keeps the recordings with such rows only.
    types : {"tusz", "szcore"} or dict of str to int
        The classes of ``label="type"``: one per type, named by TUSZ's labels
        (``bckg``, ``seiz``, ``fnsz`` ... ``mysz``, ``fbtc``) or by SzCORE's
        (``bckg``, ``sz``, ``sz_foc`` ...), the same ids either way (0
        background, 1 seizure of unknown type); or a dict of type names (of
        either vocabulary) to class ids ``0..K-1`` that merges types: each
        type takes the class of its name, else of its nearest SzCORE
        ancestor the dict names (``{"bckg": 0, "sz_foc": 1, "sz_gen": 2,
        "sz": 3}`` puts ``cpsz`` in 1). A type the dict leaves without a
        class raises ``ValueError``.
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
        corpus: str | Sequence[str] | None = None,
        types: str | Mapping[str, int] = "tusz",
    ) -> None:
        if label not in ("any", "fraction", "per_sample", "type", "channel"):
            raise ValueError(
                f"label must be 'any', 'fraction', 'per_sample', 'type' or 'channel', not {label!r}"
            )
        self.label = label
        #: The class of each stored type code, and the name of each class (``label="type"``).
        class_of, self.classes = _native.type_classes(dict(types) if isinstance(types, Mapping) else types)
        self._class_of = np.asarray(class_of, dtype=np.int64)
        self.transform = transform
        self.verify = verify
        #: The ``s3://`` URL of a remote store, and where its local copy lives.
        self.url: str | None = store if isinstance(store, str) and store.startswith("s3://") else None
        self.cache_dir: Path | None = None
        if self.url is not None:
            self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cache_bytes = cache_bytes
        reader = open_reader(Path(store) if self.url is None else Path(), self.url, self.cache_dir, cache_bytes)
        #: The store's folder (a remote store's local copy).
        self.path: Path = reader.path
        self.meta, index, self.dtype = read_index(reader, allow_incomplete)
        self.store_id: str | None = self.meta.get("store_id")
        self.channels: list[str] = list(self.meta["channels"])
        self.fs = float(self.meta["fs"])
        self.type_names: dict[int, str] = {int(k): v for k, v in self.meta.get("type_names", {}).items()}

        recordings, rows = _Recordings.select(index["recordings"], split, patients, require_channels, corpus)
        if label == "channel":
            annotated = np.flatnonzero(recordings.channel_annotated)
            if annotated.size == 0 and len(recordings):
                raise ValueError(
                    f"label='channel': none of the {len(recordings)} recordings has annotations per "
                    "channel (TUSZ's .csv; a store written before brainbrr kept them must be ingested "
                    "again with --overwrite)"
                )
            recordings, rows = recordings.take(annotated), rows[annotated]
            seizures = channels.per_recording(index["channel_seizures"], rows, self.channels, recordings.paths)
            recordings = dataclasses.replace(recordings, channel_seizures=list(seizures))
        ingest_t, ingest_s = int(index["window_samples"]), int(index["stride_samples"])
        if window_s is None and stride_s is None:
            windows = _Windows.of_index(index["windows"], rows, len(index["recordings"]["rid"]))
            self.window_samples, self.stride_samples = ingest_t, ingest_s
        else:
            # Rebuilt from the stored labels by the ingest's own rule (Rust).
            config = self.meta.get("config", {})
            rec, start, labels, fracs, types, t, s = reader.windows(
                list(enumerate(recordings.rids)),
                float(config.get("window_s") if window_s is None else window_s),
                float(config.get("stride_s") if stride_s is None else stride_s),
            )
            windows = _Windows(rec, start, labels, fracs, types)
            self.window_samples, self.stride_samples = int(t), int(s)
            if len(windows) == 0 and len(recordings):
                raise ValueError(
                    f"window_s={window_s} ({t} samples) is longer than every recording of the "
                    f"dataset (the longest has {int(recordings.n_samples.max())} samples): no window"
                )
        self._recordings = recordings
        self._windows = windows.labeled() if drop_unlabeled else windows
        self._files = _ChunkFiles(
            reader, self.url, self.cache_dir, cache_bytes, recordings, len(self.channels), self.dtype,
            self.store_id, verify,
        )
        if len(self._windows):
            # One recording checked at open: a store that is compressed, or
            # does not match its index, is known before the first batch.
            self._files.checked(int(self._windows.rec[0]))

    # The recordings (``recording_index`` counts within them) and what is known of their files.
    rids: _Part[list[str]] = _Part("_recordings")
    #: Each recording's source path relative to its corpus.
    paths: _Part[list[str]] = _Part("_recordings")
    #: Each recording's patient (:attr:`patients` lists each patient once).
    recording_patients: _Part[list[str]] = _Part("_recordings", "patients")
    splits: _Part[list[str]] = _Part("_recordings")
    sessions: _Part[list[str]] = _Part("_recordings")
    runs: _Part[list[str]] = _Part("_recordings")
    #: Each recording's start from its EDF header (``2016-01-01T18:28:27``; ``""`` when unknown).
    start_times: _Part[list[str]] = _Part("_recordings")
    n_samples: _Part[npt.NDArray[np.int64]] = _Part("_recordings")
    #: Each recording's source sampling rate, Hz (NaN in stores written before it was indexed).
    fs_in: _Part[npt.NDArray[np.float64]] = _Part("_recordings")
    #: ``[recording, channel]``: False where a channel is zeros (an optional electrode missing).
    channel_present: _Part[npt.NDArray[np.bool_]] = _Part("_recordings")
    #: Whether the store is compressed (windows decoded on every read).
    compressed: _Part[bool] = _Part("_files")
    # Private names that tests, `events` and `plot` read.
    _rec: _Part[npt.NDArray[np.int64]] = _Part("_windows", "rec")
    _start: _Part[npt.NDArray[np.int64]] = _Part("_windows", "start")
    _label: _Part[npt.NDArray[np.uint8]] = _Part("_windows", "label")
    _frac: _Part[npt.NDArray[np.float32]] = _Part("_windows", "frac")
    _maps: _Part[dict[tuple[int, str], np.ndarray]] = _Part("_files", "maps")
    _gatherers: _Part[dict[str, _native.WindowGatherer]] = _Part("_files", "gatherers")
    _reader: _Part[_native.StoreReader | None] = _Part("_files", "reader")

    # --- reading ----------------------------------------------------------

    def _store(self) -> _native.StoreReader:
        return self._files.store()

    def _read(self, array: Literal["signal", "label"], r: int) -> np.ndarray:
        """Recording ``r``'s whole ``array`` (a copy-on-write memory map, or decoded)."""
        return self._files.read(array, r)

    def chunk_file(self, r: int, array: Literal["signal", "label"] = "signal") -> Path:
        """The chunk file of ``array`` of recording ``r`` (absent when empty), checked."""
        return Path(self._files.chunk_path(r, array))

    def __len__(self) -> int:
        return len(self._windows)

    def _check(self, i: int) -> int:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"window {i} out of range for {n} windows")
        return i % n if n else i

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Window ``i``: ``(x, y)``, ``x`` a ``[C, T]`` view of the memory-mapped signal."""
        i = self._check(i)
        r, a = int(self._windows.rec[i]), int(self._windows.start[i])
        x = torch.from_numpy(self._read("signal", r)[:, a : a + self.window_samples])
        if self.transform is not None:
            # A copy the transform may change in place: the view is shared by
            # every later read of this window and the windows overlapping it.
            x = self.transform(x.clone())
        return x, self._targets(i)

    @property
    def num_classes(self) -> int:
        """The number of classes of ``label="type"``: ``len(classes)``."""
        return len(self.classes)

    def _targets(self, idx: int | npt.NDArray[np.int64]) -> torch.Tensor:
        """``y`` of window ``idx`` (an item) or windows ``idx`` (a batch), as :attr:`label` says."""
        if self.label == "channel":
            w = self._windows
            at = np.atleast_1d(np.asarray(idx, dtype=np.int64))
            t = channels.targets(
                self._recordings.channel_seizures, w.rec[at], w.start[at], self.window_samples, len(self.channels)
            )
            return torch.from_numpy(t[0] if isinstance(idx, int) else t)
        y = self._windows.target(self.label, idx)
        if self.label == "type":
            y = np.asarray(self._class_of[y])
        if y is None:  # per-sample labels: an item's is a view, like ``x``
            if isinstance(idx, int):
                return torch.from_numpy(self._sample_labels(idx))
            y = np.empty((idx.size, self.window_samples), np.uint8)
            for k, i in enumerate(idx.tolist()):
                y[k] = self._sample_labels(i)
        return torch.from_numpy(y)

    def _sample_labels(self, i: int) -> np.ndarray:
        a = int(self._windows.start[i])
        return self._read("label", int(self._windows.rec[i]))[a : a + self.window_samples]

    @property
    def patients(self) -> list[str]:
        """The dataset's patients, sorted, each once (:attr:`recording_patients`
        gives each recording's)."""
        return sorted(set(self._recordings.patients))

    @property
    def corpora(self) -> list[str]:
        """The corpora of the dataset's recordings, sorted (``""``: a store
        written before corpora were recorded)."""
        return sorted(set(self._recordings.corpus))

    def info(self, i: int) -> dict[str, Any]:
        """Where window ``i`` comes from: recording id and index, source path
        (relative to its corpus), corpus, patient, session, run, the
        recording's start time, split, start in stored samples (``start``), in
        seconds and in the source EDF's samples (``start_source``, at its rate
        ``fs_in``; None in stores written before it was indexed), label,
        seizure fraction, type."""
        i = self._check(i)
        w = self._windows
        r, start, code = int(w.rec[i]), int(w.start[i]), int(w.type[i])
        fs_in = float(self._recordings.fs_in[r])
        known = bool(np.isfinite(fs_in))
        return {
            "recording": self.rids[r],
            "recording_index": r,
            "path": self.paths[r],
            "corpus": self._recordings.corpus[r],
            "patient": self.recording_patients[r],
            "session": self.sessions[r],
            "run": self.runs[r],
            "recording_start": self.start_times[r],
            "split": self.splits[r],
            "start": start,
            "start_s": start / self.fs,
            "fs_in": fs_in if known else None,
            "start_source": round(start / self.fs * fs_in) if known else None,
            "label": int(w.label[i]),
            "seizure_fraction": float(w.frac[i]),
            "type": self.type_names.get(code, str(code)),
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
        v = self._windows.label.view()
        v.flags.writeable = False
        return v

    @property
    def seizure_fractions(self) -> npt.NDArray[np.float32]:
        """The windows' seizure fractions, from the index; read-only."""
        v = self._windows.frac.view()
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
        return self._windows.columns(self._recordings, self.fs, self.type_names)

    def subset(self, recordings: Sequence[int] | npt.NDArray[np.int64]) -> ZarrWindowDataset:
        """A dataset of the windows of these recordings (positions in :attr:`rids`),
        sharing the store; its per-recording lists describe those recordings only."""
        rows = np.unique(np.asarray(recordings, dtype=np.int64))
        other = copy.copy(self)
        other._recordings = self._recordings.take(rows)
        other._windows = self._windows.of_recordings(rows, len(self._recordings))
        other._files = self._files.of(other._recordings)
        return other

    def split(
        self, val_fraction: float = 0.1, by: Literal["patient"] = "patient", seed: int = 0
    ) -> tuple[ZarrWindowDataset, ZarrWindowDataset]:
        """``(train, val)`` with disjoint patients, about ``val_fraction`` of the
        patients in ``val``, stratified: patients with seizure windows and
        patients without are split separately, so both sides get seizure
        windows whenever two or more patients have them. Deterministic for ``seed``.
        """
        train, val = patient_split(self._recordings, self._windows, val_fraction, by, seed)
        return self.subset(train), self.subset(val)

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
        w = self._windows
        self._files.gather(w.rec[idx], w.start[idx], self.window_samples, dst, io, used=w.rec)

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
        return epoch_order(
            self._windows.rec, len(self._recordings), shuffle, seed, sampler, order, block_recordings
        )
