"""The code behind the Method page (``book/method.md``): what RGA's relations cost, materialised
(the official computation) against factorised (ours), and a check that both give one output."""

from __future__ import annotations

import pandas as pd
import torch

from rga.model import ReIDNet, RGAModule

__all__ = ["factorised_check", "relation_costs"]


def relation_costs(height: int = 256, width: int = 128, num_classes: int = 751):
    """Per module and branch of RGA-SC after each stage of ResNet-50 at ``height`` x ``width``:
    the nodes N, the embedding dim C', the relation dim N', the multiply-accumulates of the
    relation term materialised (R = Q^T K, then the conv over r) and factorised (W_a K^T,
    W_b Q^T, applying both), their ratio and the size of R per image."""
    model = ReIDNet(num_classes=num_classes, kind="rga-sc", positions=(1, 2, 3, 4),
                    height=height, width=width)  # fmt: skip
    rows = []
    for stage, module in model.attention_modules.items():
        for branch, nodes, dim in (
            ("spatial", module.height * module.width, module.in_channels),  # nodes = N positions
            ("channel", module.in_channels, module.height * module.width),  # nodes = C channels
        ):
            n, n_red, d_red = nodes, nodes // 8, dim // 8  # N, N' (relation embedding), C'
            materialised = n * n * d_red + 2 * n * n * n_red
            factorised = 4 * n * n_red * d_red
            rows.append(
                {
                    "module": f"att{stage}",
                    "branch": branch,
                    "nodes": n,
                    "embedding dim": d_red,
                    "relation dim": n_red,
                    "materialised (M MAC)": materialised / 1e6,
                    "factorised (M MAC)": factorised / 1e6,
                    "ratio": materialised / factorised,
                    "R size per image (MiB)": n * n * 4 / 2**20,
                }
            )
    return pd.DataFrame(rows).style.hide(axis="index").format(precision=1)


def factorised_check(seed: int = 0):
    """One RGA module (64 channels at 16x8) computed both ways with the same weights and
    non-trivial BN statistics, in train and eval mode: the largest absolute difference (it
    raises if the two differ beyond float32 tolerance)."""
    torch.manual_seed(seed)
    fact = RGAModule(64, 16, 8, relation="factorised")
    mat = RGAModule(64, 16, 8, relation="materialised")
    for m in fact.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    mat.load_state_dict(fact.state_dict())
    x = torch.randn(4, 64, 16, 8)
    checks = []
    for mode in ("train", "eval"):
        fact.train(mode == "train")
        mat.train(mode == "train")
        with torch.no_grad():
            a, b = fact(x), mat(x)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        checks.append({"mode": mode, "max |factorised - materialised|": (a - b).abs().max().item()})
    column = "max |factorised - materialised|"
    return pd.DataFrame(checks).style.hide(axis="index").format({column: "{:.2e}"})
