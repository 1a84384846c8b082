"""A sampler whose order is a pure function of (seed, step, rank): resuming needs no sampler state.

Explained in `book/use_train.md`. Global sample position
`p = step * batch_size + rank * per_rank + k` picks item `perm_e[p mod n]` of epoch `e = p // n`, where
`perm_e` is a permutation seeded by `(seed, e)`. Every process sees a disjoint shard of each global batch,
so N processes see exactly the samples one process would see with the same total batch.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class StepSampler(Sampler):
    """Yields `(index, epoch)` pairs for steps `start_step, start_step + 1, ...` (infinite by default)."""

    def __init__(self, num_items: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 start_step: int = 0, num_steps: int | None = None):
        if batch_size % world_size:
            raise ValueError(f"total batch size {batch_size} is not divisible by {world_size} processes")
        if num_items < 1:
            raise ValueError("the dataset is empty")
        self.n, self.batch, self.seed = num_items, batch_size, seed
        self.rank, self.world = rank, world_size
        self.per_rank = batch_size // world_size
        self.start_step, self.num_steps = start_step, num_steps
        self._perm_cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perm_cache:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm_cache = {epoch: torch.randperm(self.n, generator=g)}  # keep one epoch in memory
        return self._perm_cache[epoch]

    def position(self, step: int, k: int) -> int:
        return step * self.batch + self.rank * self.per_rank + k

    def item(self, step: int, k: int) -> tuple[int, int]:
        p = self.position(step, k)
        epoch = p // self.n
        return int(self._perm(epoch)[p % self.n]), epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        step = self.start_step
        while self.num_steps is None or step < self.start_step + self.num_steps:
            for k in range(self.per_rank):
                yield self.item(step, k)
            step += 1

    def __len__(self) -> int:
        if self.num_steps is None:
            raise TypeError("infinite sampler has no length")
        return self.num_steps * self.per_rank
