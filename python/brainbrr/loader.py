"""Batches of windows on a device, gathered ahead of the caller.

Windows are gathered by Rust threads (GIL released) on a background thread,
up to ``prefetch`` batches ahead: on the CPU into a few reused buffers
(:class:`_BufferRing`), on CUDA into pinned host memory copied to the GPU on a
side stream while the previous batch is in use. Which windows a batch holds
and how they are read and labelled is the dataset's; this module moves them.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Sampler

from brainbrr.sampler import rank_share

Gather = Callable[[npt.NDArray[np.int64], np.ndarray], None]
Targets = Callable[[npt.NDArray[np.int64]], torch.Tensor]


class _Batches:
    """The batch loader of a dataset: :meth:`batches` over the windows that the
    dataset orders (``order``), gathers (``_gather_into``) and labels (``_targets``)."""

    if TYPE_CHECKING:  # what the dataset provides
        channels: list[str]
        window_samples: int
        dtype: np.dtype[Any]

        def order(
            self,
            shuffle: bool = True,
            seed: int = 0,
            sampler: Sampler[int] | None = None,
            *,
            order: Literal["random", "block"] = "random",
            block_recordings: int = 64,
        ) -> npt.NDArray[np.int64]: ...

        def _gather_into(self, idx: npt.NDArray[np.int64], dst: np.ndarray, io: str = "map") -> None: ...

        def _targets(self, idx: npt.NDArray[np.int64]) -> torch.Tensor: ...

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
        with_index: bool = False,
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        """One epoch of ``(x [B, C, T], y [B] or [B, T])`` batches on ``device``
        (``(x, y, idx)`` with ``with_index``).

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
            :func:`balanced_sampler`); ``shuffle``, ``seed`` and ``order`` are then
            unused. It gives this rank's windows (as ``balanced_sampler`` and
            torch's ``DistributedSampler`` do), so ``rank`` and ``world_size``
            do not split its order again.
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
            training without a sampler: disjoint across ranks, the same number
            of batches on every rank. Default: ``torch.distributed``'s when a process group
            is initialised, else the whole epoch.
        io : {"read", "map"}
            How the Rust threads read the chunk files: copies out of memory
            maps (default), or positional reads (``pread``) straight into the
            batch. Measured on this project's machine (``bench/RESULTS-epochs.md``)
            the maps are faster on the first epoch, later ones and a cold page
            cache alike; reads avoid page-table work, which may pay on file
            systems where page faults are slow.
        with_index : bool
            Also yield each batch's window indices (``idx``), so that a
            prediction can be traced to its window (``ds.info(int(idx[k]))``)
            and turned into events (``events.from_windows``).

        Yields
        ------
        x : torch.Tensor
            ``[B, C, T]``, the store's dtype unless ``dtype`` is given, through
            ``batch_transform``.
        y : torch.Tensor
            As the items' ``y``, stacked.
        idx : torch.Tensor
            With ``with_index``: int64 ``[B]``, the dataset indices of the
            batch's windows, on the CPU.
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
        if sampler is None:
            # A sampler draws this rank's windows itself, as DistributedSampler
            # and balanced_sampler do: splitting its order again would leave
            # each rank 1/world_size of its share.
            epoch = rank_share(epoch, rank, world_size, drop_last)
        stops = range(0, epoch.size, batch_size)
        chunks = [epoch[a : a + batch_size] for a in stops]
        if drop_last and chunks and chunks[-1].size < batch_size:
            chunks.pop()
        shape = (len(self.channels), self.window_samples)

        def gather(idx: npt.NDArray[np.int64], dst: np.ndarray) -> None:
            # Looked up on each batch: a gather set on the dataset is the one used.
            self._gather_into(idx, dst, io)

        def finish(x: torch.Tensor) -> torch.Tensor:
            x = x if dtype is None else x.to(dtype)
            return x if batch_transform is None else batch_transform(x)

        if dev.type != "cuda":
            ring = _BufferRing.shared((batch_size, *shape), self.dtype, keep=prefetch + 2)

            def gather_cpu(idx: npt.NDArray[np.int64]) -> tuple[np.ndarray, torch.Tensor]:
                buf = ring.take(idx.size)
                gather(idx, buf)
                return buf, self._targets(idx)

            batches = ((torch.from_numpy(buf), y) for buf, y in _ahead(gather_cpu, chunks, prefetch))
        else:
            tdtype = torch.float16 if self.dtype == np.float16 else torch.float32
            batches = _cuda_batches(chunks, gather, self._targets, shape, tdtype, dev, prefetch)
        for (x, y), idx in zip(batches, chunks, strict=True):
            yield (finish(x), y, torch.from_numpy(idx)) if with_index else (finish(x), y)


def _cuda_batches(
    chunks: list[npt.NDArray[np.int64]],
    gather: Gather,
    targets: Targets,
    shape: tuple[int, int],
    tdtype: torch.dtype,
    dev: torch.device,
    prefetch: int,
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
        gather(idx, host[slot][: idx.size].numpy())
        y_host = targets(idx)
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
        cls._shared = OrderedDict()
        cls._shared_lock = threading.Lock()

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
