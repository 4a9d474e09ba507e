"""Checkpoints: atomic writes, RNG states, and the file layout of a run folder.

A run folder ``<checkpoint_root>/<run_id>/`` holds ``last.pt`` (everything needed to continue:
model, optimiser, grad scaler, sampler, RNG states (rga.engine.seeding), completed epochs, curve,
resolved config, the data's summary and fingerprint), ``final.pt`` (the trained model, its curve
and metrics, the data it was trained on, the code and time that finished it; written once
training has ended), ``train.log`` (one line per epoch) and, while a process works on the run,
``train.lock`` (rga.engine.lock). ``<checkpoint_root>/.verified/`` remembers which datasets had
their images decoded (rga.data.verify_images).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from rga.engine.atomic import atomic_write

LAST = "last.pt"
FINAL = "final.pt"
LOG = "train.log"
VERIFIED = ".verified"


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write `state` with torch.save to a temporary file, then rename it over `path`.

    The rename is atomic on POSIX, so a run killed while writing leaves the previous file intact.
    """
    path = Path(path)
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


class IncompleteCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be read: cut short or damaged."""


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint`.

    weights_only=False: our checkpoints hold numpy RNG states and plain Python objects; load
    only files this package wrote. A file that cannot be read raises
    :class:`IncompleteCheckpointError` naming it and the way to recover.
    """
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # the file itself is missing or unreadable: that error names it
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        # what torch raises depends on where the file was cut: a zip error, EINVAL, EOF, pickle
        raise IncompleteCheckpointError(
            f"{path} is incomplete or damaged and cannot be read ({type(err).__name__}: "
            f"{str(err).strip()}). Our writes are atomic, so it was cut short elsewhere (a copy "
            f"or download that did not finish, a full disk). {_recovery(path)}"
        ) from err


def _recovery(path: Path) -> str:
    if path.name == LAST:
        return (
            "Delete it to train this run again from epoch 0, or retrain with force=True "
            "(--force; -p force True in a notebook); or put back a good copy to resume."
        )
    if path.name == FINAL:
        return (
            "Delete it to train this run again, or retrain with force=True "
            "(--force; -p force True in a notebook); or put back a good copy."
        )
    return "Write it again, or put back a good copy."


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files ``.<name>.<pid>.tmp`` (as :mod:`rga.engine.atomic` names them) in
    `folder` whose writer is no longer running (a killed write); return the paths removed."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """True when process `pid` runs on this machine (another user's process counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def all_finite(module: torch.nn.Module) -> bool:
    """True when every parameter and buffer of `module` is finite (no NaN or inf)."""
    tensors = list(module.parameters()) + list(module.buffers())
    return all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())
