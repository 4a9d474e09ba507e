"""The book's landing page: a reproducibility summary in the form of the ML Reproducibility
Challenge's reports (scope, methodology, results, what was easy and hard, outside evidence).

Everything here reads results files and ``book/paper_numbers.csv``; nothing is typed. The study
the summary leads with is the official-init one (profile ``pretrained``) once every verdict of it
is in, else its recorded deviation (``pretrained-ones``); :func:`summary_profile` says which.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from rga.study.report.claims import CLAIM_VERDICTS
from rga.study.report.formats import MISSING, count, decimal
from rga.study.report.runs import cpu_family
from rga.study.report.studies import PROFILE_NAMES, summary_profile
from rga.study.report.styling import styled

PRIMARY = "mAP"

__all__ = [
    "SummaryPage",
    "claims_summary",
    "example_run_id",
    "compute_table",
    "cpus_of_claims",
    "headline_figure",
    "glossary_tables",
    "outside_evidence",
]


def _ours(pairs: list[dict]) -> str:
    """The pairs' mean differences: "-3.5 [-4.3, -2.7]" for one pair, "4 pairs: -0.3 to +1.0"
    for several."""
    if not pairs:
        return MISSING
    if len(pairs) == 1:
        p = pairs[0]
        interval = "" if math.isnan(p["low"]) else f" [{p['low']:+.1f}, {p['high']:+.1f}]"
        return f"{p['mean']:+.1f}{interval}"
    means = sorted(p["mean"] for p in pairs)
    return f"{len(pairs)} pairs: {means[0]:+.1f} to {means[-1]:+.1f}"


def cpus_of_claims(claims: pd.DataFrame, runs: pd.DataFrame, profile: str) -> dict[str, list]:
    """{claim: the CPU families its runs of ``profile`` trained on}, for the claims whose
    settings (both sides of every pair) were trained on more than one."""
    rows = claims[(claims["profile"] == profile) & (claims["metric"] == PRIMARY)]
    mine = runs[runs["profile"] == profile] if not runs.empty else runs
    out = {}
    for claim, pairs in zip(rows["claim"], rows["pairs"], strict=True):
        settings = {p[side] for p in pairs for side in ("better", "worse")}
        used = mine[mine["setting"].isin(settings)] if not mine.empty else mine
        families = sorted({cpu_family(h) for h in used["hardware"].dropna()}) if len(used) else []
        if len(families) > 1:
            out[claim] = families
    return out


def _excluded_side(row: pd.Series) -> str:
    """The side of zero all the pairs' intervals lie on: "below", "above", or "" for neither.
    "below" reads the claim's "rules out above" bound, as the Results page's sentences do."""
    bound = row.get("rules out above", math.nan)
    if pd.notna(bound) and bound <= 0:
        return "below"
    lows = [p["low"] for p in row["pairs"]]
    return "above" if lows and all(low > 0 for low in lows) else ""


def _caveat(row: pd.Series, depends: bool, cpus: list | None = None) -> str:
    """The one caveat that matters most for a claim's verdict (none before it has runs)."""
    if row["verdict"] == "not run":
        return ""
    if row["verdict"] == "not testable":
        return "a model on one side did not train"
    if depends:
        return "the verdict changes with the evaluated feature (z or z_hat)"
    side = _excluded_side(row)
    if row["verdict"] == "inconclusive" and side:
        every = "its" if len(row["pairs"]) == 1 else "every pair's"
        return f"{every} 95 % interval lies {side} zero, but Holm's correction leaves it undecided"
    if cpus:
        return f"its runs trained on {len(cpus)} CPUs ({', '.join(cpus)})"
    if row["verdict"] == "inconclusive" and not math.isnan(row["detectable"]):
        return f"these seeds detect {row['detectable']:.1f} points; smaller effects go unseen"
    if row["verdict"] == "mixed":
        decided = sum(v != "undecided" for v in row["pair verdicts"])
        return f"{decided} of {len(row['pair verdicts'])} pairs decided"
    return ""


def claims_summary(
    claims: pd.DataFrame,
    profile: str,
    sensitivity: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per accuracy claim of ``profile``: the claim, the paper's margin on each dataset
    (the ``paper, ...`` columns of ``check_claims``), ours in mAP (the pairs' mean differences,
    percentage points), the verdict in mAP and in R1, and the caveat that matters.
    ``sensitivity``: ``feature_sensitivity`` rows, to mark a verdict that depends on the feature;
    ``runs``: the study's runs, to mark a claim whose runs trained on several CPUs."""
    rows = claims[(claims["profile"] == profile) & claims["metric"].isin(["mAP", "R1"])]
    depends = set()
    if sensitivity is not None and not sensitivity.empty:
        flagged = sensitivity[
            sensitivity["depends on the feature"] & (sensitivity["profile"] == profile)
        ]
        depends = set(flagged["claim"])
    paper_columns = [c for c in claims.columns if c.startswith("paper, ")]
    cpus = cpus_of_claims(claims, runs, profile) if runs is not None else {}
    out = []
    for claim, g in rows.groupby("claim", sort=False):
        primary = g[g["metric"] == PRIMARY].iloc[0]
        r1 = g[g["metric"] == "R1"]
        out.append(
            {
                "claim": claim,
                **{c.replace("paper, ", "paper, mAP, "): primary[c] for c in paper_columns},
                "ours, mAP (points, 95 % CI)": _ours(list(primary["pairs"])),
                "verdict, mAP": primary["verdict"],
                "verdict, R1": r1["verdict"].iloc[0] if not r1.empty else MISSING,
                "caveat": _caveat(primary, claim in depends, cpus.get(claim)) or MISSING,
            }
        )
    return pd.DataFrame(out)


def compute_table(runs: pd.DataFrame) -> pd.DataFrame:
    """What was run, where, at what cost: one row per study profile with its runs (each once),
    seeds, epochs, the CPUs they trained on and their training and evaluation time in CPU-hours
    (wall time of one-thread runs, from the results files)."""
    rows = []
    for profile, g in runs.drop_duplicates(["run_id", "profile"]).groupby("profile", sort=False):
        rows.append(
            {
                "study": profile,
                "runs": count(len(g)),
                "seeds": ", ".join(str(int(s)) for s in sorted(g["seed"].unique())),
                "epochs": ", ".join(str(int(e)) for e in sorted(g["epochs"].unique())),
                "CPUs": "; ".join(sorted({str(h) for h in g["hardware"].dropna()})),
                "CPU-hours": f"{g['wall_time_s'].astype(float).sum() / 3600:.1f}",
            }
        )
    return pd.DataFrame(rows)


def outside_evidence(paper: pd.DataFrame) -> pd.DataFrame:
    """The paper's final RGA-SC numbers, reruns of the official code by others and plain
    ResNet-50 baselines of strong re-id toolboxes: one row per (numbers of, dataset) with R1,
    mAP and the source (``book/paper_numbers.csv``, tables final, third-party, plain-baseline)."""
    kinds = {"final": "the paper: RGA-SC", "third-party": "rerun of the official code",
             "plain-baseline": "no attention"}  # fmt: skip
    quoted = paper[paper["table"].isin(list(kinds))]
    table = quoted.pivot_table(
        index=["table", "setting", "dataset_label", "source"],
        columns="metric",
        values="value",
        aggfunc="first",
        sort=False,
    )[["R1", "mAP"]].reset_index()
    table.columns.name = None
    table.insert(0, "what", table["table"].map(kinds))
    table = table.rename(columns={"setting": "numbers of", "dataset_label": "dataset"})
    for metric in ("R1", "mAP"):
        table[metric] = table[metric].map(decimal)
    return table[["what", "numbers of", "dataset", "R1", "mAP", "source"]]


def headline_figure(claims: pd.DataFrame, profile: str) -> Figure:
    """Every pair of every accuracy claim of ``profile`` in mAP: its mean paired difference with
    the 95 % t-interval (percentage points), one row per pair grouped by claim; filled where the
    pair is decided after Holm's correction, open where not; the zero line is no effect."""
    rows = claims[(claims["profile"] == profile) & (claims["metric"] == PRIMARY)]
    pairs = [(claim, p) for claim, ps in zip(rows["claim"], rows["pairs"], strict=True) for p in ps]
    fig = Figure(figsize=(9, 0.28 * len(pairs) + 1.2))
    ax = fig.subplots()
    colours = {"holds": "tab:green", "reversed": "tab:red", "undecided": "tab:grey"}
    for y, (_, p) in enumerate(reversed(pairs)):
        colour = colours[p["verdict"]]
        if not math.isnan(p["low"]):
            ax.plot([p["low"], p["high"]], [y, y], color=colour, lw=1.5)
        decided = p["verdict"] != "undecided"
        ax.plot(p["mean"], y, "o", color=colour, mfc=colour if decided else "white")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(pairs)))
    ax.set_yticklabels([f"{p['better']} vs {p['worse']}" for _, p in reversed(pairs)], fontsize=7)
    ax.set_xlabel("mAP difference, better side minus worse side (points, 95 % CI)")
    ax.set_title("Each pair of the paper's claims in our runs (filled: decided after Holm)")
    fig.tight_layout()
    return fig


def example_run_id(runs: pd.DataFrame) -> str:
    """A real run id to show as an example: RGA-SC after all four stages, the lowest seed (else
    the first run)."""
    from rga.study.report.labels import setting_key

    wanted = setting_key("rga-sc", "1,2,3,4")
    chosen = runs[[k == wanted for k in runs["setting_key"]]]
    chosen = chosen if not chosen.empty else runs
    return str(chosen.sort_values("seed")["run_id"].iloc[0])


class SummaryPage:
    """The landing page's data, loaded once: the paper's numbers, the study's claim checks, the
    study the page leads with (:func:`summary_profile`), every run and the one-row-per-claim
    summary. Each method returns what a cell shows."""

    def __init__(self):
        from rga.study.report.claims import feature_sensitivity, study_claims
        from rga.study.report.paper import PAPER_TABLES, load_paper_numbers
        from rga.study.report.runs import load_runs

        self.paper = load_paper_numbers()
        self.claims = study_claims(self.paper)
        self.profile = summary_profile(self.claims)
        self.runs = load_runs()
        by_experiment = {e: load_runs(e) for e in PAPER_TABLES}
        self.table = claims_summary(
            self.claims, self.profile, feature_sensitivity(by_experiment), self.runs
        )

    def glue_values(self) -> dict[str, str]:
        """The numbers the page's text cites: the study shown, the number of claims, of each
        verdict (in mAP), and the smallest effect three seeds detect (points)."""
        verdicts = self.table["verdict, mAP"].value_counts()
        values = {"summary_study": PROFILE_NAMES[self.profile], "n_claims": str(len(self.table))}
        for verdict in (v for v in CLAIM_VERDICTS if v != "not run"):
            values[f"n_{verdict.replace(' ', '_')}"] = str(int(verdicts.get(verdict, 0)))
        claims = self.claims
        three = claims[(claims["profile"] == self.profile) & (claims["metric"] == PRIMARY)
                       & (claims["seeds"] == 3)]  # fmt: skip
        values["detectable_3"] = f"{three['detectable'].min():.1f}" if not three.empty else MISSING
        values["scale_status"] = self.scale_status()
        values["example_run_id"] = (
            example_run_id(self.runs) if not self.runs.empty
            else "synthreid-resnet18-w0.5-rga-sc-p1234-s0-<hash>-d<data>"
        )  # fmt: skip
        return values

    def scale_status(self) -> str:
        """How far the scale probes (the Scale page) have got, in a sentence or two."""
        from rga.study.report.scale_probes import (
            margin_shifts,
            probe_claims,
            probe_progress,
            scale_status,
        )

        return scale_status(margin_shifts(probe_claims(), self.claims), probe_progress())

    def show_compute(self):
        """The study's compute by profile, and the scale probes' (a study of their own) in a row
        of their own once they have runs."""
        from rga.study.experiments import PROBE_PROFILES
        from rga.study.report.runs import load_runs

        probes = [load_runs(e, profiles=(p,)) for e, p in PROBE_PROFILES.items()]
        probes = [r.assign(profile="scale probes") for r in probes if not r.empty]
        runs = pd.concat([self.runs, *probes], ignore_index=True) if probes else self.runs
        return styled(compute_table(runs), index=False)

    def show_claims(self):
        return styled(self.table, index=False, nowrap=["verdict, mAP", "verdict, R1"])

    def show_headline(self) -> Figure:
        return headline_figure(self.claims, self.profile)

    def show_outside(self):
        return styled(outside_evidence(self.paper), index=False, nowrap=["R1", "mAP"])

    def show_runs(self):
        """Every group of runs, or how to make them when there is none."""
        from rga.study.report.paths import missing_results_message, results_dir
        from rga.study.report.runs import runs_overview

        if self.runs.empty:
            return missing_results_message(
                "results files",
                results_dir() / "<experiment>" / "*.json",
                "papermill experiments/plugin_position.ipynb out.ipynb -p profile cpu",
            )
        return styled(runs_overview(self.runs), index=False)


def glossary_tables() -> list:
    """The glossary: kinds and positions with their colours, then the terms."""
    from rga.study.report import labels
    from rga.study.report.styling import with_swatches

    return [with_swatches(labels.kinds_table()), with_swatches(labels.positions_table()),
            styled(labels.terms_table(), index=False)]  # fmt: skip
