"""The code behind the Plug-in position page (``book/plugin_position.md``): the supplementary's Table 2, where to plug in RGA-SC, beside our
runs of the experiment ``plugin_position``. The page's parts are :class:`ExperimentPage`'s."""

from __future__ import annotations

from rga.study.pages.experiment import ExperimentPage

EXPERIMENT = "plugin_position"

__all__ = ["EXPERIMENT", "load"]


def load() -> ExperimentPage:
    """The page's runs, the paper's numbers and the study's claim checks of this experiment."""
    return ExperimentPage.load(EXPERIMENT)
