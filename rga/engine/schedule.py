"""The learning-rate schedule of the official code, as a pure function of the epoch.

Official values (spec section 2.4): linear warm-up 8e-6 -> 8e-4 over epochs 0..19, then
8e-4 x 0.5 ** (number of steps <= epoch) with steps 80, 120, ..., 360. The LR is set once at the
start of each epoch and held constant within it.
"""

from __future__ import annotations

from collections.abc import Sequence


def lr_at_epoch(
    epoch: int,
    *,
    base_lr: float = 8e-4,
    warmup_epochs: int = 20,
    warmup_begin_lr: float = 8e-6,
    lr_steps: Sequence[int] = (80, 120, 160, 200, 240, 280, 320, 360),
    lr_factor: float = 0.5,
) -> float:
    """Learning rate for 0-based `epoch`.

    epoch < warmup_epochs: warmup_begin_lr + (base_lr - warmup_begin_lr) * epoch / warmup_epochs
    otherwise:             base_lr * lr_factor ** #(steps <= epoch)
    """
    if epoch < 0:
        raise ValueError(f"epoch={epoch} must be >= 0")
    if epoch < warmup_epochs:
        return warmup_begin_lr + (base_lr - warmup_begin_lr) * epoch / warmup_epochs
    return base_lr * lr_factor ** sum(step <= epoch for step in lr_steps)


def schedule_of(config) -> dict:
    """The keyword arguments of `lr_at_epoch` taken from a RunConfig."""
    return {
        "base_lr": config.base_lr,
        "warmup_epochs": config.warmup_epochs,
        "warmup_begin_lr": config.warmup_begin_lr,
        "lr_steps": config.lr_steps,
        "lr_factor": config.lr_factor,
    }
