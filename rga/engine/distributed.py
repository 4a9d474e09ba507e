"""Several processes (torchrun): process group, device per rank, gathers for the batch loss.

One process per GPU with DistributedDataParallel. Each rank draws its share of every P x K
batch (the sampler splits each batch into whole identities), so together the ranks see the
batch a single process would. By default the triplet loss mines over that whole batch,
gathering z from every rank with gradients (`gather_with_grad`): the official run used
DataParallel on 2 GPUs, which computes the losses on the gathered 64 outputs. BatchNorm keeps
per-GPU statistics, as there (RunConfig.sync_bn=True synchronises them instead).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """This process's place in the run."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and results."""
        return self.rank == 0


def world_size_hint() -> int:
    """The world size of an existing process group, else torchrun's WORLD_SIZE, else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextmanager
def session(device: str):
    """Yield a `Context`; starts (and later ends) a process group when torchrun asked for one.

    A process group the caller already started is used as is and left open.
    `device` is "cpu", "cuda" or "auto" (CUDA when available); under torchrun each rank takes
    GPU LOCAL_RANK. The backend is NCCL on GPUs and gloo on the CPU.
    """
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    started = False
    if world_size_hint() > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        started = True
    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    if cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    try:
        yield Context(rank, world_size, torch_device)
    finally:
        if started:
            dist.destroy_process_group()


def barrier(context: Context) -> None:
    if context.world_size > 1:
        dist.barrier()


class _GatherWithGrad(torch.autograd.Function):
    """all_gather along dim 0 whose backward returns this rank's slice of the summed gradients.

    Every rank computes the same loss on the gathered batch; summing the gradients over ranks
    and DDP's averaging of parameter gradients then give exactly the gradient of that loss.
    (Own function rather than torch.distributed.nn.functional.all_gather, whose backward needs
    all_to_all, which the gloo backend lacks in some builds.)
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world_size, ctx.rows = dist.get_rank(), dist.get_world_size(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(ctx.world_size)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)  # world_size x (B, D) -> (world_size * B, D)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) on each rank -> (world_size * B, ...) in rank order, differentiable."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


def gather(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) on each rank -> (world_size * B, ...) in rank order, no gradient."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def mean_over_ranks(x: torch.Tensor) -> torch.Tensor:
    """The mean of `x` over ranks (a copy; `x` itself is unchanged)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    x = x.clone()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x / dist.get_world_size()
