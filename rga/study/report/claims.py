"""The paper's claims checked against our runs, seed by seed.

A claim says that every setting on its "better" side beats every setting on its "worse" side in
one metric. For each seed it is judged on that seed's runs by the margin

    margin = min(better side) - max(worse side)

and over seeds the verdict is "holds in every seed", "reversed in every seed" or "mixed". The
paper's Table 2 numbers (one run per dataset) get the same margin where the claim is about
Table 2 settings. Nothing is decided by hand: change the results files and the verdicts follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rga.study.report.labels import BASELINE, TABLE2_SETTINGS, normalise_kind, positions_key
from rga.study.report.runs import format_mean_sd, run_dataset_statistics

__all__ = ["CLAIMS", "Claim", "check_claims", "claim_margins", "setting_summary", "training_fit"]

Side = tuple[str, str]  # (kind, positions key), e.g. ("rga-sc", "1,2,3,4")

SINGLES: tuple[Side, ...] = tuple(("rga-sc", p) for p in ("1", "2", "3", "4"))
ALL_FOUR: Side = ("rga-sc", "1,2,3,4")
BASE: Side = (BASELINE, "")
TABLE2_SOURCE = "supplementary Table 2"
FIGURE1_SOURCE = "supplementary Fig. 1 and its text"
ABLATION_SOURCE = "main paper's ablation (its tables were not retrieved)"
PRECISION_METRICS = {"AUROC": "auroc", "mass on person": "mass_on_person"}


@dataclass(frozen=True)
class Claim:
    """``better`` (each of them) beats ``worse`` (each of them) in ``metric``.

    metric: a results column ("mAP", "R1") or an attention-precision score ("AUROC",
    "mass on person") of the module after ``stage``.
    """

    text: str
    experiment: str
    better: tuple[Side, ...]
    worse: tuple[Side, ...]
    metrics: tuple[str, ...]
    source: str
    stage: int = 4


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "RGA-SC after any single stage beats the baseline",
        "plugin_position",
        SINGLES,
        (BASE,),
        ("mAP", "R1"),
        TABLE2_SOURCE,
    ),
    Claim(
        "RGA-SC after all four stages beats the baseline",
        "plugin_position",
        (ALL_FOUR,),
        (BASE,),
        ("mAP", "R1"),
        TABLE2_SOURCE,
    ),
    Claim(
        "RGA-SC after all four stages beats RGA-SC after any single stage",
        "plugin_position",
        (ALL_FOUR,),
        SINGLES,
        ("mAP", "R1"),
        TABLE2_SOURCE,
    ),
    Claim(
        "conv3_x and conv4_x are better places than conv2_x and conv5_x",
        "plugin_position",
        (("rga-sc", "2"), ("rga-sc", "3")),
        (("rga-sc", "1"), ("rga-sc", "4")),
        ("mAP", "R1"),
        TABLE2_SOURCE,
    ),
    Claim(
        "The relations help: RGA-SC beats RGA-SC w/o relations",
        "attention_variants",
        (ALL_FOUR,),
        (("rga-sc-norel", "1,2,3,4"),),
        ("mAP", "R1"),
        ABLATION_SOURCE,
    ),
    Claim(
        "Both attentions together beat either alone: RGA-SC beats RGA-S and RGA-C",
        "attention_variants",
        (ALL_FOUR,),
        (("rga-s", "1,2,3,4"), ("rga-c", "1,2,3,4")),
        ("mAP", "R1"),
        ABLATION_SOURCE,
    ),
    Claim(
        "RGA-SC beats CBAM",
        "attention_variants",
        (ALL_FOUR,),
        (("cbam", "1,2,3,4"),),
        ("mAP", "R1"),
        ABLATION_SOURCE,
    ),
    Claim(
        "RGA-SC's fourth spatial attention is more on the person than CBAM's",
        "attention_variants",
        (ALL_FOUR,),
        (("cbam", "1,2,3,4"),),
        ("AUROC", "mass on person"),
        FIGURE1_SOURCE,
    ),
    Claim(
        "RGA-SC's fourth spatial attention is more on the person than RGA-SC w/o relations'",
        "attention_variants",
        (ALL_FOUR,),
        (("rga-sc-norel", "1,2,3,4"),),
        ("AUROC", "mass on person"),
        FIGURE1_SOURCE,
    ),
)


def _run_value(run: pd.Series, metric: str, stage: int) -> float:
    """One run's value of ``metric`` (precision scores of the module after ``stage``); NaN if absent."""
    if metric in PRECISION_METRICS:
        scores = run.get("attention_precision")
        if not isinstance(scores, dict):
            return np.nan
        values = scores.get(str(stage), scores.get(stage))
        return float(values[PRECISION_METRICS[metric]]) if values else np.nan
    value = run.get(metric, np.nan)
    return float(value) if value is not None else np.nan


def claim_margins(runs: pd.DataFrame, claim: Claim, metric: str) -> pd.DataFrame:
    """Per (group, seed) with every side present: better (min), worse (max) and margin.

    ``runs`` is :func:`rga.study.report.load_runs` of ``claim.experiment``; columns group, seed,
    better, worse, margin.
    """
    columns = ["group", "seed", "better", "worse", "margin"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    sides = pd.Series(
        list(
            zip(runs["kind"].map(normalise_kind), runs["positions"].map(positions_key), strict=True)
        ),
        index=runs.index,
    )
    rows = []
    for (group, seed), idx in runs.groupby(["group", "seed"]).groups.items():
        values = {
            sides[i]: _run_value(runs.loc[i], metric, claim.stage)
            for i in idx
            if sides[i] in claim.better + claim.worse
        }
        if not all(s in values for s in claim.better + claim.worse):
            continue
        better = min(values[s] for s in claim.better)
        worse = max(values[s] for s in claim.worse)
        if np.isnan(better) or np.isnan(worse):
            continue
        rows.append(
            {
                "group": group,
                "seed": seed,
                "better": better,
                "worse": worse,
                "margin": better - worse,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _verdict(margins: pd.Series) -> str:
    if margins.empty:
        return "not run"
    if (margins > 0).all():
        return "holds in every seed"
    if (margins < 0).all():
        return "reversed in every seed"
    return "mixed"


def _paper_margin(paper: pd.DataFrame, claim: Claim, metric: str, dataset_label: str) -> str:
    """The claim's margin in the paper's Table 2 on one dataset, e.g. "+1.4 (holds)"."""
    if claim.source != TABLE2_SOURCE:
        return ""
    rows = paper[
        (paper["table"] == "supp-table2")
        & (paper["dataset_label"] == dataset_label)
        & (paper["metric"] == metric)
    ]
    value = rows.set_index("setting")["value"]
    settings = [TABLE2_SETTINGS[p] for _, p in claim.better + claim.worse]
    if not all(s in value for s in settings):
        return ""
    better = min(value[TABLE2_SETTINGS[p]] for _, p in claim.better)
    worse = max(value[TABLE2_SETTINGS[p]] for _, p in claim.worse)
    margin = better - worse
    verdict = "holds" if margin > 0 else "tie" if margin == 0 else "does not hold"
    return f"{margin:+.1f} ({verdict})"


def check_claims(
    runs_by_experiment: dict[str, pd.DataFrame],
    paper: pd.DataFrame | None = None,
    only_given: bool = False,
) -> pd.DataFrame:
    """One row per (claim, metric, group of our runs): our sides and margin as mean ± sd over
    seeds, the number of seeds, the verdict, and the paper's Table 2 margin on each dataset.

    Margins are percentage points for mAP and R1, raw differences for attention scores. With
    ``only_given``, claims of experiments not in ``runs_by_experiment`` are left out (otherwise
    they appear as "not run").
    """
    datasets = []
    if paper is not None:
        datasets = list(dict.fromkeys(paper.loc[paper["table"] == "supp-table2", "dataset_label"]))
    rows = []
    for claim in CLAIMS:
        if only_given and claim.experiment not in runs_by_experiment:
            continue
        runs = runs_by_experiment.get(claim.experiment, pd.DataFrame())
        for metric in claim.metrics:
            digits = 3 if metric in PRECISION_METRICS else 1
            margins = claim_margins(runs, claim, metric)
            groups = margins.groupby("group", sort=True) if not margins.empty else [(None, margins)]
            for group, m in groups:
                row = {
                    "claim": claim.text,
                    "metric": metric,
                    "runs of": group or "",
                    "better side": format_mean_sd(m["better"], digits),
                    "worse side": format_mean_sd(m["worse"], digits),
                    "margin": format_mean_sd(m["margin"], digits),
                    "seeds": len(m),
                    "verdict": _verdict(m["margin"]),
                    "source": claim.source,
                }
                for label in datasets:
                    row[f"paper, {label}"] = _paper_margin(paper, claim, metric, label)
                rows.append(row)
    return pd.DataFrame(rows)


def _last_epochs(runs: pd.DataFrame) -> list[dict]:
    """The last curve entry of each run that has a curve."""
    return [c[-1] for c in runs.get("curve", []) if isinstance(c, list) and c]


def training_fit(runs: pd.DataFrame) -> pd.DataFrame:
    """How well each model fits its training identities at the last epoch: one row per (group,
    label) with the final cross-entropy and triplet loss (mean ± sd over seeds) and ln K, the
    cross-entropy of a uniform guess over the K training identities (label smoothing leaves it
    unchanged), read from the results files' dataset statistics."""
    rows = []
    if runs.empty:
        return pd.DataFrame()
    for (group, label), g in runs.groupby(["group", "label"], sort=False):
        last = _last_epochs(g)
        ids = (run_dataset_statistics(g["path"].iloc[0]).get("train") or {}).get("ids")
        rows.append(
            {
                "runs of": group,
                "model": label,
                "final cross-entropy": format_mean_sd([e["ce"] for e in last], 2),
                "final triplet loss": format_mean_sd([e["triplet"] for e in last], 2),
                "uniform guess, ln K": f"{math.log(ids):.2f} (K = {ids})" if ids else "",
                "seeds": len(last),
            }
        )
    return pd.DataFrame(rows)


def setting_summary(runs: pd.DataFrame, name: str) -> dict:
    """One setting's runs in a row: R1, mAP and the last-epoch cross-entropy as mean ± sd over
    seeds, mAP seed by seed, and the seeds, under ``name``."""
    last = [e["ce"] for e in _last_epochs(runs)]
    return {
        "setting": name,
        "R1": format_mean_sd(runs["R1"]) if "R1" in runs else "",
        "mAP": format_mean_sd(runs["mAP"]) if "mAP" in runs else "",
        "mAP by seed": (
            ", ".join(f"{v:.1f}" for v in runs.sort_values("seed")["mAP"]) if "mAP" in runs else ""
        ),
        "final cross-entropy": format_mean_sd(last, 2),
        "seeds": ", ".join(str(s) for s in sorted(runs["seed"].unique())) if "seed" in runs else "",
    }
