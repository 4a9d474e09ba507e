"""Where and with what a run was made: the hardware, the library versions, the git commit; paths
as results files record them (relative to the repository)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

_REPO = Path(__file__).resolve().parents[2]


def hardware_info(device, world_size: int = 1) -> dict:
    """CPU model and count, torch threads, and the GPU name and count when running on CUDA."""
    info = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "device": str(device),
        "world_size": world_size,
        "gpu": None,
    }
    if getattr(device, "type", str(device)) == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["gpu_count"] = world_size
    info["device_name"] = info["gpu"] or info["cpu"]
    return info


def library_versions() -> dict:
    import pandas as pd
    import torchvision

    import rga

    return {
        "python": platform.python_version(),
        "rga": rga.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
    }


def repo_relative(path: str | Path, repo: str | Path = _REPO) -> str | None:
    """`path` relative to the repository (POSIX separators) when it lies inside it, else None:
    what results files record instead of a machine's absolute path."""
    try:
        return Path(path).resolve().relative_to(Path(repo).resolve()).as_posix()
    except ValueError:
        return None


def git_state(repo: str | Path = _REPO) -> tuple[str, bool | None]:
    """(HEAD commit, whether tracked files differ from it); ("unknown", None) outside git.

    A source tree copied elsewhere (e.g. to a GPU machine, whose copy may carry another
    checkout's ``.git``) names its commit in the environment variable ``RGA_SOURCE_COMMIT``;
    the tree is then taken to be exactly that commit, whatever git says.
    """
    named = os.environ.get("RGA_SOURCE_COMMIT")
    if named:
        return named, False
    try:
        commit = _git(repo, "rev-parse", "HEAD")
        dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit, dirty


def _git(repo, *args) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
