"""Supplementary Table 1 regenerated from the model, and the model's size and cost.

Output sizes come from forward hooks on one eval-mode forward pass (batch 1), so the table shows
what the network really computes. FLOPs are counted by ``torch.utils.flop_counter`` (FLOPs =
2 x multiply-adds, as in the spec's measurement of the official module).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rga.study.report.paths import book_dir

__all__ = ["architecture_table", "check_against_paper", "complexity_table", "load_paper_table1"]

STAGES = {1: "conv2_x", 2: "conv3_x", 3: "conv4_x", 4: "conv5_x"}


def _size(t: torch.Tensor) -> str:
    """(1, C, h, w) -> "h × w × C"; (1, D) -> "1 × 1 × D"."""
    if t.dim() == 4:
        _, c, h, w = t.shape
        return f"{h} × {w} × {c}"
    return f"1 × 1 × {t.shape[-1]}"


def _describe(module: nn.Module) -> str:
    """A short description of a layer, in the paper's vocabulary where there is one."""
    if isinstance(module, nn.Conv2d):
        k, s = module.kernel_size, module.stride
        return f"conv {k[0]} × {k[1]}, {module.out_channels}, stride {s[0]}"
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"{type(module).__name__}({module.num_features})"
    if isinstance(module, nn.MaxPool2d):
        return f"max pool {module.kernel_size} × {module.kernel_size}, stride {module.stride}"
    if isinstance(module, nn.Linear):
        bias = "" if module.bias is not None else ", no bias"
        return f"Linear({module.in_features} → {module.out_features}{bias})"
    if hasattr(module, "use_spatial"):  # RGAModule
        parts = [n for n, on in (("S", module.use_spatial), ("C", module.use_channel)) if on]
        rel = f"relations {module.relation}" if module.use_relation else "no relations"
        return f"RGA-{''.join(parts)} ({rel})"
    return type(module).__name__


def architecture_table(model: nn.Module) -> pd.DataFrame:
    """Rows of supplementary Table 1 for a ``rga.model.ReIDNet``: layer, output size
    ("h × w × C" for the input size the model was built for), module.

    Runs one forward pass on a (1, 3, height, width) zero image in eval mode without gradients;
    the model's train/eval mode is restored.
    """
    trunk = model.backbone
    hooked: dict[str, nn.Module] = {
        "conv1": trunk.conv1,
        "bn1": trunk.relu,  # the stem's ReLU (inplace, after bn1): "Batch Normalization + ReLU"
        "maxpool": trunk.maxpool,
    }
    for stage, name in STAGES.items():
        hooked[name] = getattr(trunk, f"layer{stage}")
        if stage in model.attention_modules:
            hooked[f"attention{stage}"] = model.attention_modules[stage]
    sizes: dict[str, str] = {}

    def hook_for(key: str):
        def hook(_module, _args, out) -> None:  # must return None: a value would replace `out`
            sizes.setdefault(key, _size(out))

        return hook

    handles = [m.register_forward_hook(hook_for(key)) for key, m in hooked.items()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 3, model.height, model.width))
            logits = model.classifier(out.z_hat)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    sizes["pooling"] = _size(out.z)
    sizes["bn"] = _size(out.z_hat)
    sizes["fc (classifier)"] = str(logits.shape[-1])
    modules = {**hooked, "pooling": None, "bn": model.feat_bn, "fc (classifier)": model.classifier}
    rows = []
    for key in (
        ["conv1", "bn1", "maxpool"]
        + [k for s, n in STAGES.items() for k in (n, f"attention{s}") if k in sizes]
        + ["pooling", "bn", "fc (classifier)"]
    ):
        m = modules[key]
        if key == "pooling":
            what = "global average pooling (z)"
        elif key == "bn1":
            what = f"{_describe(trunk.bn1)} + ReLU"
        elif key.startswith("conv") and key.endswith("_x"):
            what = f"{len(m)} x {type(m[0]).__name__}"
        else:
            what = _describe(m)
        rows.append({"layer": key, "output size": sizes[key], "module (ours)": what})
    return pd.DataFrame(rows)


def load_paper_table1(path: str | Path | None = None) -> pd.DataFrame:
    """``book/paper_table1.csv``: layer, paper_output_size, paper_architecture, source."""
    path = Path(path) if path is not None else book_dir() / "paper_table1.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def check_against_paper(ours: pd.DataFrame, paper: pd.DataFrame, num_classes: int) -> pd.DataFrame:
    """Our table joined with the paper's on the layer name, with a column "check":
    "✓" when the sizes agree, "✓ (h × w only)" when the paper gives fewer numbers than we do
    (its conv5_x row lacks the channels), "✓ (N_id)" for the classifier when its width equals
    ``num_classes``, "✗" otherwise, "—" for layers the paper does not list."""
    table = ours.merge(
        paper[["layer", "paper_output_size", "paper_architecture"]],
        on="layer",
        how="outer",
        sort=False,
    )
    order = {k: i for i, k in enumerate(paper["layer"])}
    table["_o"] = table["layer"].map(order).fillna(len(order))
    table = table.sort_values("_o", kind="stable").drop(columns="_o").fillna("")
    checks = []
    for _, row in table.iterrows():
        got, want = _numbers(row["output size"]), _numbers(row["paper_output_size"])
        if not row["paper_output_size"] or not row["output size"]:
            checks.append("—")
        elif row["paper_output_size"] == "N_id":
            checks.append("✓ (N_id)" if got == [num_classes] else "✗")
        elif got == want:
            checks.append("✓")
        elif len(want) < len(got) and got[: len(want)] == want:
            checks.append("✓ (h × w only)")
        else:
            checks.append("✗")
    table["check"] = checks
    return table.rename(
        columns={"paper_output_size": "paper", "paper_architecture": "paper's description"}
    ).reset_index(drop=True)


def _flops(model: nn.Module) -> tuple[float, dict[str, float]]:
    """Total forward FLOPs at batch 1 and the FLOPs of each attention module."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False, depth=3) as counter:
            model(torch.zeros(1, 3, model.height, model.width))
    finally:
        model.train(was_training)
    per_module = {}
    for name, counts in counter.get_flop_counts().items():
        m = re.fullmatch(r".*\.attention\.att(\d)", name)
        if m:
            per_module[f"att{m.group(1)}"] = float(sum(counts.values()))
    return float(counter.get_total_flops()), per_module


def complexity_table(models: Mapping[str, nn.Module]) -> pd.DataFrame:
    """Parameters and forward GFLOPs (batch 1, the model's input size) of each model:
    columns model, parameters, attention parameters, GFLOPs, GFLOPs att1..att4."""
    rows = []
    for label, model in models.items():
        total, per_module = _flops(model)
        attention = sum(p.numel() for m in model.attention_modules.values() for p in m.parameters())
        row = {
            "model": label,
            "parameters": sum(p.numel() for p in model.parameters()),
            "attention parameters": attention,
            "GFLOPs": total / 1e9,
        }
        for stage in range(1, 5):
            value = per_module.get(f"att{stage}")
            row[f"GFLOPs att{stage}"] = None if value is None else value / 1e9
        rows.append(row)
    return pd.DataFrame(rows)
