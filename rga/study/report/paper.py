"""The paper's numbers (``book/paper_numbers.csv``), the discrepancy table, and ours beside them.

The paper's numbers are in long format: one row per table, dataset, setting and metric, with
the source of each number. "Paper vs ours" is a join on the setting (Table 2 row names), never
on the dataset: the paper's numbers are on real data, ours on whatever each run used, and each
column says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rga.study.report.labels import BASELINE, positions_key
from rga.study.report.paths import book_dir
from rga.study.report.runs import format_mean_sd, headline


def load_paper_numbers(path: str | Path | None = None) -> pd.DataFrame:
    """``book/paper_numbers.csv``: columns table, dataset, dataset_label, setting, kind,
    positions, metric, feature, value, source (``value`` a float, ``positions`` canonical text)."""
    path = Path(path) if path is not None else book_dir() / "paper_numbers.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    df["positions"] = df["positions"].map(positions_key)
    return df


def load_discrepancies(path: str | Path | None = None) -> pd.DataFrame:
    """``book/discrepancies.csv``: one row per difference between paper, official code and us."""
    path = Path(path) if path is not None else book_dir() / "discrepancies.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def discrepancies_table(
    profiles: Mapping[str, object], path: str | Path | None = None
) -> pd.DataFrame:
    """The discrepancies table with a "switch" column and, for each of ``profiles``
    ({column title: RunConfig}), the values its config fields take there.

    Raises ValueError when the file names a config field that RunConfig does not have.
    """
    table = load_discrepancies(path)
    named = {f for cell in table["config_fields"] for f in cell.split()}
    for title, config in profiles.items():
        unknown = sorted(f for f in named if not hasattr(config, f))
        if unknown:
            raise ValueError(
                f"discrepancies.csv names config fields {unknown} that {title} does not have; "
                "fix the config_fields column of book/discrepancies.csv"
            )
        table[title] = [
            "; ".join(f"{f} = {getattr(config, f)!r}" for f in cell.split())
            for cell in table["config_fields"]
        ]
    table["switch"] = [
        " · ".join(part for part in (", ".join(cell.split()), other) if part)
        for cell, other in zip(table["config_fields"], table["other_switch"], strict=True)
    ]
    columns = ["topic", "paper", "official code", "this project", "switch", *profiles, "source"]
    return table[columns].set_index("topic")


def paper_vs_ours_table(
    runs: pd.DataFrame,
    paper: pd.DataFrame,
    metrics: Sequence[str] = ("R1", "mAP"),
    table: str = "supp-table2",
) -> pd.DataFrame:
    """Supplementary Table 2 with our numbers beside it.

    Rows: the Table 2 settings in the paper's order (plus any other setting we ran). Columns:
    ("<dataset label>, paper", metric) for each of the paper's datasets, then for each group of
    our runs (:func:`run_group_label`) (group, metric) as "mean ± sd" over seeds and
    (group, "seeds"). Our runs are those with kind RGA-SC or the baseline.
    """
    p = paper[paper["table"] == table]
    out = p.pivot_table(
        index="setting", columns=["dataset_label", "metric"], values="value", aggfunc="first"
    )
    out = out.reindex(
        columns=pd.MultiIndex.from_product([p["dataset_label"].unique(), list(metrics)])
    )
    out.columns = pd.MultiIndex.from_tuples([(f"{d}, paper", m) for d, m in out.columns])
    out = out.map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    order = list(dict.fromkeys(p["setting"]))
    if not runs.empty:
        ours = runs[runs["kind"].isin([BASELINE, "rga-sc"])]
        for group, g in ours.groupby("group", sort=True):
            for setting, s in g.groupby("setting", sort=False):
                if setting not in order:
                    order.append(setting)
                for m in metrics:
                    out.loc[setting, (group, m)] = format_mean_sd(headline(s, m))
                out.loc[setting, (group, "seeds")] = str(s["seed"].nunique())
    out = out.reindex(order).fillna("")
    out.index.name = "setting"
    return out


def settings_long(
    runs: pd.DataFrame, paper: pd.DataFrame, metrics=("R1", "mAP"), table="supp-table2"
) -> pd.DataFrame:
    """Long format for plots: one row per (source, setting, metric, seed) with ``value`` and
    ``gain`` (value minus the mean baseline of the same source and metric).

    ``source`` is "paper: <dataset>" or our run group; ``seed`` is NaN for the paper.
    """
    p = paper[(paper["table"] == table) & paper["metric"].isin(metrics)]
    frames = [
        pd.DataFrame(
            {
                "source": "paper: " + p["dataset_label"],
                "setting": p["setting"],
                "metric": p["metric"],
                "seed": np.nan,
                "value": p["value"].to_numpy(),
            }
        )
    ]
    if not runs.empty:
        ours = runs[runs["kind"].isin([BASELINE, "rga-sc"])]
        for m in metrics:
            frames.append(
                pd.DataFrame(
                    {
                        "source": ours["group"],
                        "setting": ours["setting"],
                        "metric": m,
                        "seed": ours["seed"].astype(float),
                        "value": headline(ours, m).to_numpy(),
                    }
                )
            )
    long = pd.concat(frames, ignore_index=True)
    base = (
        long[long["setting"] == "Baseline"]
        .groupby(["source", "metric"])["value"]
        .mean()
        .rename("baseline")
    )
    long = long.join(base, on=["source", "metric"])
    long["gain"] = long["value"] - long["baseline"]
    return long.drop(columns="baseline")
