"""The code behind the Architecture page (``book/architecture.md``): supplementary Table 1
regenerated from the model, the model's size and cost, and the main
paper's Table 3 (parameters of each attention design) beside ours.

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

__all__ = [
    "costs_view",
    "page_costs",
    "parameter_counts_view",
    "reference_view",
    "table1_view",
    "DESIGNS",
    "DETAILS",
    "NOT_BUILT",
    "architecture_table",
    "check_against_paper",
    "complexity_table",
    "load_paper_table1",
    "load_paper_table3",
    "parameter_counts_table",
]

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


# The designs of the main paper's Tables 1, 2 and 4 that we build: (paper name, kind, embedding).
DESIGNS: tuple[tuple[str, str | None, str], ...] = (
    ("Baseline", None, "asymmetric"),
    ("RGA-S w/o Rel.", "rga-s-norel", "asymmetric"),
    ("RGA-S w/o Ori.", "rga-s-noori", "asymmetric"),
    ("RGA-S", "rga-s", "asymmetric"),
    ("RGA-C w/o Rel.", "rga-c-norel", "asymmetric"),
    ("RGA-C w/o Ori.", "rga-c-noori", "asymmetric"),
    ("RGA-C", "rga-c", "asymmetric"),
    ("RGA-S//C", "rga-sc-parallel", "asymmetric"),
    ("RGA-CS", "rga-cs", "asymmetric"),
    ("RGA-SC", "rga-sc", "asymmetric"),
    ("RGA-SC w/o Rel.", "rga-sc-norel", "asymmetric"),
    ("RGA-SC, w/o Embedding", "rga-sc", "none"),
    ("RGA-SC, Symmetric", "rga-sc", "symmetric"),
    ("CBAM-S", "cbam-s", "asymmetric"),
    ("CBAM-C", "cbam-c", "asymmetric"),
    ("CBAM-CS", "cbam", "asymmetric"),
    ("SE", "se", "asymmetric"),
    ("NL", "nonlocal", "asymmetric"),
)
# How the non-RGA designs are built (RGA: the official ratios 8/8/8).
DETAILS = {
    "cbam": "r = 16",
    "cbam-s": "7 × 7 conv",
    "cbam-c": "r = 16",
    "se": "r = 16",
    "nonlocal": "C' = C / 4",
}
# Designs of the paper's tables whose source (references [23] and [5]) we cannot identify.
NOT_BUILT = ("FC-S", "FC-C", "FC-S//C", "SNL")


def load_paper_table3(path: str | Path | None = None) -> pd.DataFrame:
    """``book/paper_table3.csv``: design, group, parameters_millions, source."""
    path = Path(path) if path is not None else book_dir() / "paper_table3.csv"
    return pd.read_csv(path, dtype={"group": str}, keep_default_na=False)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _alternatives(arch: str, positions: tuple[int, ...]) -> list[tuple[str, str, int]]:
    """Constructions of SE, NL and CBAM that we did not choose: (design, placement, the
    parameters they add to the baseline). Built on the meta device (no memory, no init cost)."""
    from rga.model import CBAM, NonLocalBlock, SqueezeExcitation, build_trunk
    from rga.model.backbone import stage_channels

    trunk = build_trunk(arch)
    channels = stage_channels(trunk)
    blocks = {s: len(getattr(trunk, f"layer{s}")) for s in positions}
    after = _placement(positions, in_block=False)
    inside = _placement(positions, in_block=True)
    return [
        (
            "SE",
            f"{after} (r = 16)",
            sum(_count(SqueezeExcitation(channels[s])) for s in positions),
        ),
        (
            "NL",
            f"{after} (C' = C / 2, Wang et al.)",
            sum(_count(NonLocalBlock(channels[s], reduction=2)) for s in positions),
        ),
        (
            "CBAM-C",
            f"{inside} (r = 16)",
            sum(blocks[s] * _count(CBAM(channels[s], spatial=False)) for s in positions),
        ),
        (
            "CBAM-C",
            f"{after} (r = 8)",
            sum(_count(CBAM(channels[s], spatial=False, reduction=8)) for s in positions),
        ),
        (
            "CBAM-S",
            f"{inside} (7 × 7 conv)",
            sum(blocks[s] * _count(CBAM(channels[s], channel=False)) for s in positions),
        ),
    ]


def _placement(positions: tuple[int, ...], *, in_block: bool, kind: str | None = "") -> str:
    """ "after stages 1, 2, 3, 4" or "in every residual block of stages ...", with ``DETAILS``;
    "" for the baseline (kind None)."""
    if kind is None:
        return ""
    stages = ", ".join(map(str, positions))
    where = f"in every residual block of stages {stages}" if in_block else f"after stages {stages}"
    return f"{where} ({DETAILS[kind]})" if kind in DETAILS else where


def parameter_counts_table(
    *,
    num_classes: int = 751,
    arch: str = "resnet50",
    height: int = 256,
    width: int = 128,
    positions: tuple[int, ...] = (1, 2, 3, 4),
    paper: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Main paper Table 3 beside ours: the parameters of every design we build (``DESIGNS``),
    of the constructions we rejected for SE, NL and CBAM, and the paper's designs we do not build.

    Each model is a ``ReIDNet`` with attention at ``positions``, built once on the meta device
    (shapes only: no memory, no initialisation, no pretrained weights). Counts include every
    parameter, the frozen BNNeck bias too. ``paper``: ``load_paper_table3()`` by default.

    Columns: design, kind, embedding, placement, "built as" ("kind", "alternative (not built)",
    "not built"), parameters, "added (M)" (over the baseline), "ours (M)", "paper (M)" (empty
    where Table 3 has no count) and "check": "✓" when ours rounds to the paper's 0.1 M, "✗" when
    not, "—" without a paper count or without a model of ours.
    """
    from rga.model import ReIDNet, has_relations

    paper = load_paper_table3() if paper is None else paper
    paper_m = dict(zip(paper["design"], paper["parameters_millions"].astype(float), strict=True))
    rows = []
    with torch.device("meta"):
        baseline = None
        for design, kind, embedding in DESIGNS:
            model = ReIDNet(
                num_classes,
                arch=arch,
                kind=kind,
                positions=positions,
                height=height,
                width=width,
                embedding=embedding,
            )
            count = _count(model)
            baseline = count if kind is None else baseline
            rows.append(
                {
                    "design": design,
                    "kind": kind or "none",
                    "embedding": embedding if has_relations(kind) else "",
                    "placement": _placement(positions, in_block=kind == "se", kind=kind),
                    "built as": "kind",
                    "parameters": count,
                }
            )
        for design, placement, added in _alternatives(arch, positions):
            rows.append(
                {
                    "design": design,
                    "kind": "",
                    "embedding": "",
                    "placement": placement,
                    "built as": "alternative (not built)",
                    "parameters": baseline + added,
                }
            )
    for design in NOT_BUILT:
        rows.append(
            {
                "design": design,
                "kind": "",
                "embedding": "",
                "placement": "",
                "built as": "not built (source not identified)",
                "parameters": None,
            }
        )
    table = pd.DataFrame(rows)
    table["added (M)"] = (table["parameters"] - baseline) / 1e6
    table["ours (M)"] = table["parameters"] / 1e6
    table["paper (M)"] = table["design"].map(paper_m)
    checks = []
    for ours, theirs in zip(table["ours (M)"], table["paper (M)"], strict=True):
        if pd.isna(ours) or pd.isna(theirs):
            checks.append("—")
        else:
            checks.append("✓" if round(ours, 1) == round(theirs, 1) else "✗")
    table["check"] = checks
    return table


# What the page shows: ResNet-50 at the paper's 256x128 with Market-1501's 751 training identities.
PAGE_CLASSES, PAGE_SIZE = 751, (256, 128)


def table1_view():
    """Supplementary Table 1 from our RGA-SC model, each row checked against the paper's (it
    raises if a row does not match)."""
    from rga.model import ReIDNet

    model = ReIDNet(num_classes=PAGE_CLASSES, kind="rga-sc", positions=(1, 2, 3, 4),
                    height=PAGE_SIZE[0], width=PAGE_SIZE[1])  # fmt: skip
    table = check_against_paper(architecture_table(model), load_paper_table1(), PAGE_CLASSES)
    if table["check"].str.startswith("✗").any():
        raise AssertionError(f"Table 1 differs from the paper's:\n{table}")
    return table.style.hide(axis="index")


BASELINE_MODEL = "baseline (ResNet-50, last stride 1)"
FACTORISED_MODEL = "RGA-SC, factorised relations (ours)"
MATERIALISED_MODEL = "RGA-SC, materialised relations (official)"


def page_costs() -> pd.DataFrame:
    """:func:`complexity_table` of the baseline and RGA-SC with each relation computation."""
    from rga.model import ReIDNet

    return complexity_table({
        BASELINE_MODEL: ReIDNet(PAGE_CLASSES, kind=None, positions=()),
        FACTORISED_MODEL: ReIDNet(PAGE_CLASSES, kind="rga-sc", relation="factorised"),
        MATERIALISED_MODEL: ReIDNet(PAGE_CLASSES, kind="rga-sc", relation="materialised"),
    })  # fmt: skip


def costs_view(costs: pd.DataFrame):
    formats = {"parameters": "{:,}", "attention parameters": "{:,}"}
    formats |= {c: "{:.2f}" for c in costs if "GFLOPs" in c}
    return costs.style.hide(axis="index").format(formats, na_rep="-")


def reference_view(costs: pd.DataFrame, reference: str | Path | None = None):
    """Our GFLOPs beside the official module's measured ones (``book/reference_costs.csv``), for
    the whole model and each module, with whether our materialised computation matches."""
    table = pd.read_csv(reference or book_dir() / "reference_costs.csv")
    flops = table[table["unit"] == "GFLOPs"].set_index(["model", "part"])["value"]
    official = "official RGA-SC (materialised relations)"
    ours = costs.set_index("model")
    parts = [("whole model", "GFLOPs")] + [(f"rga_att{s}", f"GFLOPs att{s}") for s in range(1, 5)]
    rows = [{"part": part, "official (spec, GFLOPs)": flops[(official, part)],
             "ours materialised": ours.loc[MATERIALISED_MODEL, column],
             "ours factorised": ours.loc[FACTORISED_MODEL, column]}
            for part, column in parts]  # fmt: skip
    baseline = ours.loc[BASELINE_MODEL, "GFLOPs"]
    rows.append({"part": "baseline whole model",
                 "official (spec, GFLOPs)": flops[("torchvision ResNet-50 (last stride 1)",
                                                   "whole model")],
                 "ours materialised": baseline, "ours factorised": baseline})  # fmt: skip
    compare = pd.DataFrame(rows)
    compare["materialised matches"] = [
        "✓" if abs(a - b) < 0.01 else "✗"
        for a, b in zip(
            compare["official (spec, GFLOPs)"], compare["ours materialised"], strict=True
        )
    ]
    return compare.style.hide(axis="index").format(precision=2)


def parameter_counts_view():
    """:func:`parameter_counts_table` of ResNet-50 at the page's size, beside the paper's."""
    counts = parameter_counts_table(num_classes=PAGE_CLASSES, arch="resnet50", height=PAGE_SIZE[0],
                                    width=PAGE_SIZE[1], positions=(1, 2, 3, 4))  # fmt: skip
    formats = {"added (M)": "{:.2f}", "ours (M)": "{:.2f}", "paper (M)": "{:.1f}"}
    return counts.drop(columns=["parameters"]).style.hide(axis="index").format(formats, na_rep="-")
