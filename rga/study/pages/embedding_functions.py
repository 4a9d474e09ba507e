"""The code behind the Embedding functions page (``book/embedding_functions.md``): the main paper's Table 4, the functions that embed the relations, beside our
runs of the experiment ``embedding_functions``. The page's parts are :class:`ExperimentPage`'s."""

from __future__ import annotations

from rga.study.pages.experiment import ExperimentPage

EXPERIMENT = "embedding_functions"

__all__ = ["EXPERIMENT", "load"]


def load() -> ExperimentPage:
    """The page's runs, the paper's numbers and the study's claim checks of this experiment."""
    return ExperimentPage.load(EXPERIMENT)
