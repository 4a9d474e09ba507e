"""The code behind the appendix page *Why RGA does not train from scratch*
(``book/from_scratch.md``): the first study's runs from random weights, their per-epoch
diagnostics beside those of the runs from the pretrained trunk, the explanations checked on them
and the first training step's gradient paths.

Submodules: ``diagnostics`` (the per-epoch diagnostics as tables, findings and figures),
``explanations`` (the candidate explanations, each checked on the runs) and ``gradient_paths``
(the first step's gradients). This module holds what the page's cells show.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from rga.study.pages.from_scratch.diagnostics import (
    EARLY,
    diagnostics_summary,
    findings,
    gates_table,
    plot_diagnostics,
    summary_table,
    with_schedule,
)
from rga.study.report.styling import styled

__all__ = [
    "bn_init_view",
    "claims_view",
    "diagnostics_view",
    "explanations_text",
    "findings_text",
    "fit_view",
    "glue_values",
    "gradient_paths_view",
    "load_runs",
    "load_warm_runs",
]


def glue_values() -> dict[str, str]:
    """The from-scratch profile in words, its number of seeds and the early window (epochs)."""
    from rga.engine.config import PROFILES
    from rga.study.pipeline import FROM_SCRATCH_SEEDS

    cpu = PROFILES["cpu"]
    start = "from random weights" if cpu.weights is None else f"from {cpu.weights}"
    return {
        "fs_profile": f"{cpu.arch} {start}, {cpu.height}x{cpu.width} input, {cpu.epochs} epochs",
        "fs_seeds": str(len(FROM_SCRATCH_SEEDS.split(","))),
        "fs_early": str(EARLY),
    }


def load_runs() -> pd.DataFrame:
    """The runs from scratch (experiment ``from_scratch``)."""
    from rga.study.report.runs import load_runs as load

    return load("from_scratch")


def load_warm_runs() -> pd.DataFrame:
    """The regime runs from the pretrained trunk on the from-scratch schedule."""
    from rga.engine.config import PROFILES
    from rga.study.report.runs import load_runs as load

    return with_schedule(load("regime"), PROFILES["cpu"])


def diagnostics_view(runs: pd.DataFrame, where: str) -> list:
    """The diagnostics of ``runs`` (mean over seeds), their gates and per-epoch figure; where
    the runs started (``where``) goes into the captions."""
    summary = diagnostics_summary(runs)
    shown = [styled(summary_table(summary), f"{where}, mean over seeds", index=False)]
    gates = gates_table(summary)
    if not gates.empty:
        caption = f"The gates, {where.lower()}: mean ± sd over the probe batch"
        shown.append(styled(gates, caption, index=False, nowrap=True))
    return [*shown, plot_diagnostics(runs)]


def findings_text(runs: pd.DataFrame, what: str) -> Markdown:
    return Markdown(f"What the runs {what} show, computed from them:\n\n" + findings(runs))


def claims_view(runs: pd.DataFrame):
    """The paper's claims checked on the runs from scratch."""
    from rga.study.report.claim_text import claims_table
    from rga.study.report.claims import check_claims

    if runs.empty:
        return Markdown("")
    return claims_table(check_claims({"plugin_position": runs, "attention_variants": runs}))


def fit_view(runs: pd.DataFrame):
    """How well each setting from scratch fits its training identities."""
    from rga.study.report.claims import training_fit

    fit = training_fit(runs) if not runs.empty else pd.DataFrame()
    if fit.empty:
        return Markdown("")
    nowrap = ["setting", "final cross-entropy", "final triplet loss", "seeds"]
    return styled(fit.drop(columns=["runs of"]), index=False, nowrap=nowrap)


def bn_init_view(runs: pd.DataFrame) -> tuple[object, dict[str, str]]:
    """The baseline, RGA-SC x4 with gamma = 1 and RGA-SC x4 with gamma ~ U(0, 1) (the
    ``bn_init_check`` runs), all from scratch: the table, and the three mAPs for the text."""
    from rga.study.report.claims import setting_summary
    from rga.study.report.labels import BASELINE, setting_key
    from rga.study.report.runs import load_runs as load

    check = load("bn_init_check")
    keys = ("bn_base_map", "bn_ones_map", "bn_uniform_map")
    if check.empty or runs.empty:
        return Markdown(""), dict.fromkeys(keys, "(not run yet)")
    all_four = runs[[k == setting_key("rga-sc", "1,2,3,4") for k in runs["setting_key"]]]
    base = runs[runs["kind"] == BASELINE]
    groups = ((base, "Baseline"), (all_four, "RGA-SC conv2-5_x, BN γ = 1 (default)"),
              (check, "RGA-SC conv2-5_x, BN γ ~ U(0, 1) (torch 0.4.0)"))  # fmt: skip
    summary = pd.DataFrame([setting_summary(g, label) for g, label in groups])
    nowrap = ["R1", "mAP", "mAP, 95 % CI", "final cross-entropy"]
    maps = {key: setting_summary(g, key)["mAP"] for key, (g, _) in zip(keys, groups, strict=True)}
    return styled(summary, index=False, nowrap=nowrap), maps


def explanations_text(runs: pd.DataFrame, warm_runs: pd.DataFrame) -> Markdown:
    from rga.study.pages.from_scratch.explanations import explanations

    if runs.empty:
        return Markdown("The explanations are checked here once the runs from scratch exist.")
    warm = None if warm_runs.empty else diagnostics_summary(warm_runs)
    return Markdown(explanations(diagnostics_summary(runs), warm))


def gradient_paths_view(runs: pd.DataFrame, warm_runs: pd.DataFrame) -> list:
    """Where the first training step's gradients go: the record's provenance, the table and its
    findings; how to measure it when there is no record."""
    from rga.study.pages.from_scratch import gradient_paths
    from rga.study.report.paths import missing_results_message

    record = gradient_paths.load()
    if record is None:
        return [missing_results_message("first-step gradient paths",
                                        "experiments/diagnostics/gradient_paths.json",
                                        "python -m rga.study.gradient_paths")]  # fmt: skip
    state = "with uncommitted changes" if record["git_dirty"] else "clean"
    provenance = Markdown(f"Measured at commit `{record['git_commit'][:10]}` ({state}), "
                          f"`{record['command']}`.")  # fmt: skip
    table = styled(gradient_paths.gradient_paths_table(record),
                   "The first training step, mean over seeds", index=False, nowrap=True)  # fmt: skip
    scratch = None if runs.empty else diagnostics_summary(runs)
    warm = None if warm_runs.empty else diagnostics_summary(warm_runs)
    return [provenance, table,
            Markdown(gradient_paths.gradient_paths_findings(record, scratch, warm))]  # fmt: skip
