"""Checkpoints: atomic writes, RNG states, and the file layout of a run folder.

A run folder ``<checkpoint_root>/<run_id>/`` holds ``last.pt`` (everything needed to continue:
model, optimiser, grad scaler, sampler, RNG states (rga.engine.seeding), completed epochs, curve, resolved config),
``final.pt`` (the trained model, its curve and metrics; written once training has ended) and
``train.log`` (one line per epoch).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

LAST = "last.pt"
FINAL = "final.pt"
LOG = "train.log"


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write `state` with torch.save to a temporary file, then rename it over `path`.

    The rename is atomic on POSIX, so a run killed while writing leaves the previous file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint`.

    weights_only=False: our checkpoints hold numpy RNG states and plain Python objects; load
    only files this package wrote.
    """
    return torch.load(Path(path), map_location=map_location, weights_only=False)


def all_finite(module: torch.nn.Module) -> bool:
    """True when every parameter and buffer of `module` is finite (no NaN or inf)."""
    tensors = list(module.parameters()) + list(module.buffers())
    return all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())
