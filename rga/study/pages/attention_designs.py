"""The code behind the Attention designs page (``book/attention_designs.md``): the main paper's Table 2, RGA against other attention designs, beside our
runs of the experiment ``attention_designs``. The page's parts are :class:`ExperimentPage`'s."""

from __future__ import annotations

from rga.study.pages.experiment import ExperimentPage

EXPERIMENT = "attention_designs"

__all__ = ["EXPERIMENT", "load"]


def load() -> ExperimentPage:
    """The page's runs, the paper's numbers and the study's claim checks of this experiment."""
    return ExperimentPage.load(EXPERIMENT)
