"""The code behind the Attention variants page (``book/attention_variants.md``): the main paper's
Table 1 (RGA taken apart) beside our runs of the experiment ``attention_variants``. The page's
common parts are :class:`ExperimentPage`'s; this module adds the table of every setting."""

from __future__ import annotations

from rga.study.pages.experiment import ExperimentPage
from rga.study.report.attention_tables import variants_table
from rga.study.report.styling import styled

EXPERIMENT = "attention_variants"

__all__ = ["EXPERIMENT", "load", "settings_table"]


def load() -> ExperimentPage:
    """The page's runs, the paper's numbers and the study's claim checks of this experiment."""
    return ExperimentPage.load(EXPERIMENT)


def settings_table(page: ExperimentPage):
    """Every setting of the shown study with R1, mAP, mINP and the attention precision after
    conv5_x (:func:`variants_table`)."""
    runs = page.shown_runs()
    if runs.empty:
        return page.status()
    return styled(variants_table(runs).drop(columns="runs of"), index=False, nowrap=True)
