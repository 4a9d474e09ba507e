"""The scale probes judged by the plan of ``book/scale.md``: their claims, and how far each
claim's margin moves from the study's.

A probe retrains some of the study's settings with one thing changed (the module's internal
sizes, the input size) and checks the claims its settings can test:

* **its own verdicts** (:func:`probe_claims`): the study's procedure
  (:func:`rga.study.report.claims.check_claims`) on the probe's runs, Holm's correction over the
  probe's pairs in one metric, "pending" until the probe's planned seeds are in;
* **the margin's move** (:func:`margin_shifts`): per pair, the per-seed difference of margins
  d(s) = probe margin(s) - study margin(s), paired by seed over the seeds both have, its mean,
  95 % t-interval and p-value, Holm's correction over every pair of every probe in one metric;
  the margin **moves** when the corrected p is below 0.05;
* **the judgement** (:func:`scale_judgement`): "depends on scale" when the probe's verdict
  differs from the study's and the margin moves, "differs, within the seeds' resolution" when
  it differs but the margin does not detectably move, else "stands at that scale".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rga.study.report.claims import BASE, CLAIMS, Claim, check_claims, study_plan
from rga.study.report.labels import Setting
from rga.study.report.pairwise import ALPHA, PairTest, holm, pair_test

__all__ = [
    "PROBES",
    "probe_progress",
    "scale_status",
    "Probe",
    "margin_shift",
    "margin_shifts",
    "probe_claims",
    "probe_runs",
    "scale_judgement",
]

STUDY = "pretrained"  # the profile of the study the probes are judged against
UNSETTLED = ("pending", "not run")
RGA_SC_VS_BASELINE = "RGA-SC after all four stages beats the baseline"
RELATIONS = "The relations help: RGA-SC beats RGA-SC w/o Rel."
VS_CBAM = "RGA-SC beats CBAM-CS"


@dataclass(frozen=True)
class Probe:
    """One scale probe: its name on the page, the experiment that trains it, the claims its
    settings test, and the settings it takes from the study's own runs (nothing but the module
    changes for them, so the study's runs serve)."""

    name: str
    experiment: str
    claims: tuple[str, ...]
    from_study: tuple[Setting, ...] = ()


PROBES: tuple[Probe, ...] = (
    Probe("official sizes", "scale_ratios", (RGA_SC_VS_BASELINE, RELATIONS, VS_CBAM), (BASE,)),
    Probe("192x96", "scale_positions", (RGA_SC_VS_BASELINE, RELATIONS)),
)


def _claims(probe: Probe) -> list[Claim]:
    by_text = {claim.text: claim for claim in CLAIMS}
    return [by_text[text] for text in probe.claims]


def probe_runs(probe: Probe, root=None, profile: str | None = None) -> pd.DataFrame:
    """The probe's runs in its profile (``rga.study.experiments.PROBE_PROFILES``) and the study's
    runs of ``probe.from_study``, all under one group: the probe's name. Empty when the probe
    has no run yet. Another ``profile`` (a user's smoke try): the probe's runs and the runs of
    ``probe.from_study`` in that profile."""
    from rga.study.experiments import PROBE_PROFILES
    from rga.study.report.paper import PAPER_TABLES
    from rga.study.report.runs import load_runs

    own_profile = profile or PROBE_PROFILES[probe.experiment]
    study_profile = STUDY if own_profile == PROBE_PROFILES[probe.experiment] else own_profile
    own = load_runs(probe.experiment, root, profiles=(own_profile,))
    frames = [own]
    if probe.from_study and not own.empty:
        study = pd.concat(
            [load_runs(e, root, profiles=(study_profile,)) for e in PAPER_TABLES],
            ignore_index=True,
        )
        if not study.empty:
            frames.append(study[study["setting_key"].isin(probe.from_study)])
    runs = pd.concat(frames, ignore_index=True)
    if runs.empty:
        return runs
    return runs.drop_duplicates("run_id").assign(group=probe.name).reset_index(drop=True)


def probe_plan(probe: Probe) -> dict[Setting, frozenset[int]]:
    """{setting: the seeds planned for it}: the probe's experiment with the study's seeds, and the
    study's plan for the settings it takes from the study."""
    from rga.study.experiments import PROBE_PROFILES, experiment_configs
    from rga.study.report.labels import setting_key

    seeds: dict[Setting, set[int]] = {}
    profile = PROBE_PROFILES[probe.experiment]
    for config in experiment_configs(probe.experiment, profile, "study"):
        key = setting_key(config.kind, config.positions, config.rga_embedding)
        seeds.setdefault(key, set()).add(config.seed)
    for claim in _claims(probe):
        study = study_plan(claim.experiment, STUDY)
        for setting in probe.from_study:
            if setting in study:
                seeds[setting] = set(study[setting])
    return {key: frozenset(s) for key, s in seeds.items()}


def probe_claims(
    probes: Sequence[Probe] = PROBES, root=None, profile: str | None = None
) -> pd.DataFrame:
    """``check_claims`` rows of each probe's claims on its own runs (group: the probe's name),
    with the probe's planned seeds; one probe's Holm family is its pairs in one metric.
    ``profile`` as in :func:`probe_runs`."""
    frames = []
    for probe in probes:
        runs = probe_runs(probe, root, profile)
        claims = _claims(probe)
        plan = probe_plan(probe)

        def planned(claim: Claim, profile, plan=plan) -> int:
            sides = [plan.get(side, frozenset()) for side in claim.better + claim.worse]
            return len(frozenset.intersection(*sides))

        by_experiment = {claim.experiment: runs for claim in claims}
        rows = check_claims(by_experiment, only_given=True, planned=planned)
        rows = rows[rows["claim"].isin(probe.claims)].copy()
        rows["probe"] = probe.name
        frames.append(rows)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def margin_shift(
    probe_by_seed: Sequence[tuple[int, float]], study_by_seed: Sequence[tuple[int, float]]
) -> tuple[PairTest, list[tuple[int, float]]]:
    """The paired test of d(s) = probe margin(s) - study margin(s) over the seeds both have, and
    the d(s) by seed. ``margin_shift([(0, 1.0), (1, 2.0), (2, 0.5)], [(0, 3.0), (1, 3.0)])``:
    d = -2 (s0), -1 (s1); mean -1.5."""
    study = dict(study_by_seed)
    d = [(int(s), float(v) - float(study[s])) for s, v in probe_by_seed if s in study]
    d.sort()
    return pair_test(v for _, v in d), d


def scale_judgement(probe_verdict: str, study_verdict: str, moves: bool | None) -> str:
    """The plan's judgement of one claim under one probe (see the module docstring); "pending"
    while either verdict is not final, "not testable" when either is."""
    if probe_verdict in UNSETTLED or study_verdict in UNSETTLED:
        return "pending"
    if "not testable" in (probe_verdict, study_verdict):
        return "not testable"
    if probe_verdict == study_verdict:
        return "stands at that scale"
    return "depends on scale" if moves else "differs, within the seeds' resolution"


def margin_shifts(probes: pd.DataFrame, study: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per (probe, claim, metric, pair): the probe's and the study's verdicts and mean
    pair margins, the move d (mean, 95 % CI, p, Holm-adjusted p over every pair of every probe in
    that metric, by seed), whether it moves, the largest move its interval leaves open, and the
    claim's judgement (:func:`scale_judgement`; a claim moves when any of its pairs moves).

    ``probes``: :func:`probe_claims`; ``study``: ``check_claims`` rows of the study (its profile's
    rows are used)."""
    study = study[study["profile"] == STUDY].drop_duplicates(["claim", "metric"])
    study = study.set_index(["claim", "metric"])
    rows = []
    for _, row in probes.iterrows():
        key = (row["claim"], row["metric"])
        reference = study.loc[key] if key in study.index else None
        study_pairs = {(p["better"], p["worse"]): p for p in reference["pairs"]} if (
            reference is not None
        ) else {}  # fmt: skip
        for pair in row["pairs"]:
            theirs = study_pairs.get((pair["better"], pair["worse"]))
            test, by_seed = margin_shift(pair["by seed"], theirs["by seed"] if theirs else [])
            rows.append(
                {
                    "probe": row["probe"],
                    "claim": row["claim"],
                    "metric": row["metric"],
                    "pair": f"{pair['better']} vs {pair['worse']}",
                    "probe verdict": row["verdict"],
                    "study verdict": reference["verdict"] if reference is not None else "not run",
                    "probe margin": pair["mean"],
                    "study margin": theirs["mean"] if theirs else math.nan,
                    "move": test.mean,
                    "move low": test.low,
                    "move high": test.high,
                    "move p": test.p,
                    "seeds": test.n,
                    "move by seed": by_seed,
                }
            )
    columns = [
        "probe", "claim", "metric", "pair", "probe verdict", "study verdict", "probe margin",
        "study margin", "move", "move low", "move high", "move p", "seeds", "move by seed",
        "move p (Holm)", "moves", "largest move left open", "judgement",
    ]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows)
    out["move p (Holm)"] = math.nan
    for _, idx in out.groupby("metric", sort=False).groups.items():
        out.loc[idx, "move p (Holm)"] = holm(out.loc[idx, "move p"].tolist())
    out["moves"] = out["move p (Holm)"] < alpha  # NaN compares False
    out["largest move left open"] = np.fmax(out["move low"].abs(), out["move high"].abs())
    claim_moves = out.groupby(["probe", "claim", "metric"])["moves"].transform("any")
    out["judgement"] = [
        scale_judgement(p, s, m)
        for p, s, m in zip(out["probe verdict"], out["study verdict"], claim_moves, strict=True)
    ]
    return out[columns]


def probe_progress(root=None) -> pd.DataFrame:
    """Per probe: the runs it plans (its experiment with the study's seeds, plus probe 2's
    schedule check) and how many have results files."""
    from rga.engine.config import LARGE_PROFILE, run_id
    from rga.study.experiments import PROBE_PROFILES, experiment_configs
    from rga.study.report.paths import results_dir
    from rga.study.scale import schedule_check_config

    rows = []
    for probe in PROBES:
        profile = PROBE_PROFILES[probe.experiment]
        configs = experiment_configs(probe.experiment, profile, "study")
        if profile == LARGE_PROFILE:
            configs.append(schedule_check_config(profile))
        found = set()
        for experiment in {c.experiment for c in configs}:
            folder = results_dir(experiment, root)
            found |= {p.stem.rsplit("-d", 1)[0] for p in folder.glob("*.json")} if (
                folder.is_dir()
            ) else set()  # fmt: skip
        planned = {run_id(c, "0" * 16).rsplit("-d", 1)[0] for c in configs}
        rows.append({"probe": probe.name, "profile": profile, "runs planned": len(planned),
                     "runs finished": len(planned & found)})  # fmt: skip
    return pd.DataFrame(rows)


def _agree(judgement: str, count: int) -> str:
    """The judgement's verb agreeing with its count: "stands at that scale" for one claim,
    "stand at that scale" for several."""
    if count == 1:
        return judgement
    verb, _, rest = judgement.partition(" ")
    plural = {"stands": "stand", "depends": "depend", "differs,": "differ,"}.get(verb, verb)
    return f"{plural} {rest}".strip()


def scale_status(shifts: pd.DataFrame, progress: pd.DataFrame) -> str:
    """How far each probe has got and, once it has judgements, how many claims (in mAP) stand,
    depend on scale, and so on: "Probe “192x96”: 0 of its 10 runs, no judgement yet." (plain
    text: the landing page glues it into a sentence).
    ``shifts``: :func:`margin_shifts`; ``progress``: :func:`probe_progress`."""
    sentences = []
    for _, row in progress.iterrows():
        name, done, planned = row["probe"], row["runs finished"], row["runs planned"]
        judged = shifts[(shifts["probe"] == name) & (shifts["metric"] == "mAP")]
        judged = judged[judged["judgement"] != "pending"].drop_duplicates("claim")
        if judged.empty:
            sentences.append(f"Probe “{name}”: {done} of its {planned} runs, no judgement "
                             "yet.")  # fmt: skip
            continue
        counts = judged["judgement"].value_counts()
        listed = ", ".join(f"{n} {_agree(j, n)}" for j, n in counts.items())
        sentences.append(f"Probe “{name}” ({done} of {planned} runs), claims in mAP: {listed}.")
    return " ".join(sentences)
