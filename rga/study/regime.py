"""The schedule of the study, chosen by a rule fixed before any variant is compared.

The rule looks at two models only, the baseline and RGA-SC after all four stages, and at their
training loss only (never a test metric), over a small grid of schedules that start from the
pretrained trunk (``pretrained`` profile). A run's *final loss* is the mean training loss over
the last tenth of its epochs (one epoch's loss is noisy: about 28 P x K batches).

* A compressed schedule has *trained enough* when, for each model, its final loss is within
  ``ENOUGH`` (5%) of the final loss of the next longer compressed schedule of the grid: training
  longer in the same shape no longer lowers it much. The longest schedule cannot show this.
  Losses are compared on the same data only (the data's fingerprint: the same SynthReID set
  written by another Pillow is other data).
* The chosen schedule is the shortest that trained enough for both models. When none qualifies,
  none is chosen and the study says its models did not converge.

The table also shows how much the final loss changed from the tenth of the epochs before
(``change over last tenth``); it is not part of the rule, because the compressed shape's last LR
step falls in that tenth.

This is the rule's second version (``RULE_VERSION``). The first asked, besides, that the losses
of the last epoch and of the epoch a tenth earlier differ by less than 2% (two single epochs,
whose noise is a few percent, across the last LR step), and took the lowest final loss of the
grid as the reference (always met by the longest schedule); on the first grid (up to 100 epochs)
it chose nothing. Its outcome is kept in ``experiments/regime/choice-rule1.json``. The revision
saw the training losses of the two models only: no test metric, and no other model was trained.

The grid: the official step shape scaled to 70 epochs (as the from-scratch ``cpu`` profile), and
the compressed shape that holds the full LR for the first ~64% of the epochs and then halves it
three times (steps at 64%, 79% and 93%), over 40, 70, 100, 140 and 200 epochs, and 280 epochs
added once the rule had judged the others: under it the 200-epoch schedule can only be judged
against a longer one (the grid grew; the rule did not change).
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

RULE_VERSION = 2
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
    "compressed, 140 epochs": _compressed(140),
    "compressed, 200 epochs": _compressed(200),
    "compressed, 280 epochs": _compressed(280),
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


def _tenth_means(loss: list[float]) -> tuple[float, float]:
    """(mean over the last tenth of the epochs, mean over the tenth before it)."""
    tenth = max(1, round(len(loss) / 10))
    last, before = loss[-tenth:], loss[-2 * tenth : -tenth] or loss[:1]
    return sum(last) / len(last), sum(before) / len(before)


def data_tag(run) -> str:
    """The data a run trained on: the fingerprint tag that ends its run id ("" without one)."""
    run_id = run.get("run_id") if hasattr(run, "get") else None
    return str(run_id).rsplit("-d", 1)[1] if isinstance(run_id, str) and "-d" in run_id else ""


def data_where(runs: pd.DataFrame) -> dict[str, str]:
    """Each data tag of the regime runs, in words: "data 2eb942b5 (written and trained on an
    NVIDIA H200)". The same SynthReID preset and seed give other files under another Pillow, so
    the data of each machine is its own."""
    where = {}
    for _, run in runs.iterrows():
        tag = data_tag(run)
        hardware = run.get("hardware")
        machine = hardware if isinstance(hardware, str) and hardware else str(run.get("device"))
        where.setdefault(tag, f"data {tag} (written and trained on {machine})")
    return where


def convergence_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (data, schedule, model) of the regime runs: final loss (mean over the last
    tenth), its change from the tenth before, whether it settled, its excess over the next longer
    compressed schedule on the same data and whether it trained enough (seeds pooled by their
    mean loss curve); ``settled`` (a change under 2%) is shown, not used by the rule."""
    rows = []
    if runs.empty:
        return pd.DataFrame()
    for (data, schedule, model), g in runs.groupby(
        [
            runs.apply(data_tag, axis=1),
            runs.apply(schedule_name, axis=1),
            runs["kind"].fillna("none"),
        ],
        sort=False,
    ):
        curves = [[e["loss"] for e in c] for c in g["curve"]]
        loss = [sum(values) / len(values) for values in zip(*curves, strict=True)]
        final, before = _tenth_means(loss)
        rows.append(
            {
                "data": data,
                "schedule": schedule,
                "model": model,
                "epochs": len(loss),
                "seeds": len(curves),
                "final loss": final,
                "change over last tenth": abs(final - before) / final,
                "settled": abs(final - before) / final < SETTLED,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    final = table.set_index(["data", "schedule", "model"])["final loss"]
    excess = []
    for data, schedule, model, loss in zip(
        table["data"], table["schedule"], table["model"], table["final loss"], strict=True
    ):
        reference = final.get((data, next_longer(schedule), model))
        excess.append(loss / reference - 1 if reference is not None else float("nan"))
    table["above next longer"] = excess
    table["trained enough"] = table["above next longer"] <= ENOUGH  # NaN: not shown
    return table


def next_longer(schedule: str) -> str | None:
    """The compressed schedule of the grid next longer than ``schedule`` (None for the longest,
    or for a schedule that is not compressed): the one the rule compares it with."""
    compressed = sorted(
        (s for s in GRID if s.startswith("compressed")), key=lambda s: GRID[s]["epochs"]
    )
    following = dict(zip(compressed, compressed[1:], strict=False))
    return following.get(schedule)


def choose_schedule(table: pd.DataFrame) -> str | None:
    """The rule's choice from `convergence_table`: the shortest schedule that trained enough for
    every model on the same data; None when no schedule qualifies."""
    if table.empty:
        return None
    passing = [
        name
        for (_, name), g in table.groupby(["data", "schedule"])
        if len(g) == len(MODELS) and bool(g["trained enough"].all())
    ]
    if not passing:
        return None
    return min(passing, key=lambda name: (GRID[name]["epochs"], list(GRID).index(name)))


def committed_choice(folder: str | Path | None = None) -> dict | None:
    """The rule's outcome as ``record_choice`` wrote it (``experiments/regime/choice.json``);
    None before the rule was applied."""
    path = (Path(folder) if folder else repo_root() / "experiments" / "regime") / "choice.json"
    return json.loads(path.read_text()) if path.is_file() else None


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
        "rule": {
            "version": RULE_VERSION,
            "settled": SETTLED,
            "enough": ENOUGH,
            "text": __doc__.split("The table also shows")[0],
        },
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


def grid_findings(table: pd.DataFrame, where: dict[str, str] | None = None) -> str:
    """What the grid shows, as Markdown bullets computed from `convergence_table`: per data set
    (headed by ``where[data]`` when there are several), then how far the same schedule's final
    loss moved between data sets."""
    where = where or {}
    datas = list(dict.fromkeys(table["data"]))
    lines = []
    for data in datas:
        if len(datas) > 1:
            lines.append(f"**On {where.get(data, f'data {data}')}:**\n")
        lines += _findings_on_one_data(table[table["data"] == data])
        if len(datas) > 1:
            lines.append("")
    final = table.set_index(["data", "schedule", "model"])["final loss"]
    for first, second in zip(datas, datas[1:], strict=False):
        for schedule in GRID:
            pair = [
                final[(second, schedule, m)] / final[(first, schedule, m)] - 1
                for m in ("none", "rga-sc")
                if (first, schedule, m) in final and (second, schedule, m) in final
            ]
            if len(pair) == 2:
                lines.append(
                    f"* **The same schedule on both data sets** ({schedule}): the final loss on "
                    f"{where.get(second, second)} differs by {pair[0]:+.1%} (baseline) and "
                    f"{pair[1]:+.1%} (RGA-SC) from that on {where.get(first, first)}."
                )
    return "\n".join(lines)


def _findings_on_one_data(table: pd.DataFrame) -> list[str]:
    final = table.set_index(["schedule", "model"])["final loss"]
    compressed = sorted(
        (s for s in GRID if s.startswith("compressed") and (s, "none") in final),
        key=lambda s: GRID[s]["epochs"],
    )
    lines = []
    official = "official shape, 70 epochs"
    if (official, "none") in final and ("compressed, 70 epochs", "rga-sc") in final:
        over = [
            final[(official, m)] / final[("compressed, 70 epochs", m)] - 1
            for m in ("none", "rga-sc")
        ]
        full = [
            GRID[s]["lr_steps"][0] - GRID[s]["warmup_epochs"]
            for s in (official, "compressed, 70 epochs")
        ]
        lines.append(
            f"* **The official step shape leaves the models under-trained** at 70 epochs: their "
            f"training loss is {over[0]:.0%} (baseline) and {over[1]:.0%} (RGA-SC) above that of "
            f"the compressed shape of the same length, which holds the full LR for {full[1]} "
            f"epochs after the warm-up instead of {full[0]}."
        )
    gaps = [
        final[(s, "rga-sc")] / final[(s, "none")] - 1 for s in compressed if (s, "rga-sc") in final
    ]
    if gaps:
        lines.append(
            "* **From the pretrained trunk, RGA-SC trains**: under the compressed schedules its "
            f"final loss is {min(gaps):.1%} to {max(gaps):.1%} above the baseline's (shortest to "
            "longest schedule: " + ", ".join(f"{g:.1%}" for g in gaps) + ")."
        )
    for model, name in (("none", "the baseline"), ("rga-sc", "RGA-SC")):
        steps = table[(table["model"] == model) & table["above next longer"].notna()]
        steps = steps.sort_values("epochs")
        if not steps.empty:
            lines.append(
                f"* The final loss of {name} under each compressed schedule, above that under "
                "the next longer one: "
                + ", ".join(
                    f"{v:+.1%} at {e} epochs"
                    for e, v in zip(steps["epochs"], steps["above next longer"], strict=True)
                )
                + f" (the rule asks for at most +{ENOUGH:.0%})."
            )
    return lines


def init_check_runs(
    regime_runs: pd.DataFrame, table_runs: pd.DataFrame, profile: str = "pretrained"
) -> pd.DataFrame:
    """The runs the rule judges for the official BN init (``experiments/plans/official-init.md``):
    RGA-SC x4, seed 0, of the ``pretrained`` profile (the official init), under the chosen
    schedule (a table's run) and the next longer one of the grid (a regime run). Another
    ``profile``: the same check there (the study at 192x96 of book/scale.md)."""
    frames = [f for f in (regime_runs, table_runs) if not f.empty]
    if not frames:
        return pd.DataFrame()
    runs = pd.concat(frames, ignore_index=True).drop_duplicates("run_id")
    rga_x4 = (runs["kind"] == MODELS[1]["kind"]) & runs["positions"].map(
        lambda p: tuple(p) == MODELS[1]["positions"]
    )
    keep = rga_x4 & (runs["seed"] == 0) & (runs["profile"] == profile)
    return runs[keep & runs.apply(schedule_name, axis=1).ne("")].reset_index(drop=True)


def init_check_excess(table: pd.DataFrame, chosen: str) -> float | None:
    """RGA-SC x4's final loss under the ``chosen`` schedule relative to the next longer one's
    (:func:`convergence_table`'s "above next longer"; the rule asks for at most ``ENOUGH``), or
    None until it has trained both."""
    row = table if table.empty else table[
        (table["schedule"] == chosen) & (table["model"] == MODELS[1]["kind"])
    ]  # fmt: skip
    if row.empty or pd.isna(row["above next longer"].iloc[0]):
        return None
    return float(row["above next longer"].iloc[0])


def init_check_text(
    table: pd.DataFrame,
    chosen: str,
    where: str = "under the official init",
    stands: str = "the chosen schedule stands for the official-init study",
) -> str:
    """What the rule says of the `chosen` schedule for RGA-SC x4 ``where`` (under the official
    init; at 192x96 for the scale probe), from :func:`convergence_table` of
    :func:`init_check_runs`; ``stands``: what a pass means there."""
    excess = init_check_excess(table, chosen)
    if excess is None:
        return (
            f"Pending: RGA-SC x4 {where} has not yet finished both the chosen "
            f"schedule ({chosen}) and the next longer one, so the rule cannot judge it yet."
        )
    verdict = (
        f"trained enough by the rule, so {stands}"
        if excess <= ENOUGH
        else "not trained enough by the rule: the rule asks for a longer schedule, for every model"
    )
    return (
        f"{where[0].upper()}{where[1:]}, RGA-SC x4's final training loss (seed 0) under {chosen} "
        f"is {excess:+.1%} from that under the next longer schedule (the rule asks for at most "
        f"+{ENOUGH:.0%}): {verdict}."
    )
