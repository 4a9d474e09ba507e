"""The code behind the Results page (``book/results.md``): every run, the claims of the study in
the paper's regime, the fit of the training identities, the official BN init beside its recorded
deviation (gamma = 1), the paper's final numbers and the ranked lists.

The init comparison is computed in :mod:`rga.study.report.inits` (the Scale page shows it too).
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from rga.study.report.claim_text import claims_table, verdict_sentences
from rga.study.report.claims import CLAIM_VERDICTS
from rga.study.report.inits import COLUMNS, OFFICIAL, ONES, init_effect, init_verdicts
from rga.study.report.studies import summary_profile
from rga.study.report.styling import styled

__all__ = ["COLUMNS", "OFFICIAL", "ONES", "ResultsPage", "init_effect", "init_verdicts"]


class ResultsPage:
    """The page's data, loaded once (the paper's numbers, every run, each experiment's runs and
    the claim checks); each method returns what a cell shows."""

    def __init__(self):
        from rga.study.report.claims import check_claims
        from rga.study.report.paper import PAPER_TABLES, load_paper_numbers
        from rga.study.report.runs import load_runs

        self.paper = load_paper_numbers()
        self.runs = load_runs()
        self.by_experiment = {e: load_runs(e) for e in PAPER_TABLES}
        self.claims = check_claims(self.by_experiment, self.paper)
        self.shown = summary_profile(self.claims)  # the study this page's main section reads

    def glue_values(self) -> dict[str, str]:
        """The profiles the text describes and the study's progress (runs finished, planned)."""
        from rga.engine.config import PROFILES, make_config
        from rga.study.report.studies import study_progress

        cpu = PROFILES["cpu"]
        values = {"cpu_profile": f"{cpu.arch}, {cpu.height}x{cpu.width}, {cpu.epochs} epochs, "
                                 f"trained from scratch (weights={cpu.weights})"}  # fmt: skip
        try:
            study = make_config("pretrained")
            values["pretrained_profile"] = (
                f"{study.arch}, {study.height}x{study.width}, {study.epochs} epochs with the "
                f"learning rate cut at epochs {', '.join(map(str, study.lr_steps))}, the trunk "
                f"{study.weights}"
            )
        except (FileNotFoundError, ValueError) as err:  # no trunk or no chosen schedule
            values["pretrained_profile"] = f"not available in this checkout: {err}"
        total = study_progress().iloc[-1]
        values["study_finished"] = str(total["runs finished"])
        values["study_planned"] = str(total["runs planned"])
        return values

    def answer(self) -> Markdown:
        """In two or three sentences: the verdicts in mAP of each study in the paper's regime,
        counted (the official-init study first), and what the R1 verdicts add."""
        sentences = []
        for profile, name in ((OFFICIAL, "the official BN init (the study)"),
                              (ONES, "gamma = 1 (the recorded deviation)")):  # fmt: skip
            rows = self.claims[(self.claims["profile"] == profile)
                               & (self.claims["metric"] == "mAP")]  # fmt: skip
            if (rows["verdict"] == "not run").all():
                sentences.append(f"With {name}, no claim has runs yet.")
                continue
            counts = rows["verdict"].value_counts()
            listed = ", ".join(f"{int(counts[v])} {v}" for v in CLAIM_VERDICTS if v in counts)
            sentences.append(f"With {name}, the accuracy claims in mAP: {listed}.")
        return Markdown(
            "**In short.** " + " ".join(sentences) + " Each verdict comes from paired per-seed "
            "differences with Holm's correction; the claims tables below give every pair with its "
            "interval and per-seed values."
        )

    def show_runs(self):
        from rga.study.report.paths import Notice
        from rga.study.report.runs import runs_overview

        if self.runs.empty:
            return Notice("No runs yet", "Run the experiment notebooks (see Reproduce) to fill "
                          "this page.", kind="note")  # fmt: skip
        return styled(runs_overview(self.runs), index=False)

    def show_sensitivity(self):
        """The claims whose verdict changes with the evaluated feature (z or z_hat)."""
        from rga.study.report.claims import feature_sensitivity

        sensitivity = feature_sensitivity(self.by_experiment)
        depends = sensitivity[sensitivity["depends on the feature"]]
        if depends.empty:
            return Markdown("No verdict changes with the evaluated feature.")
        return styled(depends.drop(columns=["runs of", "depends on the feature"]), index=False)

    def study(self, profile: str) -> pd.DataFrame:
        return self.claims[self.claims["profile"] == profile]

    def show_which(self) -> Markdown:
        """Which study the section shows (:attr:`shown`), and how far the official-init one is
        while it is not yet the one shown."""
        if self.shown == OFFICIAL:
            return Markdown("This section reads the study with the official BN init (the "
                            "`pretrained` profile): its claims are all in.")  # fmt: skip
        values = self.glue_values()
        return Markdown(
            f"Of the {values['study_planned']} runs the study plans (each run once, the "
            f"from-scratch runs included), {values['study_finished']} have results files "
            "(the Regime page lists them by experiment). Until the official-init study's claims are "
            "all in, this section reads the same study with gamma = 1 (the `pretrained-ones` "
            "profile); the claims of the official-init study so far:\n\n"
            + verdict_sentences(self.study(OFFICIAL)).data
        )

    def show_claims(self, profile: str | None = None):
        if self.study(profile or self.shown).empty:
            return Markdown("No run of this study has finished yet.")
        return claims_table(self.study(profile or self.shown))

    def show_sentences(self, profile: str | None = None) -> Markdown:
        return verdict_sentences(self.study(profile or self.shown))

    def show_readings(self) -> Markdown:
        """Each of the paper's tables in the shown study, seed by seed
        (:func:`rga.study.report.readings.table_reading`), under the table's name."""
        from rga.study.report.paper import PAPER_TABLES
        from rga.study.report.readings import table_reading

        parts = []
        for experiment, spec in PAPER_TABLES.items():
            runs = self.by_experiment[experiment]
            runs = runs if runs.empty else runs[runs["profile"] == self.shown]
            claims = self.study(self.shown)
            text = table_reading(claims[claims["experiment"] == experiment], runs)
            if text:
                parts.append(f"**{spec.title[0].upper()}{spec.title[1:]}** "
                             f"(`{experiment}`).\n\n{text}")  # fmt: skip
        return Markdown("\n\n".join(parts) or "No claim of this study has runs yet.")

    def show_fit(self, profile: str | None = None):
        """How well each setting of ``profile`` (the shown study's) fits its training
        identities."""
        from rga.study.report.claims import training_fit

        profile = profile or self.shown
        runs = self.runs if self.runs.empty else self.runs[self.runs["profile"] == profile]
        fit = training_fit(runs) if not runs.empty else pd.DataFrame()
        if fit.empty:
            return Markdown("No run of this study has finished yet.")
        nowrap = ["setting", "final cross-entropy", "final triplet loss", "seeds"]
        return styled(fit.drop(columns=["runs of"]), index=False, nowrap=nowrap)

    def show_init_verdicts(self):
        both = init_verdicts(self.claims[self.claims["metric"].isin(["mAP", "R1"])])
        return styled(both, index=False, nowrap=["metric"])

    def show_init_effect(self):
        frames = [r for r in self.by_experiment.values() if not r.empty]
        effect = init_effect(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame()
        if effect.empty:
            return Markdown("No RGA setting has runs under both inits yet.")
        return styled(effect, index=False, nowrap=["setting", "difference", "95 % CI"])

    def show_final_numbers(self):
        from rga.study.report.paper import final_numbers_table

        return styled(final_numbers_table(self.paper), "RGA-SC conv2-5_x", index=False)


def ranked_lists(queries: int = 4):
    """The baseline's and RGA-SC's ranked lists for the same queries, or how to record them."""
    from rga.study.report.ranked_lists import ranked_lists_figure, select_ranked_lists

    ranked = {"Baseline": select_ranked_lists(None),
              "RGA-SC": select_ranked_lists("rga-sc", (1, 2, 3, 4))}  # fmt: skip
    if all(lists is not None for lists in ranked.values()):
        return ranked_lists_figure(ranked, queries=queries)
    return Markdown(
        "The ranked lists appear here when the study has recorded the baseline and RGA-SC runs "
        "(the runs in the repository were recorded before ranked lists were saved). Recording a "
        "run again, from its checkpoint or after training it where there is none, writes them:"
        "\n\n```bash\npapermill experiments/attention_variants.ipynb out.ipynb -p profile cpu\n```"
    )
