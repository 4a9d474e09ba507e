"""The paper's numbers (``book/paper_numbers.csv``), the discrepancy table, and ours beside them.

The paper's numbers are in long format: one row per table, dataset, setting and metric, with
the source of each number. "Paper vs ours" is a join on the setting, (kind, positions,
embedding), never on the dataset: the paper's numbers are on real data, ours on whatever each
run used, and each column says which. Our numbers on SynthReID are never a reproduction of the
paper's real-data numbers; what can be set side by side is the *ordering* of the settings
(:func:`ordering_table`, :func:`ordering_agreement`).

Each experiment answers one of the paper's tables (:data:`PAPER_TABLES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from rga.study.report.formats import MISSING, decimal, mean_sd_ci
from rga.study.report.labels import (
    NOT_IMPLEMENTED,
    Setting,
    common_position,
    setting_key,
    setting_label,
    setting_sort_key,
)
from rga.study.report.paths import book_dir
from rga.study.report.runs import headline


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables and the experiment that answers it."""

    table: str  # the ``table`` value in paper_numbers.csv
    title: str  # how the book cites it
    what: str  # what it compares


PAPER_TABLES = {
    "plugin_position": PaperTable(
        "supp-table2",
        "supplementary Table 2",
        "one RGA-SC module after each single stage or all four",
    ),
    "attention_variants": PaperTable(
        "table1", "main paper Table 1", "RGA-S, RGA-C, their ablations and their combinations"
    ),
    "attention_designs": PaperTable(
        "table2", "main paper Table 2", "RGA against other attention designs"
    ),
    "embedding_functions": PaperTable(
        "table4", "main paper Table 4", "the embedding functions before the relations"
    ),
}


def load_paper_numbers(path: str | Path | None = None) -> pd.DataFrame:
    """``book/paper_numbers.csv``: columns table, dataset, dataset_label, setting (the paper's
    row name), kind, positions (canonical text), embedding, metric, feature, value (a float),
    source; with ``setting_key`` ((kind, positions, embedding)) and ``label`` (the glossary's
    name of the setting) added."""
    path = Path(path) if path is not None else book_dir() / "paper_numbers.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    if "embedding" not in df:
        df["embedding"] = ""
    df["setting_key"] = [
        setting_key(k, p, e or None)
        for k, p, e in zip(df["kind"], df["positions"], df["embedding"], strict=True)
    ]
    df["positions"] = [k[1] for k in df["setting_key"]]
    df["label"] = [setting_label(*k) for k in df["setting_key"]]
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
    from rga.study.report.formats import format_field

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
            "; ".join(f"{f} = {format_field(f, getattr(config, f))}" for f in cell.split())
            for cell in table["config_fields"]
        ]
    table["switch"] = [
        " · ".join(part for part in (", ".join(cell.split()), other) if part)
        for cell, other in zip(table["config_fields"], table["other_switch"], strict=True)
    ]
    columns = ["topic", "paper", "official code", "this project", "switch", *profiles, "source"]
    return table[columns].set_index("topic")


def _table_rows(paper: pd.DataFrame, table: str) -> pd.DataFrame:
    rows = paper[paper["table"] == table]
    if rows.empty:
        known = sorted(set(paper["table"]))
        raise KeyError(f"paper_numbers.csv has no table {table!r}; it has {known}")
    return rows


def group_names(runs: pd.DataFrame) -> dict[str, str]:
    """A short column name for each group of our runs: "ours" when there is one group,
    "ours (A)", "ours (B)", ... otherwise (:func:`groups_legend` says which is which)."""
    if runs.empty:
        return {}
    groups = sorted(runs["group"].unique())
    if len(groups) == 1:
        return {groups[0]: "ours"}
    return {g: f"ours ({chr(ord('A') + i)})" for i, g in enumerate(groups)}


def groups_legend(runs: pd.DataFrame) -> str:
    """ "ours: SynthReID (cpu preset), ..." for each short group name, one per line."""
    return "\n".join(
        f"{short}: {group.removeprefix('ours: ')}" for group, short in group_names(runs).items()
    )


def _ours(runs: pd.DataFrame, setting: Setting) -> pd.DataFrame:
    if runs.empty:
        return runs
    return runs[[k == setting for k in runs["setting_key"]]]


def paper_vs_ours_table(
    runs: pd.DataFrame,
    paper: pd.DataFrame,
    metrics: Sequence[str] = ("R1", "mAP"),
    table: str = "supp-table2",
) -> pd.DataFrame:
    """One of the paper's tables with our numbers beside it, every cell as text.

    Rows: the table's settings in the paper's order, named by the glossary (then any other
    setting we ran, in glossary order). Columns: ("<dataset>, paper", metric) for each of the
    paper's datasets; then, for each group of our runs (:func:`group_names`), (name, metric) as
    "mean ± sd" over seeds with the 95 % t-interval on a second line, and (name, "seeds").
    Settings we did not run read "not run"; designs this project has not built "not built".
    """
    p = _table_rows(paper, table)
    order = list(dict.fromkeys(p["setting_key"]))
    datasets = list(dict.fromkeys(p["dataset_label"]))
    names = group_names(runs)
    if not runs.empty:
        order += sorted(set(runs["setting_key"]) - set(order), key=setting_sort_key)
    columns = [(f"{d}, paper", m) for d in datasets for m in metrics]
    columns += [(name, c) for name in names.values() for c in (*metrics, "seeds")]
    values = {
        (s, d, m): v
        for s, d, m, v in zip(
            p["setting_key"], p["dataset_label"], p["metric"], p["value"], strict=True
        )
    }
    rows = {}
    for setting in order:
        row = {}
        for d in datasets:
            for m in metrics:
                row[(f"{d}, paper", m)] = decimal(values.get((setting, d, m)))
        for group, name in names.items():
            ours = _ours(runs[runs["group"] == group], setting)
            absent = "not built" if setting[0] in NOT_IMPLEMENTED else "not run"
            for m in metrics:
                row[(name, m)] = mean_sd_ci(headline(ours, m)) if len(ours) else absent
            row[(name, "seeds")] = str(ours["seed"].nunique()) if len(ours) else MISSING
        rows[setting_label(*setting)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out = out.reindex(columns=pd.MultiIndex.from_tuples(columns)).fillna(MISSING)
    out.index.name = "setting"
    return out


def _ranking(values: Mapping[Setting, float]) -> list[tuple[Setting, float]]:
    """Settings best first (ties in the paper's order)."""
    return sorted(values.items(), key=lambda kv: -kv[1])


def _paper_values(paper: pd.DataFrame, table: str, dataset: str, metric: str) -> dict:
    p = _table_rows(paper, table)
    p = p[(p["dataset_label"] == dataset) & (p["metric"] == metric)]
    return dict(zip(p["setting_key"], p["value"], strict=True))


def _our_means(runs: pd.DataFrame, group: str, metric: str) -> dict:
    g = runs[runs["group"] == group]
    return {s: float(headline(r, metric).mean()) for s, r in g.groupby("setting_key", sort=False)}


def ordering_table(
    runs: pd.DataFrame, paper: pd.DataFrame, table: str, metric: str = "mAP"
) -> pd.DataFrame:
    """The paper's ranking of its settings beside ours, best first, by ``metric``.

    Only settings both the paper and we have are ranked (all of the paper's when we have none).
    Columns: "paper, <dataset>" for each dataset and one per group of our runs; each cell
    "<setting> (<value>)", our value the mean over seeds. Index: the rank, from 1. When every
    ranked setting with a module sits at one position, the labels leave it out and
    ``attrs["position"]`` names it ("conv2-5_x").
    """
    p = _table_rows(paper, table)
    datasets = list(dict.fromkeys(p["dataset_label"]))
    names = group_names(runs)
    ours = {name: _our_means(runs, g, metric) for g, name in names.items()}
    common = set(p["setting_key"])
    for means in ours.values():
        common &= set(means)
    if not ours:
        common = set(p["setting_key"])
    short = bool(common_position(common))  # all at one position: said once, in ``attrs``

    def cell(setting: Setting, value: float) -> str:
        return f"{setting_label(*setting, with_position=not short)} ({value:.1f})"

    columns = {}
    for d in datasets:
        values = {s: v for s, v in _paper_values(paper, table, d, metric).items() if s in common}
        columns[f"paper, {d}"] = [cell(s, v) for s, v in _ranking(values)]
    for name, means in ours.items():
        values = {s: v for s, v in means.items() if s in common}
        columns[name] = [cell(s, v) for s, v in _ranking(values)]
    out = pd.DataFrame(columns)
    out.index = pd.RangeIndex(1, len(out) + 1, name="rank")
    out.attrs["position"] = common_position(common) if short else ""
    return out


def ordering_agreement(
    runs: pd.DataFrame, paper: pd.DataFrame, table: str, metric: str = "mAP"
) -> pd.DataFrame:
    """How far our ordering of the settings agrees with the paper's, pair by pair.

    For each group of our runs and each of the paper's datasets: of the pairs of settings both
    rank, how many we order as the paper does, how many the other way round, and how many the
    paper ties (equal values). Kendall's tau is (same - opposite) / pairs. Empty without runs.
    """
    rows = []
    p = _table_rows(paper, table)
    for group, name in group_names(runs).items():
        means = _our_means(runs, group, metric)
        for d in dict.fromkeys(p["dataset_label"]):
            theirs = _paper_values(paper, table, d, metric)
            both = [s for s in theirs if s in means]
            same = opposite = ties = 0
            for a, b in combinations(both, 2):
                paper_sign = np.sign(theirs[a] - theirs[b])
                our_sign = np.sign(means[a] - means[b])
                if paper_sign == 0 or our_sign == 0:
                    ties += 1
                elif paper_sign == our_sign:
                    same += 1
                else:
                    opposite += 1
            pairs = same + opposite + ties
            rows.append(
                {
                    "ours": name,
                    "against": f"paper, {d}",
                    "settings": len(both),
                    "pairs": pairs,
                    "same order": same,
                    "opposite order": opposite,
                    "tied": ties,
                    "Kendall's tau": decimal((same - opposite) / pairs, 2) if pairs else MISSING,
                }
            )
    return pd.DataFrame(rows)


def settings_long(
    runs: pd.DataFrame, paper: pd.DataFrame, metrics=("R1", "mAP"), table="supp-table2"
) -> pd.DataFrame:
    """Long format for plots: one row per (source, setting, metric, seed) with ``value`` and
    ``gain`` (value minus the mean baseline of the same source and metric).

    ``source`` is "paper: <dataset>" or our run group; ``setting`` the glossary label,
    ``setting_key`` its key; ``seed`` is NaN for the paper. Our runs are those of the paper
    table's settings.
    """
    p = _table_rows(paper, table)
    p = p[p["metric"].isin(metrics)]
    frames = [
        pd.DataFrame(
            {
                "source": "paper: " + p["dataset_label"],
                "setting_key": p["setting_key"],
                "metric": p["metric"],
                "seed": np.nan,
                "value": p["value"].to_numpy(),
            }
        )
    ]
    if not runs.empty:
        wanted = set(p["setting_key"])
        ours = runs[[k in wanted for k in runs["setting_key"]]]
        for m in metrics:
            frames.append(
                pd.DataFrame(
                    {
                        "source": ours["group"],
                        "setting_key": ours["setting_key"],
                        "metric": m,
                        "seed": ours["seed"].astype(float),
                        "value": headline(ours, m).to_numpy(),
                    }
                )
            )
    long = pd.concat(frames, ignore_index=True)
    long["setting"] = [setting_label(*k) for k in long["setting_key"]]
    is_base = [k[0] == "none" for k in long["setting_key"]]
    base = long[is_base].groupby(["source", "metric"])["value"].mean().rename("baseline")
    long = long.join(base, on=["source", "metric"])
    long["gain"] = long["value"] - long["baseline"]
    return long.drop(columns="baseline")


def final_numbers_table(paper: pd.DataFrame) -> pd.DataFrame:
    """The main paper's final RGA-SC (conv2-5_x) numbers and the reruns of the official code by
    others: one row per (whose numbers, dataset) with R1 and mAP as text and the source."""
    quoted = paper[paper["table"].isin(["final", "third-party"])]
    whose = [
        "the paper" if table == "final" else f"rerun: {setting}"
        for table, setting in zip(quoted["table"], quoted["setting"], strict=True)
    ]
    out = (
        quoted.assign(whose=whose)
        .pivot_table(
            index=["whose", "dataset_label", "source"],
            columns="metric",
            values="value",
            aggfunc="first",
            sort=False,
        )[["R1", "mAP"]]
        .reset_index()
        .rename(columns={"dataset_label": "dataset", "whose": "numbers of"})
    )
    out.columns.name = None
    for m in ("R1", "mAP"):
        out[m] = out[m].map(decimal)
    return out[["numbers of", "dataset", "R1", "mAP", "source"]]
