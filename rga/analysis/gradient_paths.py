"""How much training gradient each attention module passes down, and through which path.

An attention module computes out = gate(x) * x. In backward, the gradient that reaches x is the
sum of two paths: through the product directly (the gradient from above times the gate) and
through the gate's own computation (its logit, the layers and batch normalisations behind it).
:func:`gradient_paths` runs one training step's forward and backward (train mode, no optimiser
step, on a copy of the model) and measures, per module:

* ``gain``: the norm of the gradient the module passes down (at its input x) over the norm of
  the gradient it receives (at its output);
* ``gain_without_gates``: the same with the gradient into the gate logits blocked (the logits
  detached in the forward pass), which leaves the direct path only;
* ``logit_bn_factor``: for each gate whose logit ends in a batch normalisation (RGA's do), the
  factor |γ| / sqrt(var + eps) by which that normalisation scales the gradient through it, var
  being the batch variance of its input: a logit that hardly varies over the batch gets a large
  factor.

And, for the whole network, ``stem_over_head``: the stem's parameter-gradient norm over the
head's, as the per-epoch diagnostics record it (``rga.engine.diagnostics``).
"""

from __future__ import annotations

import copy
from contextlib import ExitStack

import torch
from torch import Tensor, nn

from rga.engine.diagnostics import parameter_groups
from rga.losses import cross_entropy_label_smooth, triplet_hard

__all__ = ["GATE_LOGITS", "gradient_paths"]

# The submodules whose outputs are gate logits, by attribute name: RGA's two heads (W1, BN, ReLU,
# W2, BN(1)); CBAM's shared channel MLP and its spatial map's normalisation (an identity
# without BN, which still marks where the logit is).
GATE_LOGITS = ("W_spatial", "W_channel", "mlp", "spatial_bn")


def _norm(t: Tensor) -> float:
    return float(torch.linalg.vector_norm(t.detach().float()))


def _pass(model, images, pids, label_smoothing, margin, block_gates: bool) -> dict:
    """One forward and backward on `model` (changed: gradients, BN statistics)."""
    received: dict[int, Tensor] = {}
    passed: dict[int, Tensor] = {}
    bn_factors: dict[int, dict[str, float]] = {}
    with ExitStack() as hooks:
        for stage, module in model.attention_modules.items():

            def on_module(mod, args, out, stage=stage):
                args[0].register_hook(lambda g: passed.__setitem__(stage, g))
                out.register_hook(lambda g: received.__setitem__(stage, g))

            hooks.enter_context(_hook(module.register_forward_hook(on_module)))
            for name in GATE_LOGITS:
                logit = getattr(module, name, None)
                if logit is None:
                    continue
                # the layer that outputs the logit: RGA calls its head's layers one by one
                last = logit[-1] if isinstance(logit, nn.Sequential) else logit
                if block_gates:
                    hooks.enter_context(
                        _hook(last.register_forward_hook(lambda m, a, out: out.detach()))
                    )
                elif isinstance(last, nn.BatchNorm2d):

                    def on_bn(bn, args, out, stage=stage, name=name):
                        var = args[0].detach().float().var(dim=(0, 2, 3), unbiased=False)
                        factor = bn.weight.detach().abs() / torch.sqrt(var + bn.eps)
                        bn_factors.setdefault(stage, {})[name] = float(factor.mean())

                    hooks.enter_context(_hook(last.register_forward_hook(on_bn)))
        model.zero_grad(set_to_none=True)
        out = model(images)
        ce = cross_entropy_label_smooth(out.logits.float(), pids, epsilon=label_smoothing)
        loss = ce + triplet_hard(out.z.float(), pids, margin=margin)
        loss.backward()
    groups = parameter_groups(model)
    grad = {
        g: _norm(torch.stack([p.grad.norm() for p in ps if p.grad is not None]))
        for g, ps in groups.items()
        if any(p.grad is not None for p in ps)
    }
    gains = {s: _norm(passed[s]) / _norm(received[s]) for s in received if _norm(received[s]) > 0}
    return {"gains": gains, "bn_factors": bn_factors, "grad": grad}


class _hook:
    """A hook handle as a context manager (removed on exit)."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def gradient_paths(
    model: nn.Module,
    images: Tensor,
    pids: Tensor,
    label_smoothing: float = 0.1,
    margin: float = 0.3,
) -> dict:
    """The gradient paths of one training batch (see the module docstring).

    Args:
        model: a ReIDNet (left unchanged: a copy is run, in train mode).
        images: (B, 3, H, W) a training batch; pids: (B,) their identity labels (0..K-1).
        label_smoothing, margin: the run's cross-entropy smoothing and triplet margin.

    Returns:
        {"modules": {stage: {"gain", "gain_without_gates", "logit_bn_factor": {gate: factor}}},
        "stem_over_head": float}.
    """
    results = []
    for block in (False, True):
        net = copy.deepcopy(model).train()
        results.append(_pass(net, images, pids, label_smoothing, margin, block_gates=block))
    full, direct = results
    modules = {
        stage: {
            "gain": gain,
            "gain_without_gates": direct["gains"].get(stage, float("nan")),
            "logit_bn_factor": full["bn_factors"].get(stage, {}),
        }
        for stage, gain in sorted(full["gains"].items())
    }
    grad = full["grad"]
    stem_over_head = grad["stem"] / grad["head"] if grad.get("head") else float("nan")
    return {"modules": modules, "stem_over_head": stem_over_head}
