"""The attention precision of our runs (supplementary Figure 1's claim) and the variants table.

Scores pooled over experiments count each run id once (two experiments that share a model hold
the same run), and settings are never pooled across positions: RGA-SC after conv5_x alone and
RGA-SC after all four stages are two rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from rga.study.report.formats import MISSING, mean_sd, mean_sd_ci
from rga.study.report.labels import STAGE_LABELS, metric_label, setting_sort_key
from rga.study.report.runs import headline, unique_runs

PRECISION_COLUMNS = [
    "run_id",
    "group",
    "setting_key",
    "setting",
    "model",
    "seed",
    "stage",
    "mass_on_person",
    "auroc",
    "chance",
]
SCORES = ("auroc", "mass_on_person")


def attention_precision_table(
    runs: pd.DataFrame, stages: Sequence[int] | None = None
) -> pd.DataFrame:
    """Long table of the runs' attention precision, one row per (run id, stage): run_id, group,
    setting_key, setting, model, seed, stage, mass_on_person, auroc, chance. Runs without
    ``attention_precision`` are skipped; a run id held by several experiments counts once."""
    rows = []
    if runs.empty or "attention_precision" not in runs:
        return pd.DataFrame(columns=PRECISION_COLUMNS)
    for _, run in unique_runs(runs).iterrows():
        scores = run["attention_precision"]
        if not isinstance(scores, dict):
            continue
        for stage, values in scores.items():
            stage = int(stage)
            if stages is not None and stage not in stages:
                continue
            rows.append(
                {
                    **{k: run.get(k) for k in PRECISION_COLUMNS[:6]},
                    "stage": stage,
                    **{k: values.get(k) for k in ("mass_on_person", "auroc", "chance")},
                }
            )
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def _ordered(precision: pd.DataFrame) -> list:
    return sorted(
        precision.groupby(["group", "setting_key"], sort=False).groups,
        key=lambda gk: (gk[0], setting_sort_key(gk[1])),
    )


def precision_summary(precision: pd.DataFrame, score: str = "auroc") -> pd.DataFrame:
    """One score of :func:`attention_precision_table` summarised: one row per (group, setting),
    a column per module position ("after conv2_x", ...) with mean ± sd over seeds and the 95 %
    t-interval, "–" where the setting has no module; then the seeds. (The chance level of the
    mass on person is the mean mask area, ``precision["chance"].mean()``.) Empty in, empty
    out."""
    if precision.empty:
        return pd.DataFrame()
    digits = 3
    rows = {}
    by_setting = precision.groupby(["group", "setting_key"], sort=False)
    for group, setting in _ordered(precision):
        g = by_setting.get_group((group, setting)).drop_duplicates(["run_id", "stage"])
        row = {}
        for stage, name in STAGE_LABELS.items():
            values = g.loc[g["stage"] == stage, score]
            row[f"after {name}"] = (
                mean_sd_ci(values, digits, bounds=(0.0, 1.0)) if len(values) else MISSING
            )  # AUROC and mass on person lie in [0, 1]
        row["seeds"] = str(g["seed"].nunique())
        rows[(group, g["setting"].iloc[0])] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "setting"])
    return out


def variants_table(
    runs: pd.DataFrame, metrics=("R1", "mAP", "mINP"), stage: int = 4
) -> pd.DataFrame:
    """Our numbers by setting: one row per (group, setting) with mean ± sd over seeds of the
    headline metrics and of the attention precision at ``stage`` (when recorded, else "–"),
    every cell as text; columns named by the glossary ("AUROC, after conv5_x")."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    where = f"after {STAGE_LABELS[stage]}"
    for (group, setting), g in runs.groupby(["group", "setting_key"], sort=False):
        g = g.drop_duplicates("run_id")
        row = {
            "runs of": group,
            "setting": g["setting"].iloc[0],
            "_order": setting_sort_key(setting),
        }
        for m in metrics:
            row[metric_label(m, unit=True)] = mean_sd(headline(g, m))
        precision = attention_precision_table(g, stages=(stage,))
        for key in SCORES:
            values = precision[key] if key in precision else []
            row[f"{metric_label(key)}, {where}"] = mean_sd(values, digits=3)
        row["seeds"] = str(g["seed"].nunique())
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(["runs of", "_order"]).drop(columns="_order").reset_index(drop=True)
