"""The first training step's gradient paths (``rga.study.gradient_paths``), read for the
From-scratch page: a table and sentences computed from ``experiments/diagnostics/
gradient_paths.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from rga.study.gradient_paths import output_path
from rga.study.pages.from_scratch.diagnostics import _num
from rga.study.pages.from_scratch.explanations import FACTOR, _row
from rga.study.report.labels import BASELINE, STAGE_LABELS, setting_label

__all__ = ["gradient_paths_findings", "gradient_paths_long", "gradient_paths_table", "load"]


def load(root: str | Path | None = None) -> dict | None:
    """The record, or None when the file is not there."""
    path = output_path(root)
    return json.loads(path.read_text()) if path.is_file() else None


def gradient_paths_long(record: dict) -> pd.DataFrame:
    """One row per (trunk, model, seed, stage): stem_over_head, gain, gain_without_gates and
    bn_factor (the mean over the module's gates; NaN without a normalised logit); stage 0 and
    gains NaN for a model without modules."""
    rows = []
    for r in record.get("rows", []):
        model = setting_label(r["kind"], ",".join(map(str, r["positions"])), "asymmetric")
        base = {"trunk": r["trunk"], "model": model, "seed": r["seed"]}
        base["stem_over_head"] = r["stem_over_head"]
        modules = r.get("modules") or {"0": {}}
        for stage, m in modules.items():
            factors = list((m.get("logit_bn_factor") or {}).values())
            rows.append(
                {
                    **base,
                    "stage": int(stage),
                    "gain": m.get("gain", math.nan),
                    "gain_without_gates": m.get("gain_without_gates", math.nan),
                    "bn_factor": float(np.mean(factors)) if factors else math.nan,
                }
            )
    return pd.DataFrame(rows)


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def gradient_paths_table(record: dict) -> pd.DataFrame:
    """The page's table: one row per (trunk, model), means over seeds: the stem's over the
    head's gradient norm, and per module the gain "with gates (without)"; the logit
    normalisation's factor, mean over modules and gates."""
    long = gradient_paths_long(record)
    rows = []
    for (trunk, model), d in long.groupby(["trunk", "model"], sort=False):
        per_run = d.drop_duplicates("seed")
        row = {"trunk": trunk, "model": model, "seeds": str(d["seed"].nunique())}
        row["stem / head gradient"] = _num(_mean(per_run["stem_over_head"]))
        for stage in range(1, 5):
            s = d[d["stage"] == stage]
            row[f"module after {STAGE_LABELS[stage]}"] = (
                f"{_num(_mean(s['gain']))} ({_num(_mean(s['gain_without_gates']))})"
                if len(s)
                else "–"
            )
        row["logit BN factor"] = _num(_mean(d["bn_factor"]))
        rows.append(row)
    return pd.DataFrame(rows)


def _value(long: pd.DataFrame, trunk: str, prefix: str, column: str, stage: int | None = None):
    """The mean over seeds of `column` for the model whose label starts with `prefix` on
    `trunk` (at one module when `stage` is given); NaN when there is none."""
    d = long[(long["trunk"] == trunk) & long["model"].str.startswith(prefix)]
    if stage is not None:
        d = d[d["stage"] == stage]
    if column == "stem_over_head":
        d = d.drop_duplicates("seed")  # one value a run, repeated on each of its modules
    return _mean(d[column]) if len(d) else math.nan


def _late_excess(summary: pd.DataFrame | None) -> float:
    """RGA-SC's stem-over-head gradient over the last epochs, over the baseline's."""
    if summary is None or summary.empty:
        return math.nan
    rga, base = _row(summary, "rga-sc"), _row(summary, BASELINE)
    if rga is None or base is None:
        return math.nan
    return float(rga["stem/head late"]) / float(base["stem/head late"])


def gradient_paths_findings(
    record: dict,
    scratch: pd.DataFrame | None = None,
    pretrained: pd.DataFrame | None = None,
) -> str:
    """Markdown bullets: what the module after conv5_x does to the gradient with and without
    its gate path, on each trunk, for RGA-SC and CBAM-CS; the stem's over the head's gradient on
    each trunk; whether the logit normalisation's factor differs between the trunks; then what
    this adds up to, with the per-epoch diagnostics (:func:`diagnostics_summary` of the runs
    from scratch and from the pretrained trunk, optional) saying whether the excess lasts."""
    long = gradient_paths_long(record)
    trunks = list(dict.fromkeys(long["trunk"]))
    if long.empty or not {"random", "pretrained"} <= set(trunks):
        return "The first-step measurement needs both trunks: `python -m rga.study.gradient_paths`."
    last = STAGE_LABELS[4]
    lines = []
    for model in ("RGA-SC", "CBAM-CS"):
        gain = {t: _value(long, t, model + " ", "gain", 4) for t in ("random", "pretrained")}
        direct = {t: _value(long, t, model + " ", "gain_without_gates", 4) for t in gain}
        lines.append(
            f"* **{model}.** Of the gradient it receives, the module after {last} passes down "
            f"{_num(gain['random'])} times on the random trunk and {_num(gain['pretrained'])} "
            f"times on the pretrained one; with its gate path blocked, {_num(direct['random'])} "
            f"and {_num(direct['pretrained'])} times."
        )
    rga = {t: _value(long, t, "RGA-SC ", "gain", 4) for t in ("random", "pretrained")}
    rga_direct = {t: _value(long, t, "RGA-SC ", "gain_without_gates", 4) for t in rga}
    through_gates = all(rga[t] > FACTOR * rga_direct[t] for t in rga)
    alike = not any(
        max(rga[a] / rga[b], rga[b] / rga[a]) > FACTOR for a, b in (("random", "pretrained"),)
    )
    bn = {t: _value(long, t, "RGA-SC ", "bn_factor") for t in rga}
    bn_alike = max(bn["random"] / bn["pretrained"], bn["pretrained"] / bn["random"]) <= FACTOR
    stem = {
        (m, t): _value(long, t, m, "stem_over_head")
        for m in ("Baseline", "RGA-SC ", "CBAM-CS ")
        for t in ("random", "pretrained")
    }
    lines.append(
        "* **Stem over head.** At the first step the stem's gradient norm is, on the random and "
        "the pretrained trunk: baseline "
        f"{_num(stem[('Baseline', 'random')])} and {_num(stem[('Baseline', 'pretrained')])}, "
        f"RGA-SC {_num(stem[('RGA-SC ', 'random')])} and {_num(stem[('RGA-SC ', 'pretrained')])}, "
        f"CBAM-CS {_num(stem[('CBAM-CS ', 'random')])} and {_num(stem[('CBAM-CS ', 'pretrained')])} "
        "times the head's."
    )
    lines.append(
        f"* **RGA's logit normalisation** scales the gradient through it by {_num(bn['random'])} "
        f"on the random trunk and {_num(bn['pretrained'])} on the pretrained one (mean over "
        "modules and gates)"
        + (
            ": alike, so it does not make the two trunks differ."
            if bn_alike
            else ": the two differ."
        )
    )
    if not through_gates:
        verdict = "RGA-SC's last module does not amplify the gradient through its gate path here."
        return "\n".join(lines) + "\n\n**What the first step says.** " + verdict
    verdict = "The gradient that RGA-SC's last module adds travels through its gate path"
    if not alike:
        verdict += ", and its size differs between the trunks."
        return "\n".join(lines) + "\n\n**What the first step says.** " + verdict
    verdict += ", and it is there on both trunks alike at the first step, so by itself it does not"
    verdict += " explain why one trains and the other does not."
    late = {
        "from scratch": _late_excess(scratch),
        "from the pretrained trunk": _late_excess(pretrained),
    }
    if not any(math.isnan(v) for v in late.values()):
        verdict += (
            " Over the last epochs of the runs, RGA-SC's stem-over-head gradient is "
            + " and ".join(f"{_num(v)} times the baseline's {k}" for k, v in late.items())
        )
        lasts, fades = late["from scratch"] > FACTOR, late["from the pretrained trunk"] <= FACTOR
        verdict += (
            ": the excess lasts where the model does not train and fades where it does."
            if lasts and fades
            else "."
        )
    return "\n".join(lines) + "\n\n**What the first step says.** " + verdict
