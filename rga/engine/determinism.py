"""The process-wide torch settings a run needs, set for its duration and restored afterwards."""

from __future__ import annotations

import contextlib

import torch

from rga.engine.config import RunConfig


@contextlib.contextmanager
def determinism(config: RunConfig, device: torch.device):
    """Deterministic kernels on the CPU, deterministic cuDNN on GPUs, the CPU thread count;
    all restored afterwards.

    Deterministic algorithms would also fill every new uninitialised tensor with NaN
    (``torch.utils.deterministic.fill_uninitialized_memory``), an extra pass over each
    activation (about 7% of a cpu-profile step with channels_last). That only changes what a
    kernel reading memory it never wrote would compute; none of ours does, so it is off (the
    bit-for-bit repeat tests in tests/test_train.py would see the difference).
    """
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.get_num_threads(),
        torch.utils.deterministic.fill_uninitialized_memory,
    )
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.deterministic and device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.deterministic = config.deterministic
    torch.backends.cudnn.benchmark = not config.deterministic
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2:4]
        torch.set_num_threads(saved[4])
        torch.utils.deterministic.fill_uninitialized_memory = saved[5]
