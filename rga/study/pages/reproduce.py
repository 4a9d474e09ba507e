"""The code behind the Reproduce page: the commits the study's runs were trained at, and reruns of one run.

Reads results only: the results files (as :func:`rga.study.report.load_runs` frames) and the
rerun records ``experiments/rerun/<run_id>.json`` that ``python -m rga.study.rerun`` writes (see
:mod:`rga.study.rerun` for their keys). Nothing here trains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from rga.study.report.formats import MISSING, count, decimal, duration, short_commit
from rga.study.report.paths import Notice, rerun_dir
from rga.study.report.runs import _total_row, unique_runs
from rga.study.report.styling import styled
from rga.study.rerun import RERUN_METRICS

__all__ = [
    "COMMIT_COLUMNS",
    "RERUN_COMMAND",
    "commits_table",
    "commits_view",
    "hardware_view",
    "load_reruns",
    "no_rerun_notice",
    "rerun_caption",
    "rerun_summary",
    "rerun_table",
    "reruns_view",
]

RERUN_COMMAND = "python -m rga.study.rerun from_scratch <run_id>"
_TIME = "wall time (h:mm)"  # the column runs.hardware_and_time and runs._total_row use
_FIRST, _LAST = "first finished (UTC)", "last finished (UTC)"
COMMIT_COLUMNS = ("experiment", "commit", "runs", _FIRST, _LAST, _TIME)


def _finished_at(created) -> str:
    """ "2026-11-29 13:54" (UTC) from a results file's ``created``; "–" when absent."""
    stamp = pd.to_datetime(created, utc=True, errors="coerce")
    return MISSING if pd.isna(stamp) else stamp.strftime("%Y-%m-%d %H:%M")


def _commit_row(runs: pd.DataFrame) -> dict:
    """The commit of `runs` (" (2 of 34 dirty)": how many were trained on a dirty tree; "N
    commits" when they are of several), their number, when the first and the last finished, and
    their time."""
    dirty = int(runs["git_dirty"].eq(True).sum()) if "git_dirty" in runs else 0
    commits = runs["git_commit"].unique()
    created = pd.to_datetime(runs["created"], utc=True, errors="coerce")
    commit = short_commit(commits[0]) + (f" ({dirty} of {len(runs)} dirty)" if dirty else "")
    return {
        "commit": commit if len(commits) == 1 else f"{count(len(commits))} commits",
        "runs": count(len(runs)),
        _FIRST: _finished_at(created.min()),
        _LAST: _finished_at(created.max()),
        _TIME: duration(runs["wall_time_s"].astype(float).sum()),
    }


def commits_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, commit) of `runs` (:func:`rga.study.report.load_runs`), in the
    order the commits were first used: the short commit (with how many of its runs were trained
    with uncommitted changes, if any), the number of runs, when the first and the last finished
    (UTC) and their training + evaluation time (h:mm). A last row covers every run, each run id
    once (a model two experiments share is one run); its commit is the study's one commit, or
    "N commits". Empty for no runs."""
    if runs.empty:
        return pd.DataFrame()
    # a run both regime studies share is one training: once per folder, whatever its studies
    runs = runs.drop_duplicates(["experiment", "run_id"])
    runs = runs.assign(
        git_commit=runs["git_commit"].fillna("unknown"),
        _first=pd.to_datetime(runs["created"], utc=True, errors="coerce"),
    )
    first = runs.groupby(["experiment", "git_commit"])["_first"].min().rename("_order")
    runs = runs.join(first, on=["experiment", "git_commit"])
    rows = [
        {"experiment": experiment, **_commit_row(g)}
        for (experiment, _, _), g in runs.groupby(
            ["experiment", "_order", "git_commit"], sort=True, dropna=False
        )
    ]
    rows.append({**_commit_row(unique_runs(runs)), **_total_row(runs, "experiment")})
    return pd.DataFrame(rows, columns=list(COMMIT_COLUMNS))


def load_reruns(root: str | Path | None = None) -> list[dict]:
    """Every rerun record under :func:`rerun_dir`, by file name; [] when there is none."""
    folder = rerun_dir(root)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [json.loads(p.read_text()) for p in paths]


def _signed(value, digits: int) -> str:
    """ "+0.30", "-1.20", "+0.00" (never "-0.00"); "–" when absent."""
    if value is None or pd.isna(value):
        return MISSING
    return f"{round(float(value), digits) + 0.0:+.{digits}f}"


def _side_value(side: dict, name: str):
    """A metric (from ``metrics``) or the final loss of one side of a rerun record."""
    return side["metrics"].get(name) if name in RERUN_METRICS else side.get(name)


def rerun_table(record: dict) -> pd.DataFrame:
    """A rerun record as a table: one row per metric (R1, mAP, mINP of the run's eval_feature,
    in percent, two decimals; the final training loss, four), with the committed value, the
    rerun's and the difference rerun - committed."""
    names = [(m, m, 2) for m in RERUN_METRICS] + [("final_loss", "final training loss", 4)]
    return pd.DataFrame(
        [
            {
                "metric": label,
                "committed": decimal(_side_value(record["committed"], name), digits),
                "rerun": decimal(_side_value(record["rerun"], name), digits),
                "difference": _signed(record["difference"].get(name), digits),
            }
            for name, label, digits in names
        ]
    )


def rerun_caption(record: dict) -> str:
    """What was rerun, in words: the run id and its experiment, the commit and device it was
    trained at and on, those of the rerun, and how long the rerun trained."""
    committed, rerun = record["committed"], record["rerun"]
    seconds = rerun.get("train_time_s")
    took = f", {duration(seconds)} (h:mm) of training" if seconds is not None else ""
    return (
        f"{record['run_id']} ({record['experiment']}): trained at "
        f"{short_commit(committed.get('git_commit'))} on {_device(committed)}; rerun at "
        f"{short_commit(rerun.get('git_commit'), bool(rerun.get('git_dirty')))} on "
        f"{_device(rerun)}{took}"
    )


def rerun_summary(records: list[dict]) -> str:
    """The reruns in one sentence: how many reproduce every compared metric and the final loss
    exactly, and the largest absolute difference of those that do not ("" for no record)."""
    if not records:
        return ""
    names = [*RERUN_METRICS, "final_loss"]
    largest = [
        max(abs(r["difference"][n]) for n in names if r["difference"].get(n) is not None)
        for r in records
    ]
    exact = sum(d == 0 for d in largest)
    files = "its results file" if len(records) == 1 else "their results files"
    what = f"{', '.join(RERUN_METRICS)} and the final training loss of {files}"
    if exact == len(records):
        subject = {1: "The rerun reproduces", 2: "Both reruns reproduce"}.get(
            exact, f"All {exact} reruns reproduce"
        )
        return f"{subject} {what} exactly, to every digit stored."
    return (
        f"{exact} of {len(records)} reruns reproduce {what} exactly; the largest absolute "
        f"difference is {max(largest):.3g} (percentage points, or loss)."
    )


SPREAD_METRICS = ("R1", "mAP")  # judged against the seed-to-seed sd of the run's setting


def seed_spread(record: dict, runs: pd.DataFrame) -> dict[str, float]:
    """{metric: sample sd over seeds} of R1 and mAP for the setting of the rerun's run, over the
    committed runs of its group (``rga.study.report.load_runs`` rows); {} with fewer than two
    seeds or when the run is not among ``runs``."""
    if runs.empty:
        return {}
    row = runs[runs["run_id"] == record["run_id"]]
    if row.empty:
        return {}
    key, group = row["setting_key"].iloc[0], row["group"].iloc[0]
    same = runs[(runs["group"] == group) & (runs["setting_key"] == key)].drop_duplicates("run_id")
    if len(same) < 2:
        return {}
    return {m: float(same[m].astype(float).std(ddof=1)) for m in SPREAD_METRICS}


def rerun_verdict(record: dict, spread: dict[str, float]) -> str:
    """What a rerun shows, by the book's tolerance: "exact" (every compared metric and the final
    loss identical), "within seed noise" (R1 and mAP each differ by at most the seed-to-seed sd
    of the run's setting, `spread`), "beyond seed noise", or "no seed spread to judge by"."""
    difference = record["difference"]
    if all(v == 0 for v in difference.values() if v is not None):
        return "exact"
    if not spread:
        return "no seed spread to judge by"
    within = all(abs(difference[m]) <= spread[m] for m in SPREAD_METRICS)
    return "within seed noise" if within else "beyond seed noise"


def rerun_line(record: dict, spread: dict[str, float]) -> str:
    """One rerun in words: its verdict, the differences against the seed sd, and the first
    epoch whose training loss differs (where the record has it)."""
    verdict = rerun_verdict(record, spread)
    parts = [f"**{record['run_id']}** ({record['experiment']}): *{verdict}*"]
    if verdict != "exact":
        shown = ", ".join(
            f"{m} {_signed(record['difference'][m], 2)}"
            + (f" (seed sd {spread[m]:.2f})" if m in spread else "")
            for m in SPREAD_METRICS
        )
        parts.append(shown)
    curve = record.get("curve")
    if curve:
        first = curve["first_epoch_differs"]
        parts.append(
            "every epoch's training loss identical"
            if first is None
            else f"the training losses part at epoch {first}"
        )
    return "; ".join(parts) + "."


def _device(side: dict) -> str:
    return (side.get("hardware") or {}).get("device_name") or "?"


def no_rerun_notice() -> Notice:
    """The note a page shows while ``experiments/rerun/`` holds no record: the command."""
    return Notice(
        title="No rerun yet",
        body="No rerun record in experiments/rerun/. Retrain one committed run at the current "
        "code (a run id is a file name in experiments/results/<experiment>/, without .json) "
        "with:",
        command=RERUN_COMMAND,
        kind="note",
    )


def hardware_view(runs: pd.DataFrame):
    """Where and how long every group of runs trained, or how to make runs when none exist."""
    from rga.study.report.paths import missing_results_message, results_dir
    from rga.study.report.runs import hardware_and_time

    if runs.empty:
        return missing_results_message(
            "results files",
            results_dir() / "<experiment>" / "*.json",
            "papermill experiments/plugin_position.ipynb out.ipynb -p profile cpu",
        )
    table = hardware_and_time(runs)
    if runs.groupby("experiment")["group"].nunique().max() == 1:  # the Results page names them
        table = table.drop(columns="runs of")
    return styled(table, index=False)


def commits_view(runs: pd.DataFrame):
    return Markdown("") if runs.empty else styled(commits_table(runs), index=False)


def reruns_view(runs: pd.DataFrame) -> list:
    """Each rerun record's table, then the summary and one line per rerun judged against the
    seed-to-seed spread of its setting; a notice when there is none."""
    reruns = load_reruns()
    if not reruns:
        return [no_rerun_notice()]
    shown = [styled(rerun_table(r), rerun_caption(r), index=False) for r in reruns]
    lines = "\n".join("- " + rerun_line(r, seed_spread(r, runs)) for r in reruns)
    return [*shown, Markdown(rerun_summary(reruns)), Markdown(lines)]
