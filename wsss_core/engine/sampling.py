"""The order of the training samples: a seeded permutation per epoch, the same with one process or with N.

:class:`EpochSampler` yields ``(epoch, index)`` keys, so the dataset knows the
epoch of every sample even in DataLoader workers that live across epochs
(``persistent_workers``): the augmentation draws depend on (seed, epoch,
index) only.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[tuple[int, int]]):
    """``(epoch, index)`` keys of one epoch, in a permutation seeded by (seed, epoch).

    One process: ``randperm(n)`` of a generator seeded with ``seed * 1000 + epoch``
    after one 64-bit draw (the order of a shuffling DataLoader with that
    generator, which takes the base seed of its workers from it first). Under DDP
    (``world > 1``): the permutation seeded with ``seed + epoch``, cut to a
    multiple of ``world`` and dealt out round-robin, rank ``rank`` taking every
    ``world``-th key (the order of torch's DistributedSampler with ``drop_last``).
    """

    def __init__(self, num_samples: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.num_samples, self.seed, self.rank, self.world = num_samples, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples // self.world

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator()
        if self.world == 1:
            generator.manual_seed(self.seed * 1000 + self.epoch)
            torch.empty((), dtype=torch.int64).random_(generator=generator)
            order = torch.randperm(self.num_samples, generator=generator).tolist()
        else:
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator).tolist()[: len(self) * self.world]
            order = order[self.rank :: self.world]
        return iter([(self.epoch, index) for index in order])
