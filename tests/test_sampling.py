"""The engine's sampler gives the order of torch's own shuffling, with one process and with DDP."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from wsss_core.engine.sampling import EpochSampler


@pytest.mark.parametrize("epoch", [0, 1, 7])
def test_one_process_follows_a_shuffling_data_loader(epoch: int) -> None:
    loader = DataLoader(list(range(37)), batch_size=1, shuffle=True, generator=torch.Generator().manual_seed(5000 + epoch))
    sampler = EpochSampler(37, seed=5)
    sampler.set_epoch(epoch)
    assert list(sampler) == [(epoch, int(index)) for batch in loader for index in batch]


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_ranks_follow_the_distributed_sampler(rank: int) -> None:
    reference = DistributedSampler(list(range(37)), num_replicas=3, rank=rank, shuffle=True, seed=5, drop_last=True)
    reference.set_epoch(4)
    sampler = EpochSampler(37, seed=5, rank=rank, world=3)
    sampler.set_epoch(4)
    assert list(sampler) == [(4, index) for index in reference] and len(sampler) == len(reference) == 12
