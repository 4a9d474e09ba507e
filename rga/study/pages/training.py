"""The code behind the Training page (``book/training.md``): the named profiles, the learning
rate schedules, and the table of where the paper, the official code and this project differ."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from rga.engine.config import PROFILES
from rga.engine.schedule import lr_at_epoch, schedule_of
from rga.study.report.formats import format_field
from rga.study.report.styling import styled

__all__ = ["discrepancies", "profiles_table", "schedules_figure", "switches"]

SHOWN = {"paper profile": "paper", "pretrained profile": "pretrained", "cpu profile": "cpu"}


def profiles_table(differing: bool = True) -> pd.DataFrame:
    """The fields of every named profile (one column each), as text: those that differ between
    profiles (``differing``), or those they share (one column, ``value``)."""
    profiles = pd.DataFrame(
        {
            name: {f: format_field(f, v) for f, v in cfg.to_dict().items()}
            for name, cfg in PROFILES.items()
        }  # fmt: skip
    )
    differ = profiles.nunique(axis=1) > 1
    if differing:
        return profiles[differ].rename_axis("field")
    return profiles.loc[~differ, ["paper"]].rename(columns={"paper": "value"}).rename_axis("field")


def schedules_figure() -> Figure:
    """The learning rate by epoch of the ``paper`` and ``cpu`` profiles."""
    from rga.study.report.plots import plot_lr_schedules

    return plot_lr_schedules(
        {
            f"{name} profile ({cfg.epochs} epochs)": [
                lr_at_epoch(e, **schedule_of(cfg)) for e in range(cfg.epochs)
            ]
            for name, cfg in PROFILES.items()
            if name in ("paper", "cpu")
        }  # fmt: skip
    )


def _table() -> pd.DataFrame:
    from rga.study.report.paper import discrepancies_table

    return discrepancies_table({label: PROFILES[name] for label, name in SHOWN.items()})


def discrepancies():
    """Each topic where the paper and the official code differ: both, and what this project
    does (the source under the topic)."""
    table = _table()
    sourced = table[["paper", "official code", "this project"]].copy()
    sourced.index = pd.Index(
        [
            f"{topic}\n(source: {source})"
            for topic, source in zip(table.index, table["source"], strict=True)
        ],
        name="topic",
    )
    return styled(sourced)


def switches():
    """The configuration switch of each topic and its value in the paper, pretrained and cpu
    profiles."""
    return styled(_table()[["switch", *SHOWN]])
