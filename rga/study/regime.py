"""The schedule of the study, chosen by a rule fixed before any variant is compared.

The rule looks at two models only, the baseline and RGA-SC after all four stages, and at their
training loss only (never a test metric), over a small grid of schedules that start from the
pretrained trunk (``pretrained`` profile):

1. A run has *settled* when its training loss changed by less than ``SETTLED`` (2%) of its final
   value over the last tenth of its epochs.
2. A run has *trained enough* when its final training loss is within ``ENOUGH`` (5%) of the
   lowest final loss any schedule of the grid reached for that model: a longer or
   slower-decaying schedule no longer lowers it.
3. The chosen schedule is the shortest (fewest epochs) in which both models settled and trained
   enough. When none qualifies, none is chosen and the study says its models did not converge.

The grid: the official step shape scaled to 70 epochs (as the from-scratch ``cpu`` profile), and
the compressed shape that holds the full LR for the first ~64% of the epochs and then halves it
three times (steps at 64%, 79% and 93%), over 40, 70 and 100 epochs.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from rga.engine.config import make_config
from rga.study.report.paths import repo_root

SETTLED = 0.02
ENOUGH = 0.05
MODELS = ({"kind": None, "positions": ()}, {"kind": "rga-sc", "positions": (1, 2, 3, 4)})


def _compressed(epochs: int) -> dict:
    """Warm-up 3% of the epochs (at least 1), then LR halved at 64%, 79% and 93% of them."""
    at = lambda f: int(math.floor(epochs * f + 0.5))  # noqa: E731
    return {
        "epochs": epochs,
        "warmup_epochs": max(1, at(0.03)),
        "lr_steps": (at(0.64), at(0.79), at(0.93)),
    }


_OFFICIAL_70 = make_config("cpu", epochs=70)
GRID: dict[str, dict] = {
    "official shape, 70 epochs": {
        "epochs": 70,
        "warmup_epochs": _OFFICIAL_70.warmup_epochs,
        "lr_steps": _OFFICIAL_70.lr_steps,
    },
    "compressed, 40 epochs": _compressed(40),
    "compressed, 70 epochs": _compressed(70),
    "compressed, 100 epochs": _compressed(100),
}


def grid_models() -> tuple[dict, ...]:
    """The models of the regime experiment: each of the two models under each schedule."""
    return tuple({**model, **schedule} for schedule in GRID.values() for model in MODELS)


def schedule_name(row) -> str:
    """The GRID name of a run's (epochs, warmup_epochs, lr_steps); "" when it is not in GRID."""
    key = (int(row["epochs"]), int(row["warmup_epochs"]), tuple(row["lr_steps"]))
    for name, s in GRID.items():
        if key == (s["epochs"], s["warmup_epochs"], tuple(s["lr_steps"])):
            return name
    return ""


def convergence_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (schedule, model) of the regime runs: final training loss, its change over
    the last tenth of the epochs, and whether it settled and trained enough (seeds pooled by
    their mean loss curve)."""
    rows = []
    for (schedule, model), g in runs.groupby(
        [runs.apply(schedule_name, axis=1), runs["kind"].fillna("none")], sort=False
    ):
        curves = [[e["loss"] for e in c] for c in g["curve"]]
        loss = [sum(values) / len(values) for values in zip(*curves, strict=True)]
        tail = max(1, round(len(loss) / 10))
        change = abs(loss[-1] - loss[-1 - tail]) / loss[-1]
        rows.append(
            {
                "schedule": schedule,
                "model": model,
                "epochs": len(loss),
                "seeds": len(curves),
                "final loss": loss[-1],
                "change over last tenth": change,
                "settled": change < SETTLED,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    best = table.groupby("model")["final loss"].transform("min")
    table["above best"] = table["final loss"] / best - 1
    table["trained enough"] = table["above best"] <= ENOUGH
    return table


def choose_schedule(table: pd.DataFrame) -> str | None:
    """The rule's choice from `convergence_table`: the shortest schedule in which every model
    settled and trained enough; None when no schedule qualifies."""
    if table.empty:
        return None
    passing = [
        name
        for name, g in table.groupby("schedule")
        if len(g) == len(MODELS) and bool((g["settled"] & g["trained enough"]).all())
    ]
    if not passing:
        return None
    return min(passing, key=lambda name: (GRID[name]["epochs"], list(GRID).index(name)))


def record_choice(
    runs: pd.DataFrame, folder: str | Path | None = None, *, write: bool = True
) -> dict:
    """Apply the rule to the regime runs and (if `write`) write its outcome to
    ``<folder>/choice.json`` (default ``experiments/regime/``, where the `pretrained` profile
    reads the schedule):
    {"rule", "schedule_name", "schedule" (or None), "table" (the convergence table), "runs"}."""
    table = convergence_table(runs)
    name = choose_schedule(table)
    choice = {
        "rule": {"settled": SETTLED, "enough": ENOUGH, "text": __doc__.split("The grid:")[0]},
        "schedule_name": name,
        "schedule": None
        if name is None
        else {**GRID[name], "lr_steps": list(GRID[name]["lr_steps"])},
        "table": json.loads(table.to_json(orient="records")),
        "runs": sorted(runs["run_id"]) if "run_id" in runs else [],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if not write:
        return choice
    path = Path(folder) if folder else repo_root() / "experiments" / "regime"
    path = path / "choice.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(choice, indent=1) + "\n")
    os.replace(tmp, path)
    return choice
