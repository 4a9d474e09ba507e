"""One study's table of runs read in words, computed from its results files: whether its models
fit their training identities, and how consistently each pair of a claim falls one way across
seeds. The book's paragraphs on each table are these sentences, never typed numbers.

``table_reading(claims, runs)`` is a paragraph: the fit (:func:`fit_reading`), then each claim
with runs (:func:`claim_reading`): every pair's direction seed by seed and its mean difference,
and the claim's verdict in mAP (and in R1 where that verdict differs).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rga.study.report.verdicts import NEAR_UNIFORM

__all__ = ["claim_reading", "fit_reading", "seed_pattern", "table_reading"]


def seed_pattern(by_seed, other: str = "it") -> str:
    """Which way a pair's per-seed differences fall against ``other``: "above it in every
    seed", "below it in every seed", or "above it in 2 of 5 seeds" (a zero difference counts as
    neither)."""
    values = [d for _, d in by_seed]
    n, above, below = len(values), sum(d > 0 for d in values), sum(d < 0 for d in values)
    every = "in every seed" if n > 1 else "in its one seed"
    if n and above == n:
        return f"above {other} {every}"
    if n and below == n:
        return f"below {other} {every}"
    return f"above {other} in {above} of {n} seeds"


def _name(label: str) -> str:
    """Setting labels as a sentence names them: "Baseline" -> "the baseline"."""
    return "the baseline" if label == "Baseline" else label


def claim_reading(row: pd.Series) -> str:
    """One claim in one metric (a ``check_claims`` row with runs): each pair's direction seed
    by seed and mean difference, then the verdict. E.g. "in mAP, RGA-SC conv2-5_x is below the
    baseline in every seed (-0.5 points on average): *inconclusive*"; pairs that share their
    better side name it once ("RGA-SC conv2-5_x is below RGA-S ... and below RGA-C ...")."""
    digits = 1 if row["metric"] in ("mAP", "R1") else 3
    unit = " points" if digits == 1 else ""
    pairs = [p for p in row["pairs"] if p["by seed"]]
    parts = [
        f"{seed_pattern(p['by seed'], _name(p['worse']))} ({p['mean']:+.{digits}f}{unit} on average)"
        for p in pairs
    ]  # fmt: skip
    if len({p["better"] for p in pairs}) == 1:
        text = f"{_name(pairs[0]['better'])} is " + " and ".join(parts) if pairs else ""
    else:
        text = "; ".join(f"{_name(p['better'])} is {w}" for p, w in zip(pairs, parts, strict=True))
    return f"in {row['metric']}, {text}: *{row['verdict']}*"


def fit_reading(runs: pd.DataFrame) -> str:
    """Whether one study's runs of a table fit their training identities: the range of the
    settings' mean final cross-entropies and how far apart they are, against a uniform guess
    (ln K), or which settings stay near that guess. "" without curves."""
    from rga.study.report.runs import run_dataset_statistics, unique_runs

    if runs.empty or "curve" not in runs:
        return ""
    runs = unique_runs(runs)
    final = {}
    for setting, g in runs.groupby("setting", sort=False):
        last = [c[-1]["ce"] for c in g["curve"] if isinstance(c, list) and c and "ce" in c[-1]]
        if last:
            final[setting] = float(np.mean(last))
    if not final:
        return ""
    ids = (run_dataset_statistics(runs["path"].iloc[0]).get("train") or {}).get("ids")
    if not ids:
        return ""
    chance = math.log(ids)
    near = [s for s, ce in final.items() if ce >= NEAR_UNIFORM * chance]
    if near:
        return (
            f"{', '.join(near)} stay{'s' if len(near) == 1 else ''} near a uniform guess over the "
            f"{ids} training identities (final cross-entropy at least {NEAR_UNIFORM:.0%} of "
            f"ln {ids} = {chance:.2f}): the claims that involve "
            f"{'it' if len(near) == 1 else 'them'} are not testable."
        )
    low, high = min(final.values()), max(final.values())
    return (
        f"Every setting fits its training identities: mean final cross-entropies from "
        f"{low:.2f} to {high:.2f} (the highest {high / low - 1:.0%} above the lowest), far below "
        f"a uniform guess (ln {ids} = {chance:.2f})."
    )


def table_reading(claims: pd.DataFrame, runs: pd.DataFrame) -> str:
    """One study's table in words, as Markdown: :func:`fit_reading` of its ``runs``, then one
    item per claim of ``claims`` (``check_claims`` rows of that study and table) with runs: in
    mAP, and in R1 too where the verdict differs (a claim without mAP: its own metrics). ""
    when no claim has runs."""
    rows = claims[claims["verdict"] != "not run"] if not claims.empty else claims
    if rows.empty:
        return ""
    items = []
    for text, group in rows.groupby("claim", sort=False):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        shown = [by_metric[m] for m in ("mAP", "R1") if m in by_metric] or list(by_metric.values())
        if len(shown) == 2 and shown[0]["verdict"] == shown[1]["verdict"] and "mAP" in by_metric:
            shown = shown[:1]
        first = shown[0]
        if first["verdict"] == "pending":
            body = (f"*pending*, {int(first['seeds'])} of {int(first['seeds planned'])} planned "
                    "seeds in")  # fmt: skip
        elif first["verdict"] == "not testable":
            body = f"*not testable*: {first['why not testable']}"
        else:
            body = "; ".join(claim_reading(r) for r in shown)
        items.append(f"- **{text}**: {body}.")
    fit = fit_reading(runs)
    return "\n".join(([fit, ""] if fit else []) + items)
