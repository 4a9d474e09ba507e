"""Supplementary Figure 2's reading as numbers: how the parts of the body split each stage's
spatial map (``rga.analysis.parts``), from the ``attention_parts`` entry of results files.

The data side only: the Attention maps page's table and sentences made from it are
``rga.study.pages.attention.parts_summary`` and ``parts_sentences``."""

from __future__ import annotations

import pandas as pd

from rga.synth import PARTS

__all__ = ["BODY_PARTS", "PART_SCORE_COLUMNS", "attention_parts_table"]

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
