"""Seeds and generator states: what makes a run repeatable, resumed or not, with any worker count.

Three layers: `seed_everything` at the start of each epoch from (seed, epoch, rank); the global
generator states saved in every checkpoint (`rng_states`); and one seed per training sample
(`SampleSeeds` + `SeededDataset`), so each image's augmentation is fixed by (seed, epoch, rank,
position in the epoch) whether it is loaded in the main process or in any DataLoader worker.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python `random` from one integer."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def seed_sample(seed: int) -> None:
    """`seed_everything` for one training image, without its cost: the same CPU torch, numpy and
    `random` states, and the CUDA generators when CUDA is already initialised (as it is on a GPU
    run). `torch.manual_seed` also queues a seed for every accelerator backend not initialised
    yet (CUDA, XPU, MTIA on a CPU run), formatting a stack trace for each: about half the time
    of the CPU data path, done for every image."""
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def epoch_seed(*keys: int) -> int:
    """A 32-bit seed mixed from `keys`, e.g. (run seed, epoch, rank)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def rng_states() -> dict:
    """The global torch, CUDA, numpy and Python generator states."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_states(states: dict) -> None:
    """Restore what `rng_states` returned (CUDA states only when the device count matches)."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        if len(states["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


class SampleSeeds(Sampler):
    """Wrap an index sampler: yield (seed, index) with a seed per position of the epoch.

    `set_epoch(epoch)` is passed on to the wrapped sampler.
    """

    def __init__(self, sampler: Sampler, seed: int, rank: int = 0):
        self.sampler, self.seed, self.rank, self.epoch = sampler, seed, rank, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(self.sampler)
        seeds = np.random.SeedSequence([self.seed, self.epoch, self.rank]).generate_state(
            len(indices)
        )
        return zip(seeds.tolist(), indices, strict=True)

    def __len__(self) -> int:
        return len(self.sampler)


class SeededDataset(Dataset):
    """Wrap a dataset: item (seed, index) seeds torch, numpy and `random` (`seed_sample`), then
    loads `index`."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        seed, index = key
        seed_sample(seed)
        return self.dataset[index]
