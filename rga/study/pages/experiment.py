"""What every ablation page shows (Plug-in position, Attention variants, Attention designs,
Embedding functions), for one experiment: what was run, the paper's table beside ours, ordering
against ordering, the gains, the claims and the training curves.

:class:`ExperimentPage` loads an experiment's runs, the paper's numbers and the study's claim
checks once; each method returns what a page shows as a cell's value (a Styler, a Figure,
Markdown). The figures and curves show one study (:func:`rga.study.report.studies.summary_profile`),
never pooled with the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown
from matplotlib.figure import Figure

from rga.study.report.claim_text import claims_table, verdict_sentences
from rga.study.report.claims import CLAIM_VERDICTS, study_claims
from rga.study.report.paper import (
    PAPER_TABLES,
    load_paper_numbers,
    ordering_agreement,
    ordering_table,
    paper_vs_ours_table,
    settings_long,
)
from rga.study.report.runs import curves_long, experiment_status, load_runs
from rga.study.report.studies import DEVIATION, PROFILE_NAMES, summary_profile
from rga.study.report.styling import styled

TAU = "Kendall's tau"  # the column of ordering_agreement
BASELINE = ("none", "", "asymmetric")  # the baseline's setting_key
BASELINE_EXPERIMENT = "plugin_position"  # the table that trains the study's baseline runs

__all__ = ["ExperimentPage", "ordering_sentence"]


def ordering_sentence(
    runs: pd.DataFrame, paper: pd.DataFrame, experiment: str, metric: str = "mAP"
) -> Markdown:
    """In words: how many pairs of settings we order as the paper does, per dataset."""
    if runs.empty:
        return Markdown("Our ordering appears beside the paper's once our runs exist.")
    agreement = ordering_agreement(runs, paper, PAPER_TABLES[experiment].table, metric)
    parts = []
    for _, row in agreement.iterrows():
        if row["pairs"] == 0:
            continue
        parts.append(
            f"against the paper on {row['against'].removeprefix('paper, ')}, {row['ours']} order "
            f"{row['same order']} of the {row['pairs']} pairs of settings the same way and "
            f"{row['opposite order']} the other way round"
            + (f" ({row['tied']} tied in the paper)" if row["tied"] else "")
            + f" (Kendall's τ = {row[TAU]})"
        )
    if not parts:
        return Markdown("Our runs share fewer than two settings with the paper's table.")
    return Markdown(
        f"By {metric}: " + "; ".join(parts) + ". Kendall's τ is (same − opposite) / pairs: "
        "1 is the paper's ordering, −1 its reverse."
    )


@dataclass
class ExperimentPage:
    """One experiment's page: ``runs`` (the study's profiles), ``paper`` (the paper's numbers)
    and ``claims`` (the study's claim checks of this experiment; each claim's Holm family is the
    whole study's)."""

    experiment: str
    runs: pd.DataFrame
    paper: pd.DataFrame
    claims: pd.DataFrame
    root: str | Path | None = None  # the results folder (default: the repository's)

    @classmethod
    def load(cls, experiment: str) -> ExperimentPage:
        paper = load_paper_numbers()
        claims = study_claims(paper)
        return cls(experiment, load_runs(experiment), paper,
                   claims[claims["experiment"] == experiment])  # fmt: skip

    @cached_property
    def profile(self) -> str:
        """The study the figures show: the official-init one once its table is complete."""
        return summary_profile(self.claims)

    def shown_runs(self) -> pd.DataFrame:
        """The runs of :attr:`profile` (empty when there are none)."""
        return self.runs if self.runs.empty else self.runs[self.runs["profile"] == self.profile]

    def shown_note(self, what: str = "Ours") -> Markdown:
        return Markdown(f"{what}: {PROFILE_NAMES[self.profile]} (`{self.profile}` profile).")

    def status(self) -> Markdown:
        """What the shown study's runs are, and how many runs of the other study the page
        leaves to the Results page."""
        text = experiment_status(self.shown_runs(), self.experiment).data
        others = self.runs if self.runs.empty else self.runs[self.runs["profile"] != self.profile]
        if not others.empty:
            counts = others.groupby("profile", sort=False)["run_id"].nunique()
            listed = "; ".join(f"{n} of the `{p}` profile" for p, n in counts.items())
            text += (f" This page shows one study; the folder's other runs ({listed}) are "
                     "counted on the Results page.")  # fmt: skip
        return Markdown(text)

    def answer(self) -> Markdown:
        """The page's answer in two or three sentences: this table's claims grouped by their
        verdict in mAP in the shown study, and where each verdict's pairs are."""
        rows = self.claims[(self.claims["profile"] == self.profile)
                           & (self.claims["metric"] == "mAP")]  # fmt: skip
        if rows.empty:
            return Markdown("**In short.** None of this table's claims has runs yet.")
        parts = []
        for verdict in CLAIM_VERDICTS:
            claims = rows.loc[rows["verdict"] == verdict, "claim"].tolist()
            if claims:
                named = "; ".join(f"“{c}”" for c in claims)
                parts.append(f"*{verdict}*: {named}")
        return Markdown(
            f"**In short.** In mAP, in {PROFILE_NAMES[self.profile]}, this table's "
            + (f"{len(rows)} claims come out" if len(rows) != 1 else "one claim comes out")
            + " as follows. "
            + ". ".join(parts)
            + ". Each verdict rests on paired per-seed differences with Holm's correction; the "
            "pairs, their intervals and R1 are in the claims table below."
        )

    def study_baseline(self) -> pd.DataFrame:
        """The shown study's baseline runs when this experiment trains none of its own but the
        paper's table has a baseline row: the runs of ``BASELINE_EXPERIMENT`` (nothing but the
        module changes between the tables, so one set of baseline runs serves them all).
        Empty otherwise."""
        runs = self.shown_runs()
        paper = self.paper[self.paper["table"] == PAPER_TABLES[self.experiment].table]
        if runs.empty or BASELINE not in set(paper["setting_key"]):
            return runs.iloc[0:0]
        if (runs["setting_key"] == BASELINE).any() or self.experiment == BASELINE_EXPERIMENT:
            return runs.iloc[0:0]
        base = load_runs(BASELINE_EXPERIMENT, self.root)
        if base.empty:
            return runs.iloc[0:0]
        return base[(base["setting_key"] == BASELINE) & base["group"].isin(set(runs["group"]))]

    def comparison(self):
        """The paper's table beside ours (:func:`paper_vs_ours_table`); the baseline row reads
        the study's baseline runs where this experiment trains none (:meth:`study_baseline`)."""
        spec = PAPER_TABLES[self.experiment]
        borrowed = self.study_baseline()
        runs = pd.concat([self.shown_runs(), borrowed]) if not borrowed.empty else self.shown_runs()
        table = paper_vs_ours_table(runs, self.paper, table=spec.table)
        caption = f"{spec.title[0].upper()}{spec.title[1:]}: the paper (real data, one run each)"
        if not runs.empty:
            caption += " beside ours (SynthReID; mean ± sd over seeds, 95 % CI below)"
        if not borrowed.empty:
            caption += ("; our baseline row is the study's baseline, the same runs as on the "
                        "page “Where to plug in RGA-SC”")  # fmt: skip
        return styled(table, caption, nowrap=True)

    def ordering(self, metric: str = "mAP"):
        """The paper's ranking of the settings beside ours, best first (:func:`ordering_table`)."""
        runs = self.shown_runs()
        table = ordering_table(runs, self.paper, PAPER_TABLES[self.experiment].table, metric)
        what = "The settings both have" if not runs.empty else "The paper's settings"
        where = f", all after {table.attrs['position']}" if table.attrs.get("position") else ""
        return styled(table, f"{what}{where}, best {metric} first", nowrap=True)

    def ordering_sentence(self, metric: str = "mAP") -> Markdown:
        return ordering_sentence(self.shown_runs(), self.paper, self.experiment, metric)

    def gains_figure(self) -> Figure:
        """Each setting's gain over its baseline, the paper's and the shown study's."""
        from rga.study.report.plots import plot_gains

        table = PAPER_TABLES[self.experiment].table
        return plot_gains(settings_long(self.shown_runs(), self.paper, table=table))

    def by_setting_figure(self, metrics: tuple[str, ...] = ("R1", "mAP")) -> Figure:
        """Each setting's metrics in the shown study: a dot per seed, mean ± sd."""
        from rga.study.report.plots import plot_metric_by

        return plot_metric_by(self.shown_runs(), x="setting", metrics=metrics)

    def curves_figure(self) -> Figure:
        """Mean ± sd over seeds of the shown study's training curves."""
        from rga.study.report.plots import plot_curves

        return plot_curves(curves_long(self.shown_runs()))

    def claims_table(self, run: bool = True):
        """The shown study's claim checks (:func:`claims_table`), one line per pair."""
        return claims_table(self.claims[self.claims["profile"] == self.profile], run=run)

    def verdict_sentences(self, profile: str | None = None) -> Markdown:
        """The verdicts of ``profile``'s runs in words (default: the shown study's)."""
        return verdict_sentences(self.claims[self.claims["profile"] == (profile or self.profile)])

    def which_study(self) -> str:
        """Which study the page shows, and why: the official-init one once its claims are all
        in, else the recorded deviation while the official one is being trained."""
        if self.profile != DEVIATION:
            return f"This page shows {PROFILE_NAMES[self.profile]} (`{self.profile}` profile)."
        return (
            "The study with the official BN init (`pretrained` profile, the Regime page) is being "
            "trained; until its claims are all in, this page shows the same study with gamma = 1 "
            "(`pretrained-ones` profile, the recorded deviation)."
        )

    def in_words(self) -> Markdown:
        """The shown study's runs of this table in words, all computed: which study, the fit and
        each claim seed by seed (:func:`rga.study.report.readings.table_reading`), then the
        verdicts with their intervals (:func:`verdict_sentences`)."""
        from rga.study.report.readings import table_reading

        claims = self.claims[self.claims["profile"] == self.profile]
        reading = table_reading(claims, self.shown_runs())
        parts = [self.which_study()]
        if reading:
            parts += ["**What these runs show**, seed by seed (points: percentage points of the "
                      "metric; the verdicts after Holm's correction):", reading]  # fmt: skip
        parts += ["The verdicts with their intervals (each with its decided pairs, or what it "
                  "rules out and what its seeds detect):", self.verdict_sentences().data]  # fmt: skip
        return Markdown("\n\n".join(parts))
