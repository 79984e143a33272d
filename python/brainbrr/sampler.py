"""Which windows an epoch visits and in what order: the epoch orders of
:meth:`ZarrWindowDataset.batches`, each rank's share of them, and
:func:`balanced_sampler`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Sampler


class _Labeled(Protocol):
    """What :func:`balanced_sampler` reads of a dataset: its window labels."""

    @property
    def labels(self) -> npt.NDArray[np.uint8]: ...


def _distributed(rank: int | None, world_size: int | None) -> tuple[int | None, int | None]:
    """``(rank, world_size)``: ``torch.distributed``'s when neither is given and a
    process group is initialised, else as given."""
    if rank is None and world_size is None and torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return rank, world_size


def epoch_order(
    rec: npt.NDArray[np.int64],
    n_recordings: int,
    shuffle: bool,
    seed: int,
    sampler: Sampler[int] | None,
    order: Literal["random", "block"],
    block_recordings: int,
) -> npt.NDArray[np.int64]:
    """The window order of one epoch over windows of recordings ``rec`` (see
    :meth:`ZarrWindowDataset.order`)."""
    if sampler is not None:
        return np.fromiter(iter(sampler), dtype=np.int64)
    if not shuffle:
        return np.arange(rec.size, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if order == "random":
        return rng.permutation(rec.size).astype(np.int64)
    if order != "block":
        raise ValueError(f"order must be 'random' or 'block', not {order!r}")
    if block_recordings < 1:
        raise ValueError(f"block_recordings must be at least 1, not {block_recordings}")
    pool_of = np.empty(n_recordings, dtype=np.int64)
    pool_of[rng.permutation(n_recordings)] = np.arange(n_recordings) // block_recordings
    # Within a pool, a random key per window: sorting by (pool, key) shuffles each pool.
    keys = pool_of[rec] * 2.0 + rng.random(rec.size)
    return np.argsort(keys, kind="stable").astype(np.int64)


def rank_share(
    order: npt.NDArray[np.int64], rank: int | None, world_size: int | None, drop_last: bool
) -> npt.NDArray[np.int64]:
    """Rank ``rank``'s disjoint share of an epoch's ``order``, as long on every
    rank: padded by repeating its first windows (at most ``world_size - 1``),
    or cut with ``drop_last``. Defaults from ``torch.distributed`` when a
    process group is initialised, else the whole order."""
    rank, world_size = _distributed(rank, world_size)
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


class WeightedWindows(Sampler[int]):
    """Window indices drawn with replacement from fixed per-window weights,
    this rank's draws only (what :func:`balanced_sampler` returns)."""

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
    ds: _Labeled,
    seizure_rate: float = 0.5,
    num_samples: int | None = None,
    seed: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
) -> WeightedWindows:
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
    rank, world_size = _distributed(rank, world_size)
    world_size = world_size or 1
    rank = rank or 0
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must lie in [0, {world_size}), not {rank}")
    return WeightedWindows(weights, -(-n // world_size), seed, rank)
