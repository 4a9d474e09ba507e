"""Supplementary Figure 2's reading as numbers: how the parts of the body split each stage's
spatial map (``rga.analysis.parts``), from the ``attention_parts`` entry of results files."""

from __future__ import annotations

import pandas as pd

from rga.study.report.runs import format_mean_sd
from rga.synth import PARTS

__all__ = ["PART_SCORE_COLUMNS", "attention_parts_table", "parts_sentences", "parts_summary"]

PART_SCORE_COLUMNS = ["explained", "explained_person"] + [f"mean_{p}" for p in PARTS]
BODY_PARTS = [p for p in PARTS if p != "background"]


def attention_parts_table(runs: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    """Long table of the runs' part scores: run_id, group, model, setting, seed, stage and the
    scores (``PART_SCORE_COLUMNS``); one row per (run, stage). Runs without ``attention_parts``
    in their results file are skipped, and a run listed twice (two experiments share it) counts
    once. ``label``: keep only runs of that setting, by its glossary label
    (:func:`rga.study.report.labels.setting_label`, e.g. "RGA-SC conv2-5_x")."""
    columns = ["run_id", "group", "model", "setting", "seed", "stage", *PART_SCORE_COLUMNS]
    if runs.empty or "attention_parts" not in runs:
        return pd.DataFrame(columns=columns)
    rows, seen = [], set()
    for _, run in runs.iterrows():
        if run["run_id"] in seen or (label is not None and run.get("setting") != label):
            continue
        scores = run["attention_parts"]
        if not isinstance(scores, dict):
            continue
        seen.add(run["run_id"])
        for stage, values in sorted(scores.items(), key=lambda kv: int(kv[0])):
            rows.append(
                {
                    **{k: run.get(k) for k in ("run_id", "group", "model", "setting", "seed")},
                    "stage": int(stage),
                    **{k: values.get(k) for k in PART_SCORE_COLUMNS},
                }
            )
    return pd.DataFrame(rows, columns=columns)


def parts_summary(parts: pd.DataFrame) -> pd.DataFrame:
    """:func:`attention_parts_table` (one model) as the page's table: one row per (runs of,
    module), columns ("variance explained", "by the 7 regions" | "person vs background") in
    percent and ("mean gate", <region>), mean ± sd over seeds, and the number of seeds.
    Empty in, empty out."""
    if parts.empty:
        return pd.DataFrame()
    rows = {}
    for (group, stage), g in parts.groupby(["group", "stage"], sort=False):
        row = {
            ("variance explained", "by the 7 regions"): _percent(g["explained"]),
            ("variance explained", "person vs background"): _percent(g["explained_person"]),
        }
        for part in PARTS:
            row[("mean gate", part)] = format_mean_sd(g[f"mean_{part}"].astype(float), digits=3)
        row[("seeds", "")] = g["seed"].nunique()
        rows[(group, f"RGA-SC{stage} (after conv{stage + 1}_x)")] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "module"])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def _percent(shares: pd.Series) -> str:
    """Shares as "mean ± sd %" over seeds; "constant map" when no seed's map varied."""
    values = shares.astype(float)
    if values.isna().all():
        return "constant map"
    return f"{format_mean_sd(100 * values, digits=0)} %"


def parts_sentences(parts: pd.DataFrame) -> list[str]:
    """One sentence per stage, from the means over seeds of :func:`attention_parts_table`
    (one model): how much of the map the parts explain, beyond person vs background, which
    region gets the highest and which the lowest gate, and how many body parts get less than
    the background."""
    sentences = []
    for stage, g in parts.groupby("stage"):
        means = g[PART_SCORE_COLUMNS].astype(float).mean()
        gates = {p: means[f"mean_{p}"] for p in PARTS if pd.notna(means[f"mean_{p}"])}
        module = f"RGA-SC{stage} (after conv{stage + 1}_x)"
        if not gates:
            continue
        if pd.isna(means["explained"]):
            sentences.append(
                f"{module}: the map is constant over each image (gate {gates[PARTS[0]]:.3f}), "
                "so no region gets more attention than another."
            )
            continue
        top, bottom = max(gates, key=gates.get), min(gates, key=gates.get)
        below = [p for p in BODY_PARTS if p in gates and gates[p] < gates.get("background", -1)]
        if not below:
            versus = "every body part gets more than the background."
        elif len(below) == len(BODY_PARTS):
            versus = "all six body parts get less than the background."
        else:
            verb = "gets" if len(below) == 1 else "get"
            versus = f"{len(below)} of the six body parts ({', '.join(below)}) {verb} less than the background."
        sentences.append(
            f"{module}: the seven regions explain {means['explained']:.0%} of the map's variance "
            f"over the pixels, person versus background alone {means['explained_person']:.0%}; "
            f"the highest mean gate is on the {top} ({gates[top]:.3f}), the lowest on the "
            f"{bottom} ({gates[bottom]:.3f}); {versus}"
        )
    return sentences
