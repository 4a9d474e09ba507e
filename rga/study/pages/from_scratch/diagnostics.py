"""Why a model trains or does not: the per-epoch diagnostics of its runs, read for a page.

Every run's curve holds, besides its losses, the diagnostics of :mod:`rga.engine.diagnostics`:
the mean norm of the pooled feature z on a fixed probe batch (``z_norm``), the mean and spread
of each attention module's sigmoid gates on that batch (``gate.att<s>.spatial_mean`` ...) and
the gradient norm of each part of the network (``grad_norm.<part>``). Here they become a long
table (:func:`diagnostics_long`), a figure (:func:`plot_diagnostics`), one row of numbers per
setting (:func:`diagnostics_summary`, shown by :func:`summary_table` and :func:`gates_table`)
and sentences that state those numbers (:func:`findings`). Nothing here decides why a model
failed: the sentences say what the numbers are and how the settings compare. Only training-side
quantities are read (no test metric), so the set-up runs of ``regime`` can be shown too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rga.study.report.formats import MISSING, decimal, scientific
from rga.study.report.labels import BASELINE, STAGE_LABELS, setting_colour, setting_sort_key
from rga.study.report.runs import run_dataset_statistics, unique_runs

__all__ = [
    "EARLY",
    "PARTS",
    "diagnostics_long",
    "diagnostics_summary",
    "findings",
    "gates_table",
    "part_label",
    "plot_diagnostics",
    "summary_table",
    "with_schedule",
]

EARLY = 5  # epochs: the gradient ratios are read over the first and over the last EARLY epochs
GROUP = "runs of"
# The parts of the network whose gradient norms are recorded, in the order of the forward pass.
PARTS = ("stem", "layer1", "att1", "layer2", "att2", "layer3", "att3", "layer4", "att4", "head")
GATES = ("spatial", "channel")
SCALARS = ("loss", "ce", "triplet", "lr", "z_norm")


def part_label(part: str, short: bool = False) -> str:
    """The paper's name of a part: "stem" -> "stem (conv1)", "layer1" -> "conv2_x", "att1" ->
    "module after conv2_x", "head" -> "head (BNNeck, classifier)"; ``short`` for axis ticks
    ("conv1", "conv2_x", "att1", "head")."""
    if part == "stem":
        return "conv1" if short else "stem (conv1)"
    if part == "head":
        return "head" if short else "head (BNNeck, classifier)"
    stage = int(part[-1]) if part[-1].isdigit() else None
    if part.startswith("layer") and stage in STAGE_LABELS:
        return STAGE_LABELS[stage]
    if part.startswith("att") and stage in STAGE_LABELS:
        return part if short else f"module after {STAGE_LABELS[stage]}"
    return part


def with_schedule(runs: pd.DataFrame, schedule) -> pd.DataFrame:
    """The runs trained on ``schedule``'s epochs, warm-up and LR steps (a RunConfig, or a mapping
    with ``epochs``, ``warmup_epochs``, ``lr_steps``), e.g. the regime runs on the schedule of
    the ``cpu`` profile."""
    get = schedule.get if isinstance(schedule, dict) else lambda k: getattr(schedule, k)
    wanted = (int(get("epochs")), int(get("warmup_epochs")), tuple(get("lr_steps")))
    if runs.empty or not {"epochs", "warmup_epochs", "lr_steps"} <= set(runs.columns):
        return runs.iloc[0:0]
    keep = [
        isinstance(s, list | tuple) and (int(e), int(w), tuple(s)) == wanted
        for e, w, s in zip(runs["epochs"], runs["warmup_epochs"], runs["lr_steps"], strict=True)
    ]
    return runs[keep].reset_index(drop=True)


def _with_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Each run id once, only the runs with a training curve."""
    if runs.empty or "curve" not in runs:
        return runs.iloc[0:0]
    runs = unique_runs(runs)
    return runs[[isinstance(c, list) and bool(c) for c in runs["curve"]]].reset_index(drop=True)


def _split(key: str) -> tuple[str, str] | None:
    """A curve key as (quantity, part): "gate.att2.spatial_mean" -> ("gate.spatial_mean",
    "att2"), "grad_norm.stem" -> ("grad_norm", "stem"), "ce" -> ("ce", ""); None for the keys
    that are not diagnostics (epoch, seconds, images per second, metrics)."""
    if key in SCALARS:
        return key, ""
    parts = key.split(".")
    if parts[0] == "gate" and len(parts) == 3:
        return f"gate.{parts[2]}", parts[1]
    if parts[0] == "grad_norm" and len(parts) == 2:
        return "grad_norm", parts[1]
    return None


def diagnostics_long(runs: pd.DataFrame) -> pd.DataFrame:
    """The diagnostics of the runs in long format: one row per (run, epoch, quantity, part) with
    the run's group ("runs of"), setting (its label), setting_key, seed and run_id; epoch
    1-based; quantity "ce", "triplet", "loss", "lr", "z_norm", "gate.spatial_mean",
    "gate.spatial_sd", "gate.channel_mean", "gate.channel_sd" (part: "att<s>") or "grad_norm"
    (part: "stem", "layer<s>", "att<s>", "head"); value. Each run id once; quantities a curve
    does not hold are absent."""
    columns = [GROUP, "setting", "setting_key", "seed", "run_id", "epoch", "quantity", "part"]
    rows = []
    for _, run in _with_curves(runs).iterrows():
        key = run.get("setting_key", (run.get("kind"), "", ""))
        who = (run.get("group", ""), run["setting"], key, run.get("seed"), run.get("run_id"))
        for i, entry in enumerate(run["curve"]):
            epoch = int(entry["epoch"]) + 1 if "epoch" in entry else i + 1
            for name, value in entry.items():
                split = _split(name)
                if split is None or value is None or not np.isfinite(float(value)):
                    continue
                rows.append((*who, epoch, *split, float(value)))
    return pd.DataFrame(rows, columns=[*columns, "value"])


def _train_ids(run: pd.Series) -> int | None:
    """K, the number of training identities of a run: ``train_ids`` if the frame has it, else the
    dataset statistics its results file recorded; None when neither is known."""
    ids = run.get("train_ids")
    if ids is not None and not pd.isna(ids):
        return int(ids)
    path = run.get("path")
    if isinstance(path, str) and Path(path).is_file():
        return (run_dataset_statistics(path).get("train") or {}).get("ids")
    return None


def _series(curve: list[dict], key: str) -> np.ndarray:
    """A curve key per epoch, NaN where an epoch lacks it."""
    return np.array([float(e[key]) if e.get(key) is not None else np.nan for e in curve])


def _window_mean(values: np.ndarray, epochs: int, last: bool) -> float:
    """The mean of the first (or last) ``epochs`` values, NaNs left out; NaN when none."""
    part = values[-epochs:] if last else values[:epochs]
    part = part[~np.isnan(part)]
    return float(part.mean()) if part.size else math.nan


def _run_row(run: pd.Series, early: int) -> dict:
    """One run's numbers of the summary (see :func:`diagnostics_summary`)."""
    curve = run["curve"]
    first, last = curve[0], curve[-1]
    row: dict = {"epochs": len(curve)}
    ids = _train_ids(run)
    row["K"] = float(ids) if ids else math.nan
    row["ln K"] = math.log(ids) if ids else math.nan
    row["final CE"] = float(last["ce"]) if last.get("ce") is not None else math.nan
    for when, entry in (("first", first), ("last", last)):
        if entry.get("z_norm") is not None:
            row[f"z {when}"] = float(entry["z_norm"])
        means = []
        for stage in range(1, 5):
            for gate, stat in ((g, s) for g in GATES for s in ("mean", "sd")):
                value = entry.get(f"gate.att{stage}.{gate}_{stat}")
                if value is not None:
                    row[f"att{stage}.{gate} {stat} {when}"] = float(value)
            module = [entry.get(f"gate.att{stage}.{gate}_mean") for gate in GATES]
            module = [float(v) for v in module if v is not None]
            if module:
                row[f"att{stage} product {when}"] = math.prod(module)
                means += module
        if means:
            row[f"gates {when}"] = len(means)
            row[f"gate product {when}"] = math.prod(means)
    grads = {p: _series(curve, f"grad_norm.{p}") for p in PARTS if f"grad_norm.{p}" in last}
    for when, at_end in (("early", False), ("late", True)):
        window = {p: _window_mean(v, early, at_end) for p, v in grads.items()}
        for part, value in window.items():
            row[f"grad {part} {when}"] = value
        for part in ("stem", "layer1"):
            if part in window and "head" in window and window["head"] > 0:
                row[f"{part}/head {when}"] = window[part] / window["head"]
    return row


def diagnostics_summary(runs: pd.DataFrame, early: int = EARLY) -> pd.DataFrame:
    """One row of numbers per (group of runs, setting), each the mean over the seeds of the
    per-run value: "seeds", "epochs", "ln K" (a uniform guess over the K training identities),
    "final CE", "final CE / ln K"; "z first" and "z last" (mean ‖z‖ on the probe batch after the
    first and the last epoch); per module s and gate g "att<s>.<g> mean|sd first|last" and the
    module's "att<s> product first|last" (spatial x channel gate mean); "gate product
    first|last" (the product of every gate mean of the run) with "gates first|last" (how many);
    "grad <part> early|late" (gradient norm over the first and over the last ``early`` epochs)
    and "stem/head", "layer1/head" (the stem's and conv2_x's over the head's in the same
    window). Columns a curve does not hold are absent, values a run lacks are NaN; sorted in
    the glossary's order of the settings. ``attrs["early"]`` is ``early``."""
    runs = _with_curves(runs)
    if runs.empty:
        return pd.DataFrame()
    rows = []
    groups = runs["group"] if "group" in runs else pd.Series([""] * len(runs))
    for (group, setting), idx in runs.groupby([groups, runs["setting"]], sort=False).groups.items():
        per_run = pd.DataFrame([_run_row(runs.loc[i], early) for i in idx])
        key = runs.loc[idx[0]].get("setting_key", (runs.loc[idx[0]].get("kind"), "", ""))
        means = per_run.mean(numeric_only=True)
        row = {GROUP: group, "setting": setting, "setting_key": key, "seeds": len(idx)}
        row.update(means.to_dict())
        row["final CE / ln K"] = row["final CE"] / row["ln K"]
        rows.append(row)
    out = pd.DataFrame(rows)
    order = [setting_sort_key(k) if _is_key(k) else (99,) for k in out["setting_key"]]
    out = out.assign(_order=order).sort_values([GROUP, "_order"], kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    out.attrs["early"] = early
    return out


def _is_key(key) -> bool:
    return isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key)


def _num(value) -> str:
    """A measured number with three significant digits ("12.7", "0.88", "3.9e-3"), "–" when
    missing."""
    if value is None or pd.isna(value):
        return MISSING
    value = float(value)
    if value != 0 and abs(value) < 0.01:
        return scientific(value, 2)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _times(value: float, what: str) -> str:
    """ "0.12 times the baseline's (8.33 times smaller)", "4.1 times the baseline's"."""
    if pd.isna(value) or value <= 0:
        return MISSING
    smaller = f" ({_num(1 / value)} times smaller)" if value < 1 else ""
    return f"{_num(value)} times {what}{smaller}"


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`diagnostics_summary` as text for a page, one row per setting (and group of runs,
    when there are several): seeds, final cross-entropy against ln K, ‖z‖ after the first and the
    last epoch, the product of the gate means, and the stem's and conv2_x's gradient norm over
    the head's in the first and the last epochs."""
    if summary.empty:
        return pd.DataFrame()
    early = summary.attrs.get("early", EARLY)
    columns = {
        "seeds": lambda r: str(int(r["seeds"])),
        "final CE / ln K": lambda r: (
            f"{r['final CE']:.2f} / {r['ln K']:.2f} ({r['final CE / ln K']:.0%})"
            if pd.notna(r.get("final CE / ln K"))
            else decimal(r.get("final CE"), 2)
        ),
        "‖z‖, epoch 1": lambda r: _num(r.get("z first")),
        "‖z‖, last epoch": lambda r: _num(r.get("z last")),
        "gate product, epoch 1": lambda r: _num(r.get("gate product first")),
        "gate product, last epoch": lambda r: _num(r.get("gate product last")),
        f"stem / head gradient, epochs 1-{early}": lambda r: _num(r.get("stem/head early")),
        f"stem / head gradient, last {early} epochs": lambda r: _num(r.get("stem/head late")),
        f"conv2_x / head gradient, epochs 1-{early}": lambda r: _num(r.get("layer1/head early")),
        f"conv2_x / head gradient, last {early} epochs": lambda r: _num(r.get("layer1/head late")),
    }
    rows = []
    for _, r in summary.iterrows():
        row = {GROUP: str(r[GROUP]).removeprefix("ours: "), "setting": r["setting"]}
        row.update({name: text(r) for name, text in columns.items()})
        rows.append(row)
    out = pd.DataFrame(rows)
    if out[GROUP].nunique() < 2:
        out = out.drop(columns=GROUP)
    empty = [c for c in out.columns if (out[c] == MISSING).all()]
    return out.drop(columns=empty).reset_index(drop=True)


def gates_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The gates of each setting with attention modules, one row per (setting, module): the
    spatial and the channel gate's mean ± sd over the probe batch and their product, after the
    first and after the last epoch (mean over seeds); empty when no run has gates."""
    rows = []
    several = not summary.empty and summary[GROUP].nunique() > 1
    for _, r in summary.iterrows():
        for stage in range(1, 5):
            if all(pd.isna(r.get(f"att{stage}.{g} mean first")) for g in GATES):
                continue
            row = {GROUP: str(r[GROUP]).removeprefix("ours: ")} if several else {}
            row |= {"setting": r["setting"], "module": part_label(f"att{stage}")}
            for when, title in (("first", "epoch 1"), ("last", "last epoch")):
                for gate in GATES:
                    mean, sd = (
                        r.get(f"att{stage}.{gate} mean {when}"),
                        r.get(f"att{stage}.{gate} sd {when}"),
                    )
                    row[f"{gate}, {title}"] = (
                        MISSING if pd.isna(mean) else f"{mean:.3f} ± {decimal(sd, 3)}"
                    )
                row[f"product, {title}"] = decimal(r.get(f"att{stage} product {when}"), 3)
            rows.append(row)
    return pd.DataFrame(rows)


# ---- findings -------------------------------------------------------------------------------


def _listing(summary: pd.DataFrame, column: str, text=None) -> str:
    """ "Baseline 12.7, RGA-SC conv2-5_x 0.88": each setting's value of ``column``."""
    text = text or _num
    parts = [
        f"{r['setting']} {text(r[column])}"
        for _, r in summary.iterrows()
        if column in r and pd.notna(r[column])
    ]
    return ", ".join(parts)


def _baseline(summary: pd.DataFrame) -> pd.Series | None:
    rows = [r for _, r in summary.iterrows() if _is_key(r["setting_key"])]
    rows = [r for r in rows if r["setting_key"][0] == BASELINE]
    return rows[0] if rows else None


def _has(summary: pd.DataFrame, column: str) -> bool:
    return column in summary and summary[column].notna().any()


def _findings_of_group(summary: pd.DataFrame, early: int) -> list[str]:
    lines = []
    base = _baseline(summary)
    attention = summary if base is None else summary[summary["setting"] != base["setting"]]
    if _has(summary, "final CE"):
        ks = summary["K"].dropna().unique() if "K" in summary else []
        fits = ", ".join(
            f"{r['setting']} {r['final CE']:.2f}"
            + (f" ({r['final CE / ln K']:.0%} of ln K)" if pd.notna(r["final CE / ln K"]) else "")
            for _, r in summary.iterrows()
            if pd.notna(r["final CE"])
        )
        guess = (
            f" A uniform guess over the K = {int(ks[0])} training identities scores "
            f"ln K = {math.log(ks[0]):.2f}."
            if len(ks) == 1
            else ""
        )
        lines.append(f"* **Fit.** Final training cross-entropy: {fits}.{guess}")
    if _has(summary, "z first"):
        text = (
            f"* **Feature norm.** Mean ‖z‖ on the probe batch after epoch 1: "
            f"{_listing(summary, 'z first')}; after the last epoch: {_listing(summary, 'z last')}."
        )
        if base is not None and pd.notna(base.get("z first")) and base["z first"] > 0:
            ratios = ", ".join(
                f"{r['setting']} {_num(r['z first'] / base['z first'])}"
                for _, r in attention.iterrows()
                if pd.notna(r.get("z first"))
            )
            if ratios:
                text += f" After epoch 1, as a share of the baseline's: {ratios}."
        lines.append(text)
    if _has(summary, "gate product first"):
        gated = summary[summary["gate product first"].notna()]
        counts = " or ".join(f"{int(n)}" for n in dict.fromkeys(gated["gates first"]))
        text = (
            f"* **Gates multiplied.** The product of every gate mean of a model ({counts} "
            f"gates) is, after epoch 1, "
            f"{_listing(gated, 'gate product first')}; after the last epoch, "
            f"{_listing(gated, 'gate product last')}."
        )
        if _has(gated, "att4 product first"):
            text += (
                f" The module after {STAGE_LABELS[4]} alone, whose output is pooled into z with "
                f"no normalisation between, multiplies by {_listing(gated, 'att4 product first')} "
                f"after epoch 1 and by {_listing(gated, 'att4 product last')} after the last."
            )
        lines.append(text)
    spread = _gate_spread(summary)
    if spread:
        lines.append(spread)
    if _has(summary, "stem/head early"):
        text = (
            f"* **Gradient reaching the stem.** Over epochs 1-{early}, the stem's gradient norm "
            f"is {_listing(summary, 'stem/head early')} times the head's; over the last {early} "
            f"epochs, {_listing(summary, 'stem/head late')} times."
        )
        if base is not None and pd.notna(base.get("grad stem early")):
            compared = [
                f"{r['setting']} "
                + _times(r["grad stem early"] / base["grad stem early"], "the baseline's")
                for _, r in attention.iterrows()
                if pd.notna(r.get("grad stem early")) and base["grad stem early"] > 0
            ]
            if compared:
                text += f" In absolute terms, over epochs 1-{early}: " + "; ".join(compared) + "."
        lines.append(text)
    return lines


def _gate_spread(summary: pd.DataFrame) -> str:
    """How much the gates vary over the probe batch: each setting's sd averaged over its
    modules, per gate, after the first and the last epoch."""
    parts = []
    for _, r in summary.iterrows():
        values = {}
        for gate in GATES:
            for when in ("first", "last"):
                sds = [r.get(f"att{s}.{gate} sd {when}") for s in range(1, 5)]
                sds = [v for v in sds if v is not None and pd.notna(v)]
                if sds:
                    values[(gate, when)] = float(np.mean(sds))
        if not values:
            continue
        words = [
            f"{gate} {_num(values[(gate, 'first')])} → {_num(values.get((gate, 'last')))}"
            for gate in GATES
            if (gate, "first") in values
        ]
        parts.append(f"{r['setting']}: " + ", ".join(words))
    if not parts:
        return ""
    return (
        "* **Gate spread.** The sd of the gates over the probe batch's images and positions, "
        "averaged over the modules, after epoch 1 → after the last epoch: " + "; ".join(parts) + "."
    )


def findings(runs: pd.DataFrame, early: int = EARLY) -> str:
    """What the diagnostics show, as Markdown bullets computed from
    :func:`diagnostics_summary`, per group of runs (headed when there are several): the final
    cross-entropy against ln K, ‖z‖ after the first and the last epoch (and as a share of the
    baseline's), the product of the gate means (all modules; the last module's alone), the
    gates' spread, and the stem's gradient norm against the head's and against the baseline's.
    A sentence when there are no runs, or no diagnostics in them."""
    summary = diagnostics_summary(runs, early)
    if summary.empty:
        return "There are no runs with a training curve to read."
    groups = list(dict.fromkeys(summary[GROUP]))
    lines = []
    for group in groups:
        part = summary[summary[GROUP] == group]
        if len(groups) > 1:
            lines.append(f"**{str(group).removeprefix('ours: ')}:**\n")
        lines += _findings_of_group(part, early) or ["* These runs record no diagnostics."]
        if len(groups) > 1:
            lines.append("")
    return "\n".join(lines)


# ---- figure ---------------------------------------------------------------------------------

WIDTH = 9.0  # inches: the book's text column at 100 dpi
STYLES = ("-", "--", ":", "-.")


def _hues(long: pd.DataFrame) -> list[tuple]:
    """(group, setting, colour, line style, legend label) of each line: the settings in the
    glossary's order and colours, one line style per group of runs (named in the label when
    there are several)."""
    firsts = long.drop_duplicates([GROUP, "setting"]).reset_index(drop=True)
    groups = list(dict.fromkeys(firsts[GROUP]))
    keys = [k if _is_key(k) else None for k in firsts["setting_key"]]

    def order(i: int) -> tuple:
        return groups.index(firsts[GROUP][i]), setting_sort_key(keys[i]) if keys[i] else (99,)

    hues = []
    for n, i in enumerate(sorted(range(len(firsts)), key=order)):
        group, setting = firsts[GROUP][i], firsts["setting"][i]
        colour = setting_colour(*keys[i]) if keys[i] else f"C{n % 10}"
        style = STYLES[groups.index(group) % len(STYLES)]
        label = setting if len(groups) < 2 else _short(f"{setting}, {group}".replace("ours: ", ""))
        hues.append((group, setting, colour, style, label))
    return hues


def _short(label: str, width: int = 70) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _line(ax, d: pd.DataFrame, colour: str, style: str, label: str, seeds: bool = True) -> None:
    """The mean over seeds by epoch, and each seed as a thin line when there are several."""
    if d.empty:
        return
    if seeds and d["seed"].nunique() > 1:
        for _, s in d.groupby("seed"):
            ax.plot(s["epoch"], s["value"], color=colour, lw=0.5, ls=style, alpha=0.35)
    mean = d.groupby("epoch")["value"].mean()
    ax.plot(mean.index, mean.to_numpy(), color=colour, lw=1.4, ls=style, label=label)


def plot_diagnostics(runs: pd.DataFrame, title: str | None = None, early: int = EARLY) -> Figure:
    """The diagnostics of the runs, one colour per setting (a line style per group of runs when
    there are several), the mean over seeds with each seed as a thin line:

    * first row: the training cross-entropy (dashed: ln K, a uniform guess), mean ‖z‖, the
      stem's gradient norm over the head's by epoch (log), and the gradient norm of each part
      in network order over the first and the last ``early`` epochs (log);
    * then, when the runs have gates, a row of spatial and a row of channel gates, one panel
      per module: the gate mean (over seeds) with a band of ± its sd over the probe batch.

    Panels of quantities no run recorded are left out; without any curve, a small figure says
    so.
    """
    long = diagnostics_long(runs)
    if long.empty:
        fig = Figure(figsize=(WIDTH, 0.8))
        fig.text(0.5, 0.5, "no training curves to plot", ha="center", va="center", color="0.3")
        return fig
    hues = _hues(long)
    have = set(long["quantity"])
    gated = long[long["quantity"].str.startswith("gate.")]
    stages = sorted({int(p.removeprefix("att")) for p in gated["part"]})
    gate_rows = [g for g in GATES if f"gate.{g}_mean" in have]
    fig = Figure(figsize=(WIDTH, 2.4 * (1 + len(gate_rows)) + 0.5), layout="constrained")
    grid = fig.subplots(1 + len(gate_rows), 4, squeeze=False)
    free = list(grid[0])

    def select(quantity: str, part: str, group, setting) -> pd.DataFrame:
        d = long[(long["quantity"] == quantity) & (long["part"] == part)]
        return d[(d[GROUP] == group) & (d["setting"] == setting)]

    def by_epoch(quantity: str, title: str, log: bool = False):
        ax = free.pop(0)
        for group, setting, colour, style, label in hues:
            _line(ax, select(quantity, "", group, setting), colour, style, label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        if log:
            ax.set_yscale("log")
        return ax

    if "ce" in have:
        ax = by_epoch("ce", "training cross-entropy")
        for k in sorted({_train_ids(r) for _, r in _with_curves(runs).iterrows()} - {None}):
            ax.axhline(math.log(k), color="0.3", lw=0.9, ls="--")
            ax.annotate(f"ln {k}", (0.98, math.log(k)), xycoords=("axes fraction", "data"),
                        ha="right", va="top", fontsize=7, color="0.3")  # fmt: skip
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.04 * math.log(k)))
    if "z_norm" in have:
        by_epoch("z_norm", "mean ‖z‖, probe batch")
    grads = long[long["quantity"] == "grad_norm"]
    if {"stem", "head"} <= set(grads["part"]):
        stem = grads[grads["part"] == "stem"].set_index([GROUP, "setting", "seed", "epoch"])
        head = grads[grads["part"] == "head"].set_index([GROUP, "setting", "seed", "epoch"])
        ratio = (stem["value"] / head["value"]).dropna().reset_index()
        ratio = ratio[ratio["value"] > 0].assign(quantity="stem/head", part="")
        long = pd.concat([long, ratio], ignore_index=True)
        by_epoch("stem/head", "gradient norm, stem / head", log=True)
    if not grads.empty:
        _gradient_profile(free.pop(0), grads, hues, early)
    for ax in free:
        ax.set_axis_off()
    for row, gate in zip(grid[1:], gate_rows, strict=True):
        for ax, stage in zip(row, range(1, 5), strict=True):
            if stage not in stages:
                ax.set_axis_off()
                continue
            for group, setting, colour, style, _ in hues:
                mean = select(f"gate.{gate}_mean", f"att{stage}", group, setting)
                if mean.empty:
                    continue
                sd = select(f"gate.{gate}_sd", f"att{stage}", group, setting)
                m = mean.groupby("epoch")["value"].mean()
                s = sd.groupby("epoch")["value"].mean().reindex(m.index).fillna(0)
                ax.plot(m.index, m.to_numpy(), color=colour, lw=1.3, ls=style)
                ax.fill_between(m.index, m - s, m + s, color=colour, alpha=0.15, lw=0)
            ax.axhline(0.5, color="0.5", lw=0.7, ls=":")
            ax.set_ylim(0, 1)
            ax.set_title(f"{gate} gate after {STAGE_LABELS[stage]}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
    for ax in grid.ravel():
        ax.tick_params(labelsize=7)
    handles = [
        Line2D([], [], color=colour, ls=style, lw=1.4, label=label)
        for _, _, colour, style, label in hues
    ]
    several = len({h[0] for h in hues}) > 1  # long labels, one a line
    fig.legend(handles=handles, loc="outside lower center", frameon=False, fontsize=8,
               ncols=1 if several else min(3, len(handles)))  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _gradient_profile(ax, grads: pd.DataFrame, hues: Sequence[tuple], early: int) -> None:
    """Each part's gradient norm in network order (log), mean over seeds of its mean over the
    first ``early`` epochs (solid, filled markers) and over the last (open markers)."""
    parts = [p for p in PARTS if p in set(grads["part"])]
    for group, setting, colour, *_ in hues:
        d = grads[(grads[GROUP] == group) & (grads["setting"] == setting)]
        if d.empty:
            continue
        last = d["epoch"].max()
        for window, at_end in ((d["epoch"] <= early, False), (d["epoch"] > last - early, True)):
            means = d[window].groupby(["part", "seed"])["value"].mean().groupby("part").mean()
            xs = [i for i, p in enumerate(parts) if p in means.index and means[p] > 0]
            ys = [means[parts[i]] for i in xs]
            ax.plot(xs, ys, color=colour, lw=1.0, ls="--" if at_end else "-", marker="o",
                    markersize=3, markerfacecolor="white" if at_end else colour)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(range(len(parts)))
    ax.set_xticklabels([part_label(p, short=True) for p in parts], rotation=90, fontsize=7)
    ax.set_title(f"gradient norm by part\n● epochs 1-{early}, ○ last {early}", fontsize=9)
