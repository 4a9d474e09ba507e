"""Per-epoch diagnostics of a run, kept in its curve: why a model trains or does not.

Each epoch's curve entry gets, besides its losses:

* ``z_norm``: the mean L2 norm of the pooled feature z over a fixed probe batch (eval mode);
* ``gate.att<s>.spatial_mean`` / ``spatial_sd`` and ``channel_mean`` / ``channel_sd``: the mean
  and spread of each attention module's sigmoid gates over the same batch;
* ``grad_norm.<group>``: the L2 norm of the gradients of each part of the network (``stem``,
  ``layer1``..``layer4``, ``att1``..``att4``, ``head``), averaged over the epoch's steps.

Nothing here changes what the run computes: the probe batch is read without augmentation and
run in eval mode under no_grad, and the gradient norms only read the gradients.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import nn

from rga.data import ImageDataset, build_transforms

PROBE_IMAGES = 32


def probe_batch(train_samples, height: int, width: int) -> torch.Tensor:
    """(PROBE_IMAGES, 3, H, W): the first training images in file-name order, test transform."""
    order = sorted(range(len(train_samples)), key=lambda i: str(train_samples[i].path))
    chosen = [train_samples[i] for i in order[:PROBE_IMAGES]]
    data = ImageDataset(chosen, build_transforms(height, width, train=False))
    return torch.stack([data[i][0] for i in range(len(chosen))])


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """{group: parameters}: the stem, each residual stage, each attention module, the head."""
    groups: dict[str, list[nn.Parameter]] = defaultdict(list)
    for name, p in model.named_parameters():
        if name.startswith("backbone.layer"):
            groups[name.split(".")[1]].append(p)
        elif name.startswith("backbone."):
            groups["stem"].append(p)
        elif name.startswith("attention."):
            groups[name.split(".")[1]].append(p)
        else:
            groups["head"].append(p)
    return dict(groups)


class GradientNorms:
    """Running mean over steps of each parameter group's gradient norm."""

    def __init__(self, model: nn.Module) -> None:
        self.groups = parameter_groups(model)
        self.sums: dict[str, torch.Tensor] = {}  # on the model's device: no sync per step
        self.steps = 0

    @torch.no_grad()
    def add(self, scale: float = 1.0) -> None:
        """Read the current gradients (divided by `scale`, the grad scaler's factor)."""
        for group, params in self.groups.items():
            grads = [p.grad for p in params if p.grad is not None]
            if grads:
                norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])) / scale
                self.sums[group] = self.sums[group] + norm if group in self.sums else norm
        self.steps += 1

    def means(self) -> dict[str, float]:
        return {f"grad_norm.{g}": float(s) / max(self.steps, 1) for g, s in self.sums.items()}


@torch.no_grad()
def feature_and_gate_statistics(model: nn.Module, images: torch.Tensor) -> dict[str, float]:
    """``z_norm`` and the gates' mean and spread per module on `images`, in eval mode (the
    model's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        z = model(images).z
        stats = {"z_norm": float(z.norm(dim=1).mean())}
        for stage, maps in model.attention_maps(images).items():
            for part, gate in (("spatial", maps.spatial), ("channel", maps.channel)):
                if gate is not None:
                    stats[f"gate.att{stage}.{part}_mean"] = float(gate.mean())
                    stats[f"gate.att{stage}.{part}_sd"] = float(gate.float().std())
    finally:
        model.train(was_training)
    return stats
