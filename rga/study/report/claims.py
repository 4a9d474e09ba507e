"""The paper's claims checked against our runs, seed by seed.

A claim says that every setting on its "better" side beats every setting on its "worse" side in
one metric. It is judged pair by pair (:mod:`rga.study.report.pairwise`): each pair (a setting of
the better side, one of the worse side) gets its paired per-seed difference, the mean, the 95 %
t-interval and the p-value of the paired t-test; Holm's correction runs over every pair of every
claim of one study (a group of runs) and one metric; a claim "holds" when every pair holds after
correction, is "reversed" when every pair is reversed, "mixed" when only some are decided, and
otherwise "inconclusive", with the largest gain its intervals leave open and the smallest effect
its seeds detect with 80 % power. It is "not testable" when a model on either side did not fit
its training identities (the reason is given), and in the study's own profile "pending" until
every seed the study plans for its sides has its runs. The descriptive margin
``min(better side) - max(worse side)`` per seed is shown beside the pairs; it decides nothing.
Percentage points for R1 and mAP, raw differences for attention scores. The paper's table that
has every side of a claim (one run per dataset) gets the margin. Nothing is decided by hand:
change the results files and the verdicts follow.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rga.study.report.formats import MISSING, interval_text, mean_sd, t_interval
from rga.study.report.labels import (
    ALL_FOUR,
    BASELINE,
    DEFAULT_EMBEDDING,
    Setting,
    run_settings,
    setting_key,
    setting_label,
)
from rga.study.report.pairwise import (
    PairTest,
    claim_verdict,
    detectable_effect,
    holm,
    largest_gain_not_ruled_out,
    pair_test,
    pair_verdict,
    pooled_sd,
)
from rga.study.report.runs import format_mean_sd, run_dataset_statistics, unique_runs
from rga.study.report.verdicts import fit_problem

__all__ = [
    "CLAIMS",
    "CLAIM_VERDICTS",
    "Claim",
    "check_claims",
    "claim_margins",
    "claim_pairs",
    "feature_sensitivity",
    "fit_problems",
    "planned_seeds",
    "study_plan",
    "study_claims",
    "setting_summary",
    "training_fit",
]

# Every verdict a claim can get, in the order the pages list them.
CLAIM_VERDICTS = (
    "holds",
    "reversed",
    "mixed",
    "inconclusive",
    "not testable",
    "pending",
    "not run",
)


def S(kind: str, positions: str = ALL_FOUR, embedding: str = DEFAULT_EMBEDDING) -> Setting:
    """A claim's side: a setting key (kind, positions, embedding)."""
    return (kind, positions, embedding)


SINGLES: tuple[Setting, ...] = tuple(S("rga-sc", p) for p in ("1", "2", "3", "4"))
RGA_SC: Setting = S("rga-sc")
BASE: Setting = (BASELINE, "", DEFAULT_EMBEDDING)
TABLE2_SOURCE = "supplementary Table 2"
FIGURE1_SOURCE = "supplementary Fig. 1 and its text"
PRECISION_METRICS = {"AUROC": "auroc", "mass on person": "mass_on_person"}


@dataclass(frozen=True)
class Claim:
    """``better`` (each of them) beats ``worse`` (each of them) in ``metric``.

    metric: a results column ("mAP", "R1") or an attention-precision score ("AUROC",
    "mass on person") of the module after ``stage``. ``paper_table``: the table of
    ``book/paper_numbers.csv`` that has every side, whose numbers get the same test; None when
    the paper shows no numbers for it.
    """

    text: str
    experiment: str
    better: tuple[Setting, ...]
    worse: tuple[Setting, ...]
    metrics: tuple[str, ...]
    source: str
    paper_table: str | None = None
    stage: int = 4


ACCURACY = ("mAP", "R1")
CLAIMS: tuple[Claim, ...] = (
    Claim("RGA-SC after any single stage beats the baseline", "plugin_position",
          SINGLES, (BASE,), ACCURACY, TABLE2_SOURCE, "supp-table2"),
    Claim("RGA-SC after all four stages beats the baseline", "plugin_position",
          (RGA_SC,), (BASE,), ACCURACY, TABLE2_SOURCE, "supp-table2"),
    Claim("RGA-SC after all four stages beats RGA-SC after any single stage", "plugin_position",
          (RGA_SC,), SINGLES, ACCURACY, TABLE2_SOURCE, "supp-table2"),
    Claim("conv3_x and conv4_x are better places than conv2_x and conv5_x", "plugin_position",
          (S("rga-sc", "2"), S("rga-sc", "3")), (S("rga-sc", "1"), S("rga-sc", "4")), ACCURACY,
          TABLE2_SOURCE, "supp-table2"),
    Claim("The relations help: RGA-SC beats RGA-SC w/o Rel.", "attention_variants",
          (RGA_SC,), (S("rga-sc-norel"),), ACCURACY,
          "supplementary Fig. 1 (main Table 1 ablates the relations of RGA-S and RGA-C only)"),
    Claim("Both attentions together beat either alone: RGA-SC beats RGA-S and RGA-C",
          "attention_variants", (RGA_SC,), (S("rga-s"), S("rga-c")), ACCURACY,
          "main paper Table 1", "table1"),
    Claim("RGA-SC beats CBAM-CS", "attention_variants", (RGA_SC,), (S("cbam"),), ACCURACY,
          "main paper Table 2", "table2"),
    Claim("RGA-S beats RGA-S w/o Rel. and RGA-S w/o Ori.", "attention_variants",
          (S("rga-s"),), (S("rga-s-norel"), S("rga-s-noori")), ACCURACY,
          "main paper Table 1", "table1"),
    Claim("RGA-C beats RGA-C w/o Rel. and RGA-C w/o Ori.", "attention_variants",
          (S("rga-c"),), (S("rga-c-norel"), S("rga-c-noori")), ACCURACY,
          "main paper Table 1", "table1"),
    Claim("Spatial, then channel is the best order: RGA-SC beats RGA-CS and RGA-S//C",
          "attention_variants", (RGA_SC,), (S("rga-cs"), S("rga-sc-parallel")), ACCURACY,
          "main paper Table 1", "table1"),
    Claim("RGA-S beats the other spatial designs built here (CBAM-S, NL)", "attention_designs",
          (S("rga-s"),), (S("cbam-s"), S("nonlocal")), ACCURACY, "main paper Table 2", "table2"),
    Claim("RGA-C beats the other channel designs built here (SE, CBAM-C)", "attention_designs",
          (S("rga-c"),), (S("se"), S("cbam-c")), ACCURACY, "main paper Table 2", "table2"),
    Claim("Asymmetric embeddings beat a symmetric one and none", "embedding_functions",
          (RGA_SC,), (S("rga-sc", embedding="symmetric"), S("rga-sc", embedding="none")),
          ACCURACY, "main paper Table 4", "table4"),
    Claim("RGA-SC's fourth spatial attention is more on the person than CBAM-CS's",
          "attention_variants", (RGA_SC,), (S("cbam"),), ("AUROC", "mass on person"),
          FIGURE1_SOURCE),
    Claim("RGA-SC's fourth spatial attention is more on the person than RGA-SC w/o Rel.'s",
          "attention_variants", (RGA_SC,), (S("rga-sc-norel"),), ("AUROC", "mass on person"),
          FIGURE1_SOURCE),
)  # fmt: skip


def _run_value(run: pd.Series, metric: str, stage: int, feature: str | None = None) -> float:
    """One run's value of ``metric`` (precision scores of the module after ``stage``); NaN if
    absent. ``feature`` ("z", "z_hat") reads that feature's accuracy instead of the run's
    headline (its ``eval_feature``)."""
    if feature and metric not in PRECISION_METRICS:
        metric = f"{feature}.{metric}"
    if metric in PRECISION_METRICS:
        scores = run.get("attention_precision")
        if not isinstance(scores, dict):
            return np.nan
        values = scores.get(str(stage), scores.get(stage))
        return float(values[PRECISION_METRICS[metric]]) if values else np.nan
    value = run.get(metric, np.nan)
    return float(value) if value is not None else np.nan


def _seed_values(
    runs: pd.DataFrame, claim: Claim, metric: str, feature: str | None = None
) -> pd.DataFrame:
    """Each run's value of ``metric`` for the settings of ``claim``: one row per (group, seed),
    one column per setting of either side (NaN where that seed has no run). A run id present
    twice counts once."""
    wanted = list(dict.fromkeys(claim.better + claim.worse))
    if runs.empty:
        return pd.DataFrame(columns=wanted)
    runs = unique_runs(runs)
    sides = pd.Series(run_settings(runs), index=runs.index)
    rows = {}
    for (group, seed), idx in runs.groupby(["group", "seed"]).groups.items():
        values = {
            sides[i]: _run_value(runs.loc[i], metric, claim.stage, feature)
            for i in idx
            if sides[i] in wanted
        }
        if values:
            rows[(group, seed)] = values
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=wanted)
    if not table.empty:
        table.index = pd.MultiIndex.from_tuples(table.index, names=["group", "seed"])
    return table


def claim_margins(
    runs: pd.DataFrame, claim: Claim, metric: str, feature: str | None = None
) -> pd.DataFrame:
    """Per (group, seed) with every side present: better (min), worse (max) and margin, the
    descriptive margin shown beside the pairs (it decides no verdict).

    ``runs`` is :func:`rga.study.report.load_runs` of ``claim.experiment`` (any frame with kind,
    positions, seed and group; ``rga_embedding`` when it varies); columns group, seed, better,
    worse, margin. A run id present twice counts once.
    """
    columns = ["group", "seed", "better", "worse", "margin"]
    values = _seed_values(runs, claim, metric, feature).dropna()
    if values.empty:
        return pd.DataFrame(columns=columns)
    better = values[list(claim.better)].min(axis=1)
    worse = values[list(claim.worse)].max(axis=1)
    out = pd.DataFrame({"better": better, "worse": worse, "margin": better - worse})
    return out.reset_index()[columns]


def claim_pairs(
    runs: pd.DataFrame, claim: Claim, metric: str, feature: str | None = None
) -> dict[object, dict[tuple[Setting, Setting], tuple[PairTest, list]]]:
    """{group: {(better setting, worse setting): (its paired test, its differences by seed)}}:
    each pair's per-seed differences over the seeds that have both settings
    (:func:`rga.study.report.pairwise.pair_test`), the differences as [(seed, difference)]."""
    values = _seed_values(runs, claim, metric, feature)
    out = {}
    for group, g in values.groupby(level="group", sort=True) if not values.empty else []:
        by_seed = g.droplevel("group")
        pairs = {}
        for b in claim.better:
            for w in claim.worse:
                d = (by_seed[b] - by_seed[w]).dropna().sort_index()
                pairs[(b, w)] = (pair_test(d), [(int(s), float(v)) for s, v in d.items()])
        out[group] = pairs
    return out


def planned_seeds(claim: Claim, profile) -> int | None:
    """How many seeds the study plans for every side of ``claim`` in ``profile``: the pipeline's
    tables in its profile, with the study's seeds (:mod:`rga.study.pipeline`). None for a profile
    the pipeline plans no table in (the first study's ``cpu`` runs, a user's own)."""
    from rga.study.pipeline import STUDY_PROFILE, TABLES

    if profile != STUDY_PROFILE or claim.experiment not in TABLES:
        return None
    seeds = study_plan(claim.experiment, profile)
    sides = [seeds.get(side, frozenset()) for side in claim.better + claim.worse]
    return len(frozenset.intersection(*sides))


@functools.cache
def study_plan(experiment: str, profile: str) -> dict[Setting, frozenset[int]]:
    """{setting: the seeds the study plans for it} of one table; built once per process, since
    building the configs reads the trunk and schedule files (seconds per table)."""
    from rga.study.experiments import experiment_configs

    seeds: dict[Setting, set[int]] = {}
    for config in experiment_configs(experiment, profile, "study"):
        key = setting_key(config.kind, config.positions, config.rga_embedding)
        seeds.setdefault(key, set()).add(config.seed)
    return {key: frozenset(s) for key, s in seeds.items()}


def fit_problems(runs: pd.DataFrame, claim: Claim, group) -> list[str]:
    """Why the runs of `claim`'s sides in `group` cannot test it: one line per setting with runs
    that did not fit their training identities (:func:`rga.study.report.verdicts.fit_problem`),
    e.g. "RGA-SC conv2-5_x, seeds 0, 1: final cross-entropy 5.03, 5.18 near a uniform guess
    (ln 200 = 5.30)". Frames without training curves (hand-made ones) have none."""
    if runs.empty or "curve" not in runs.columns:
        return []
    runs = unique_runs(runs)
    runs = runs[runs["group"] == group].sort_values("seed")
    sides = pd.Series(run_settings(runs), index=runs.index)
    wanted = set(claim.better + claim.worse)
    failing: dict[str, list[tuple[int, str, float | None, int | None]]] = {}
    for i in runs.index[sides.isin(wanted)]:
        run = runs.loc[i]
        curve = run["curve"] if isinstance(run["curve"], list) else None
        ids = None
        if isinstance(run.get("path"), str):
            ids = (run_dataset_statistics(run["path"]).get("train") or {}).get("ids")
        problem = fit_problem(curve, ids)
        if problem:
            ce = curve[-1].get("ce") if curve else None
            label = str(run.get("setting", sides[i][0]))
            failing.setdefault(label, []).append((int(run["seed"]), problem, ce, ids))
    lines = []
    for label, items in failing.items():
        seeds = ", ".join(str(seed) for seed, *_ in items)
        plural = "s" if len(items) > 1 else ""
        ids = {k for *_, k in items}
        if all(ce is not None for _, _, ce, _ in items) and len(ids) == 1 and None not in ids:
            k = ids.pop()
            ces = ", ".join(f"{ce:.2f}" for _, _, ce, _ in items)
            lines.append(
                f"{label}, seed{plural} {seeds}: final cross-entropy {ces} near a uniform guess "
                f"(ln {k} = {math.log(k):.2f})"
            )
        else:
            lines.append(f"{label}, seed{plural} {seeds}: " + "; ".join(p for _, p, *_ in items))
    return lines


def _by_seed(margins: pd.DataFrame, digits: int) -> str:
    """ "+1.2 (s0), -0.3 (s1)": the margin of every seed."""
    return ", ".join(
        f"{m:+.{digits}f} (s{int(s)})"
        for s, m in sorted(zip(margins["seed"], margins["margin"], strict=True))
    )


def _interval(values: pd.Series, digits: int) -> str:
    """The 95 % t-interval of the mean, "[-18.9, -13.1]"; "–" for fewer than two seeds."""
    return interval_text(t_interval(values), digits)


def _paper_margin(paper: pd.DataFrame, claim: Claim, metric: str, dataset_label: str) -> str:
    """The claim's margin in the paper's table on one dataset, e.g. "+1.4 (holds)"; "–" when the
    paper has no number for one of its sides."""
    if claim.paper_table is None:
        return MISSING
    rows = paper[
        (paper["table"] == claim.paper_table)
        & (paper["dataset_label"] == dataset_label)
        & (paper["metric"] == metric)
    ]
    value = dict(zip(rows["setting_key"], rows["value"], strict=True))
    if not all(s in value for s in claim.better + claim.worse):
        return MISSING
    margin = min(value[s] for s in claim.better) - max(value[s] for s in claim.worse)
    verdict = "holds" if margin > 0 else "tie" if margin == 0 else "does not hold"
    return f"{margin:+.1f} ({verdict})"


def check_claims(
    runs_by_experiment: dict[str, pd.DataFrame],
    paper: pd.DataFrame | None = None,
    only_given: bool = False,
    feature: str | None = None,
    planned=None,
) -> pd.DataFrame:
    """One row per (claim, metric, group of our runs): the group's profile; its pairs (each with
    the mean paired difference, 95 % t-interval, Holm-adjusted p-value and verdict, as text in
    "pairs"), the size of the Holm family ("family": the pairs of every claim of the group in
    that metric), the verdict (see the module docstring) and why a claim is not testable; the
    largest gain the pairs' intervals leave open ("rules out above") and the smallest effect
    the seeds detect with 80 % power ("detectable"); the number of seeds (and of those the study
    plans, :func:`planned_seeds`, or None); the descriptive margin (our sides and the margin as
    mean ± sd over seeds, its 95 % t-interval as text and as numbers in "mean margin", "CI low"
    and "CI high", and seed by seed); and the claim's margin in the paper's table on each of the
    paper's datasets.

    ``feature`` ("z" or "z_hat") judges accuracy claims on that feature's metrics; None takes each
    run's headline (its ``eval_feature``). With ``only_given``, claims of experiments not in
    ``runs_by_experiment`` are left out (otherwise they appear as "not run"). ``planned``: how many
    seeds are planned for a claim's sides in a profile, ``planned(claim, profile)`` (default
    :func:`planned_seeds`, the study's plan; a scale probe passes its own).
    """
    planned_of = planned or planned_seeds
    datasets = []
    if paper is not None:
        tables = {c.paper_table for c in CLAIMS if c.paper_table}
        datasets = list(dict.fromkeys(paper.loc[paper["table"].isin(tables), "dataset_label"]))
    checked = []  # (claim, metric, group, margins, pairs)
    family: dict[tuple, dict] = {}  # (group, metric) -> {pair: p}: each pair once
    for claim in CLAIMS:
        if only_given and claim.experiment not in runs_by_experiment:
            continue
        runs = runs_by_experiment.get(claim.experiment, pd.DataFrame())
        for metric in claim.metrics:
            margins = claim_margins(runs, claim, metric, feature)
            pairs = claim_pairs(runs, claim, metric, feature)
            groups = sorted(set(margins["group"]) | set(pairs), key=str) or [None]
            for group in groups:
                m = margins[margins["group"] == group] if group is not None else margins
                checked.append((claim, runs, metric, group, m, pairs.get(group, {})))
                for key, (test, _) in pairs.get(group, {}).items():
                    family.setdefault((group, metric), {})[key] = test
    adjusted, sizes, spread = {}, {}, {}
    for fam, tests in family.items():
        keys = list(tests)
        adjusted[fam] = dict(zip(keys, holm([tests[k].p for k in keys]), strict=True))
        sizes[fam] = sum(not np.isnan(tests[k].p) for k in keys)
        spread[fam] = pooled_sd(tests.values())
    rows = []
    for claim, runs, metric, group, m, pairs in checked:
        digits = 3 if metric in PRECISION_METRICS else 1
        fam = (group, metric)
        problems = fit_problems(runs, claim, group) if group is not None else []
        profile = _group_profile(runs, group)
        planned = planned_of(claim, profile)
        p_adj = adjusted.get(fam, {})
        pair_verdicts = [pair_verdict(t.mean, p_adj[k]) for k, (t, _) in pairs.items()]
        if not len(m):
            verdict_text = "not run"
        elif problems:
            verdict_text = "not testable"
        elif planned and len(m) < planned:
            verdict_text = "pending"
        else:
            verdict_text = claim_verdict(pair_verdicts)
        low, high = t_interval(m["margin"]) or (np.nan, np.nan)
        seeds = min((t.n for t, _ in pairs.values()), default=0)
        row = {
            "claim": claim.text,
            "experiment": claim.experiment,
            "metric": metric,
            "runs of": group or "",
            "profile": profile,
            "pairs": _pair_records(pairs, p_adj, pair_verdicts),
            "pair verdicts": pair_verdicts,
            "family": sizes.get(fam, 0),
            "rules out above": largest_gain_not_ruled_out(t.high for t, _ in pairs.values()),
            "detectable": detectable_effect(seeds, spread.get(fam, np.nan)),
            "better side": mean_sd(m["better"], digits),
            "worse side": mean_sd(m["worse"], digits),
            "margin": mean_sd(m["margin"], digits),
            "95 % CI": _interval(m["margin"], digits),
            "mean margin": float(m["margin"].mean()) if len(m) else np.nan,
            "CI low": low,
            "CI high": high,
            "margin by seed": _by_seed(m, digits),
            "seeds": len(m),
            "seeds planned": planned,
            "verdict": verdict_text,
            "why not testable": "; ".join(problems) if len(m) else "",
            "source": claim.source,
        }
        for label in datasets:
            row[f"paper, {label}"] = _paper_margin(paper, claim, metric, label)
        rows.append(row)
    return pd.DataFrame(rows)


def _pair_records(pairs: dict, adjusted: dict, verdicts: list[str]) -> list[dict]:
    """Each pair of a claim as a record: better and worse setting labels, seeds, mean, low and
    high (95 % t-interval), Holm-adjusted p ("p"), verdict and the differences by seed
    ([(seed, difference)])."""
    return [
        {
            "better": setting_label(*b),
            "worse": setting_label(*w),
            "n": t.n,
            "mean": t.mean,
            "low": t.low,
            "high": t.high,
            "p": adjusted.get((b, w), np.nan),
            "verdict": v,
            "by seed": by_seed,
        }
        for ((b, w), (t, by_seed)), v in zip(pairs.items(), verdicts, strict=True)
    ]


def study_claims(
    paper: pd.DataFrame | None = None, root=None, feature: str | None = None
) -> pd.DataFrame:
    """:func:`check_claims` over every experiment of the paper's tables
    (``rga.study.report.PAPER_TABLES``), so that each study's Holm family holds all its pairs: a
    page about one experiment filters the rows by ``experiment``, and its verdicts are the
    Results page's."""
    from rga.study.report.paper import PAPER_TABLES
    from rga.study.report.runs import load_runs

    return check_claims({e: load_runs(e, root) for e in PAPER_TABLES}, paper, feature=feature)


def feature_sensitivity(
    runs_by_experiment: dict[str, pd.DataFrame], features=("z", "z_hat")
) -> pd.DataFrame:
    """The accuracy claims' verdicts under each evaluated feature, side by side: one row per
    (claim, metric, group) with a column per feature and "depends on the feature" (True where the
    verdicts differ). The study's primary feature is z (chosen before the two were compared)."""
    tables = {f: check_claims(runs_by_experiment, feature=f) for f in features}
    keys = ["claim", "metric", "runs of", "profile"]
    merged = None
    for f, t in tables.items():
        t = t[t["metric"].isin(ACCURACY)][keys + ["verdict"]].rename(columns={"verdict": f})
        merged = t if merged is None else merged.merge(t, on=keys, how="outer")
    merged["depends on the feature"] = merged[list(features)].nunique(axis=1) > 1
    return merged.reset_index(drop=True)


def _group_profile(runs: pd.DataFrame, group):
    """The profile of the runs of ``group`` (None without one, or when they mix profiles)."""
    if group is None or runs.empty or "profile" not in runs.columns:
        return None
    profiles = runs.loc[runs["group"] == group, "profile"].dropna().unique()
    return profiles[0] if len(profiles) == 1 else None


def _last_epochs(runs: pd.DataFrame) -> list[dict]:
    """The last curve entry of each run that has a curve."""
    return [c[-1] for c in runs.get("curve", []) if isinstance(c, list) and c]


def training_fit(runs: pd.DataFrame) -> pd.DataFrame:
    """How well each model fits its training identities at the last epoch: one row per (group,
    setting) with the final cross-entropy and triplet loss (mean ± sd over seeds) and ln K, the
    cross-entropy of a uniform guess over the K training identities (label smoothing leaves it
    unchanged), read from the results files' dataset statistics. Each run id once."""
    from rga.study.report.labels import setting_sort_key

    rows = []
    if runs.empty:
        return pd.DataFrame()
    runs = unique_runs(runs)
    for (group, setting), g in runs.groupby(["group", "setting_key"], sort=False):
        last = _last_epochs(g)
        ids = (run_dataset_statistics(g["path"].iloc[0]).get("train") or {}).get("ids")
        rows.append(
            {
                "runs of": group,
                "setting": g["setting"].iloc[0],
                "final cross-entropy": format_mean_sd([e["ce"] for e in last], 2),
                "final triplet loss": format_mean_sd([e["triplet"] for e in last], 2),
                "uniform guess, ln K": f"{math.log(ids):.2f} (K = {ids})" if ids else MISSING,
                "seeds": str(len(last)),
                "_order": setting_sort_key(setting),
            }
        )
    out = pd.DataFrame(rows).sort_values(["runs of", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def setting_summary(runs: pd.DataFrame, name: str) -> dict:
    """One setting's runs in a row: R1, mAP (mean ± sd over seeds), the 95 % t-interval of the
    mAP, mAP seed by seed, the last-epoch cross-entropy, and the seeds, under ``name``."""
    runs = unique_runs(runs)
    last = [e["ce"] for e in _last_epochs(runs)]
    return {
        "setting": name,
        "R1": format_mean_sd(runs["R1"]) if "R1" in runs else MISSING,
        "mAP": format_mean_sd(runs["mAP"]) if "mAP" in runs else MISSING,
        "mAP, 95 % CI": _interval(runs["mAP"], 1) if "mAP" in runs else MISSING,
        "mAP by seed": (
            ", ".join(f"{v:.1f}" for v in runs.sort_values("seed")["mAP"])
            if "mAP" in runs
            else MISSING
        ),
        "final cross-entropy": format_mean_sd(last, 2),
        "seeds": ", ".join(str(s) for s in sorted(runs["seed"].unique()))
        if "seed" in runs
        else MISSING,
    }
