"""P x K identity sampler: batches of P ids with K images each (official code, spec section 2.2).

Each epoch visits every training id once, in a random order, with K images per id; the batch
triplet loss needs the K positives of each id in the same batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class RandomIdentitySampler(Sampler[int]):
    """Yield dataset indices in P x K batches, ``P = batch_size // num_instances``.

    Per epoch: a random permutation of all train ids; for each id ``num_instances`` (K) of its
    indices, drawn without replacement when the id has at least K images, else with
    replacement; the ids' groups of K are concatenated and cut to whole batches (``drop_last``):
    ``len = (#ids * K // batch_size) * batch_size``. All draws come from a numpy Generator
    seeded with ``(seed, epoch)``: no global random state is read or changed. (The official code
    used ``torch.randperm`` and ``np.random.choice`` on the global generators.) Call
    :meth:`set_epoch` before each epoch, as with ``DistributedSampler``; the order is the same
    for the same (seed, epoch).

    Distributed: with ``world_size`` ranks every global batch of P ids is split into
    ``world_size`` consecutive parts of ``P / world_size`` whole ids; rank ``r`` yields part ``r``
    of each batch. Use ``DataLoader(dataset, batch_size=batch_size // world_size, sampler=...)``;
    the ranks' batches together form the single-process batch of the same seed and epoch.

    Args:
        samples: the training samples (``Sample`` or ``(path, pid, camid)`` tuples).
        batch_size: global batch size (all ranks together), a multiple of ``num_instances``.
        num_instances: K, images per id in a batch.
        seed: seed of the sampling; the epoch is mixed in.
        rank, world_size: this process's rank and the number of ranks.
    """

    def __init__(
        self,
        samples: Sequence,
        batch_size: int = 64,
        num_instances: int = 4,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        if num_instances < 1 or batch_size % num_instances:
            raise ValueError(
                f"batch_size ({batch_size}) must be a positive multiple of num_instances "
                f"({num_instances}): a batch holds P ids x K images"
            )
        num_ids_per_batch = batch_size // num_instances
        if world_size < 1 or not 0 <= rank < world_size or num_ids_per_batch % world_size:
            raise ValueError(
                f"rank {rank} / world_size {world_size}: need 0 <= rank < world_size and the "
                f"{num_ids_per_batch} ids of a batch divisible by world_size"
            )
        by_pid: dict[int, list[int]] = defaultdict(list)
        for index, sample in enumerate(samples):
            by_pid[int(sample[1])].append(index)
        self.pids = sorted(by_pid)
        self.index_by_pid = [np.asarray(by_pid[pid], dtype=np.int64) for pid in self.pids]
        if len(self.pids) < num_ids_per_batch:
            raise ValueError(
                f"{len(self.pids)} identities cannot fill a batch of {num_ids_per_batch} ids x "
                f"{num_instances} images; lower batch_size or use more identities"
            )
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.num_batches = len(self.pids) * num_instances // batch_size

    @property
    def local_batch_size(self) -> int:
        """Batch size of one rank: ``batch_size // world_size``."""
        return self.batch_size // self.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> np.ndarray:
        """The epoch's batches over all ranks, ``(num_batches, batch_size)`` dataset indices."""
        rng = np.random.default_rng([self.seed, self.epoch])
        k = self.num_instances
        groups = []
        for id_index in rng.permutation(len(self.pids)):
            pool = self.index_by_pid[id_index]
            groups.append(rng.choice(pool, size=k, replace=len(pool) < k))
        flat = np.concatenate(groups)[: self.num_batches * self.batch_size]
        return flat.reshape(self.num_batches, self.batch_size)

    def __iter__(self) -> Iterator[int]:
        # (num_batches, batch_size) -> (num_batches, world_size, local) -> this rank's part
        batches = self.global_batches().reshape(self.num_batches, self.world_size, -1)
        yield from batches[:, self.rank].ravel().tolist()

    def __len__(self) -> int:
        return self.num_batches * self.local_batch_size

    def state_dict(self) -> dict:
        """Seed and epoch, plus the settings a resumed sampler must share."""
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "batch_size": self.batch_size,
            "num_instances": self.num_instances,
            "world_size": self.world_size,
            "num_ids": len(self.pids),
        }

    def load_state_dict(self, state: dict) -> None:
        for key in ("batch_size", "num_instances", "world_size"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"sampler state has {key}={state[key]}, this sampler {getattr(self, key)}; "
                    f"build the sampler with {key}={state[key]} to resume"
                )
        if state["num_ids"] != len(self.pids):
            raise ValueError(
                f"sampler state was saved for {state['num_ids']} ids, this dataset has "
                f"{len(self.pids)}; resume on the same training set"
            )
        self.seed = state["seed"]
        self.epoch = state["epoch"]
