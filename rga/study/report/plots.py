"""The book's plots (seaborn on matplotlib Figures): seeds drawn as points, mean ± sd as bars.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot's figure list, so a
page shows it once as a cell's value. Figures are at most about 9 inches wide, the width of the
book's text column at 100 dpi, so their labels are not shrunk. Call :func:`setup_page` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rga.study.report.labels import TABLE2_SETTINGS

__all__ = [
    "plot_curves",
    "plot_lr_schedules",
    "plot_metric_by",
    "plot_table2_gains",
    "setup_page",
]

SETTING_ORDER = list(TABLE2_SETTINGS.values())
WIDTH = 9.0  # inches: the text column at 100 dpi


def setup_page() -> None:
    """Pandas and plotting defaults of the book pages: full-width tables, PNG figures."""
    import matplotlib
    import matplotlib_inline.backend_inline as inline
    import seaborn as sns

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 3)
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    inline.set_matplotlib_formats("png")
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.dpi"] = 100


def _short(label: str, width: int = 90) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _settings_axis(long: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(long["setting"]))
    return [s for s in SETTING_ORDER if s in present] + [
        s for s in present if s not in SETTING_ORDER
    ]


def _seeds_and_means(ax: Axes, data: pd.DataFrame, x: str, y: str, hue: str, order, hues, palette):
    """A dot per row (seed) and a diamond with an sd error bar per (x, hue) group."""
    import seaborn as sns

    dodge = len(hues) > 1
    common = dict(data=data, x=x, y=y, hue=hue, order=order, hue_order=hues, palette=palette, ax=ax)
    sns.stripplot(**common, dodge=dodge, size=3.5, alpha=0.55, jitter=0.08, legend=False)
    sns.pointplot(
        **common,
        dodge=(0.8 - 0.8 / len(hues)) if dodge else False,
        errorbar="sd",
        linestyle="none",
        markers="D",
        markersize=5,
        capsize=0.1,
        err_kws={"linewidth": 1.2},
        legend=True,
    )
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def _empty(message: str) -> Figure:
    """A small figure that says there is nothing to draw (instead of an exception)."""
    fig = Figure(figsize=(WIDTH, 0.8))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="0.3")
    return fig


def _shared_legend(fig: Figure, axes, loc: str = "outside lower center") -> None:
    """One legend for the figure (from the first Axes), the Axes' own legends removed."""
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(handles, [_short(t) for t in labels], loc=loc, fontsize=9, frameon=False)


def plot_table2_gains(long: pd.DataFrame, metrics: Sequence[str] = ("R1", "mAP")) -> Figure:
    """Gain over the baseline (percentage points) of each Table 2 setting, paper and ours.

    ``long`` from :func:`rga.study.report.paper.settings_long`. The paper's numbers are single
    points (one run each, real data); ours show every seed as a small dot and the mean ± sd over
    seeds as a diamond with an error bar. Each source keeps its own baseline: the plot compares
    where RGA-SC helps, not absolute accuracies.
    """
    import seaborn as sns

    order = _settings_axis(long)
    sources = list(dict.fromkeys(long["source"]))
    palette = dict(zip(sources, sns.color_palette("colorblind", len(sources)), strict=True))
    fig = Figure(figsize=(WIDTH, 4.0 + 0.2 * len(sources)), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        d = long[long["metric"] == metric]
        _seeds_and_means(ax, d, "setting", "gain", "source", order, sources, palette)
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_title(f"{metric}: gain over the baseline", fontsize=10)
        ax.set_ylabel("percentage points")
    _shared_legend(fig, axes)
    return fig


def plot_metric_by(
    runs: pd.DataFrame,
    x: str,
    metrics: Sequence[str] = ("R1", "mAP"),
    order: Sequence[str] | None = None,
    hue: str = "group",
    unit: str = "%",
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """Metrics by ``x`` (e.g. "setting" or "model"): a dot per run (seed), mean ± sd.

    Args:
        runs: one row per run (:func:`rga.study.report.runs.load_runs`) or per score.
        x: the column on the x axis; ``order`` its order (default: as they appear).
        metrics: the columns to plot, one panel each.
        hue: the column telling groups of runs apart (one colour each).
        unit: appended to the y labels ("" for none).
        reference: {metric: value} drawn as a dashed line (e.g. chance levels).
    """
    import seaborn as sns

    if runs.empty:
        return _empty("no runs to plot")
    order = list(order) if order is not None else list(dict.fromkeys(runs[x]))
    order = [o for o in order if o in set(runs[x])]
    hues = list(dict.fromkeys(runs[hue]))
    palette = dict(zip(hues, sns.color_palette("colorblind", len(hues)), strict=True))
    fig = Figure(
        figsize=(min(WIDTH, 3.4 * len(metrics) + 0.4), 3.8 + 0.2 * len(hues)), layout="constrained"
    )
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        d = runs[[x, hue, metric]].astype({metric: float})
        _seeds_and_means(ax, d, x, metric, hue, order, hues, palette)
        if reference and metric in reference:
            ax.axhline(reference[metric], color="0.3", linewidth=0.9, linestyle="--")
        ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
    _shared_legend(fig, axes)
    return fig


def plot_curves(
    curves: pd.DataFrame,
    ys: Sequence[str] = ("loss", "lr"),
    hue: str = "label",
    title: str | None = None,
) -> Figure:
    """Training curves by epoch, one line per ``hue`` value, mean ± sd band over seeds.

    ``curves`` from :func:`rga.study.report.runs.curves_long`; epochs are shown 1-based.
    """
    import seaborn as sns

    if curves.empty:
        return _empty("no training curves to plot")
    ys = [y for y in ys if y in curves]
    data = curves.assign(epoch=curves["epoch"] + 1)
    hues = list(dict.fromkeys(data[hue]))
    fig = Figure(figsize=(WIDTH, 3.4 + 0.18 * len(hues)), layout="constrained")
    axes = fig.subplots(1, len(ys), squeeze=False)[0]
    for ax, y in zip(axes, ys, strict=True):
        sns.lineplot(
            data=data, x="epoch", y=y, hue=hue, hue_order=hues, errorbar="sd", ax=ax,
            palette="colorblind", linewidth=1.2,
        )  # fmt: skip
        if y == "lr":
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(y, fontsize=10)
        ax.set_ylabel("")
    _shared_legend(fig, axes)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_lr_schedules(schedules: Mapping[str, np.ndarray | Sequence[float]]) -> Figure:
    """Learning rate against epoch for each named schedule ({label: lr per epoch}), log scale,
    one panel per schedule (their lengths differ by an order of magnitude)."""
    fig = Figure(figsize=(min(WIDTH, 4.4 * len(schedules)), 3.4), layout="constrained")
    axes = fig.subplots(1, len(schedules), squeeze=False)[0]
    for ax, (label, lrs) in zip(axes, schedules.items(), strict=True):
        lrs = np.asarray(lrs, dtype=float)
        ax.step(np.arange(1, len(lrs) + 1), lrs, where="post", linewidth=1.5)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    return fig
