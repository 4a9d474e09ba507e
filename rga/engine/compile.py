"""torch.compile for the training step: compiled up front, and eager again if it cannot be.

``compile_for_training(net, model, warm_up)`` wraps `net` in ``torch.compile`` (inductor) and
compiles it at once by running `warm_up` (a forward and backward on a batch of the training
shape) through it; the parameters, buffers, gradients and the global RNG of `model` are left as
they were, so the run computes what it would have computed without the warm-up. Any failure of
the compiler stack (no C++ compiler, an operator inductor cannot lower, an unsupported Python)
gives one warning and the eager `net` back, so a run never stops because of compilation.

The compiled module shares its parameters with `model`: checkpoints save ``model.state_dict()``
(no ``_orig_mod.`` prefixes) and load into either. Evaluation uses `model`, eager.

Compile cache. inductor keeps compiled graphs on disk (its FX graph cache, and the AOTAutograd
cache above it; `cache_settings`), keyed by the graph, the input shapes, the torch version and
the CPU thread count, under ``TORCHINDUCTOR_CACHE_DIR`` (default ``/tmp/torchinductor_<user>``).
Every training process of a study reads the same folder, so only the first run of each model,
input shape and thread count pays the whole compilation (cpu profile, one core: about 4 minutes
for RGA-SC at four stages, 1 for the baseline); later runs trace the model again but load the
compiled kernels (20 and 6 seconds; benchmarks/bench_training.py). Point
``TORCHINDUCTOR_CACHE_DIR`` at a lasting folder to keep the cache across reboots.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["CompileResult", "cache_settings", "compile_for_training"]


@dataclass(frozen=True)
class CompileResult:
    """What the training loop calls (`net`), how long compiling it took, and whether it is
    compiled (`error` says why not when it fell back to eager)."""

    net: nn.Module
    compiled: bool
    seconds: float
    error: str | None = None

    def describe(self) -> str:
        """One line for the run's log."""
        if not self.compiled:
            return f"eager (torch.compile failed: {self.error})"
        cache = cache_settings()
        return (
            f"compiled in {self.seconds:.1f}s (inductor; graph cache "
            f"{'on' if cache['fx_graph_cache'] else 'off'} at {cache['cache_dir']})"
        )


def cache_settings() -> dict:
    """Whether inductor's on-disk caches are on, and the folder they live in."""
    from torch._functorch import config as functorch_config
    from torch._inductor import config as inductor_config
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return {
        "fx_graph_cache": bool(inductor_config.fx_graph_cache),
        "autograd_cache": bool(getattr(functorch_config, "enable_autograd_cache", False)),
        "cache_dir": cache_dir(),
    }


def compile_for_training(
    net: nn.Module, model: nn.Module, warm_up: Callable[[nn.Module], torch.Tensor]
) -> CompileResult:
    """``torch.compile(net)``, compiled now by ``warm_up(compiled).backward()``.

    Args:
        net: what the training loop calls (the model, or its DDP wrapper).
        model: the module whose parameters and buffers `net` trains; restored after the warm-up
            (BatchNorm statistics, gradients), as is the global torch RNG.
        warm_up: given a module, runs the training forward on a batch of the training shape
            (same dtype, autocast and grad mode as the loop) and returns the scalar loss.

    Returns the compiled module, or `net` itself with one warning when compilation fails.
    """
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    rng = torch.get_rng_state()
    start = time.perf_counter()
    try:
        compiled = torch.compile(net)
        warm_up(compiled).backward()
        result = CompileResult(compiled, True, time.perf_counter() - start)
    except Exception as error:  # noqa: BLE001  (any failure of dynamo, AOTAutograd or inductor)
        torch.compiler.reset()  # drop what was traced; the eager net is untouched
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        reason = f"{type(error).__name__}: {first_line}"
        warnings.warn(
            f"torch.compile could not compile the training step ({reason}); training continues "
            "eager (same results, slower). Set compile=False to skip the attempt; on the CPU "
            "inductor needs a C++ compiler (g++ or clang++, or the CXX environment variable).",
            RuntimeWarning,
            stacklevel=2,
        )
        result = CompileResult(net, False, time.perf_counter() - start, reason)
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        for p in model.parameters():
            p.grad = None
        torch.set_rng_state(rng)
    return result
