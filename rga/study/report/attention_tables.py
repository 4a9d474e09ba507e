"""The attention precision of our runs (supplementary Figure 1's claim) and the variants table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from rga.study.report.labels import KIND_LABELS, positions_key
from rga.study.report.runs import format_mean_sd, headline

PRECISION_COLUMNS = [
    "run_id",
    "group",
    "model",
    "label",
    "seed",
    "stage",
    "mass_on_person",
    "auroc",
    "chance",
]


def attention_precision_table(
    runs: pd.DataFrame, stages: Sequence[int] | None = None
) -> pd.DataFrame:
    """Long table of the runs' attention precision: run_id, group, model, label, seed, stage,
    mass_on_person, auroc, chance. Runs without ``attention_precision`` are skipped."""
    rows = []
    if runs.empty or "attention_precision" not in runs:
        return pd.DataFrame(columns=PRECISION_COLUMNS)
    for _, run in runs.iterrows():
        scores = run["attention_precision"]
        if not isinstance(scores, dict):
            continue
        for stage, values in scores.items():
            stage = int(stage)
            if stages is not None and stage not in stages:
                continue
            rows.append(
                {
                    "run_id": run.get("run_id"),
                    "group": run.get("group"),
                    "model": run.get("model"),
                    "label": run.get("label"),
                    "seed": run.get("seed"),
                    "stage": stage,
                    **{k: values.get(k) for k in ("mass_on_person", "auroc", "chance")},
                }
            )
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def precision_summary(precision: pd.DataFrame) -> pd.DataFrame:
    """:func:`attention_precision_table` summarised: one row per (group, model label, e.g.
    "RGA-SC conv3_x": runs at other positions are not pooled), columns
    ("mass on person" | "AUROC", "att<stage>") as mean ± sd over seeds, and "chance" (the mean
    mask area, what a uniform map's mass on person would be). Empty in, empty out."""
    if precision.empty:
        return pd.DataFrame()
    rows = {}
    for (group, model), g in precision.groupby(["group", "label"], sort=False):
        row = {}
        for key, title in (("mass_on_person", "mass on person"), ("auroc", "AUROC")):
            for stage, s in g.groupby("stage"):
                row[(title, f"att{stage}")] = format_mean_sd(s[key], digits=3)
        row[("chance", "")] = f"{g['chance'].astype(float).mean():.3f}"
        row[("seeds", "")] = g["seed"].nunique()
        rows[(group, model)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "model"])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def variants_table(
    runs: pd.DataFrame, metrics=("R1", "mAP", "mINP"), stage: int = 4
) -> pd.DataFrame:
    """Attention variants: one row per (group, model, positions) with mean ± sd over seeds of
    the headline metrics and of the attention precision at ``stage`` (when recorded)."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    order = list(KIND_LABELS.values())
    for (group, model, pos), g in runs.groupby(
        ["group", "model", runs["positions"].map(positions_key)], sort=False
    ):
        row = {"runs of": group, "model": model, "positions": pos or "-"}
        for m in metrics:
            row[m] = format_mean_sd(headline(g, m))
        precision = attention_precision_table(g, stages=(stage,))
        for key in ("mass_on_person", "auroc"):
            values = precision[key] if key in precision else []
            row[f"{key} (att{stage})"] = format_mean_sd(values, digits=3)
        row["seeds"] = g["seed"].nunique()
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_order"] = [order.index(m) if m in order else len(order) for m in out["model"]]
    return (
        out.sort_values(["runs of", "_order", "positions"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
