"""The book's plots (matplotlib Figures): seeds drawn as dots, mean ± sd as a diamond and a bar.

Every setting has one colour in every figure (:func:`rga.study.report.labels.setting_colour`)
and every axis names its metric and unit from the glossary. Every function returns a
``matplotlib.figure.Figure`` built without pyplot's figure list, so a page shows it once as a
cell's value. Figures are at most about 9 inches wide, the width of the book's text column at
100 dpi, so their labels are not shrunk. Call :func:`setup_page` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rga.study.report.labels import (
    common_position,
    metric_label,
    setting_colour,
    setting_label,
    setting_sort_key,
)

__all__ = [
    "label_colour_bars",
    "plot_curves",
    "plot_gains",
    "plot_lr_schedules",
    "plot_metric_by",
    "plot_table2_gains",
    "setup_page",
]

WIDTH = 9.0  # inches: the text column at 100 dpi
PAPER_MARKERS = ("o", "s", "^", "v")  # one per dataset of the paper
NEUTRAL = "0.35"


def setup_page() -> None:
    """Pandas and plotting defaults of the book pages: tables shown whole, PNG figures.

    No display precision is set: every table is formatted column by column
    (:mod:`rga.study.report.formats`) before it is shown.
    """
    import matplotlib
    import matplotlib_inline.backend_inline as inline
    import seaborn as sns

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 200)
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    inline.set_matplotlib_formats("png")
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.dpi"] = 100


def _short(label: str, width: int = 90) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _empty(message: str) -> Figure:
    """A small figure that says there is nothing to draw (instead of an exception)."""
    fig = Figure(figsize=(WIDTH, 0.8))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="0.3")
    return fig


def _colours(data: pd.DataFrame, x: str) -> dict[str, str]:
    """The colour of each value of column ``x``: its setting's colour when the frame has
    ``setting_key``, else a neutral grey."""
    if "setting_key" not in data:
        return dict.fromkeys(data[x], NEUTRAL)
    return {
        label: setting_colour(*key) for label, key in zip(data[x], data["setting_key"], strict=True)
    }


def _order(data: pd.DataFrame, x: str) -> list[str]:
    """Values of ``x`` in the glossary's order of their settings (else as they appear)."""
    if "setting_key" not in data:
        return list(dict.fromkeys(data[x]))
    first = dict(zip(data[x], data["setting_key"], strict=False))
    return sorted(first, key=lambda v: setting_sort_key(first[v]))


def _seeds_and_mean(ax: Axes, at: float, values, colour: str, marker: str = "D") -> None:
    """The seeds as small dots and their mean ± sd as a marker with an error bar, at x = ``at``."""
    v = np.asarray([float(x) for x in values if not pd.isna(x)])
    if v.size == 0:
        return
    jitter = np.linspace(-0.06, 0.06, v.size) if v.size > 1 else np.zeros(1)
    ax.scatter(at + jitter, v, s=10, color=colour, alpha=0.6, linewidths=0, zorder=3)
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    ax.errorbar(
        at, v.mean(), yerr=sd, fmt=marker, color=colour, markersize=6, capsize=3,
        elinewidth=1.2, markeredgecolor="white", markeredgewidth=0.6, zorder=4,
    )  # fmt: skip


def _tick_labels(data: pd.DataFrame, x: str, order: Sequence[str]) -> tuple[list[str], str]:
    """Tick labels for ``order`` and a note for the axis: when every setting with a module sits
    after the same stages, the settings' labels without the position ("RGA-S", "RGA-SC,
    symmetric embedding") and the note "all after conv2-5_x"; otherwise the full labels."""
    if "setting_key" not in data:
        return list(order), ""
    keys = dict(zip(data[x], data["setting_key"], strict=False))
    where = common_position(keys.values())
    if not where:
        return list(order), ""
    return [setting_label(*keys[o], with_position=False) for o in order], f"all after {where}"


def _x_axis(ax: Axes, labels: Sequence[str], note: str = "") -> None:
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    if note:
        ax.set_xlabel(note, fontsize=8, color="0.35")


def plot_gains(long: pd.DataFrame, metrics: Sequence[str] = ("R1", "mAP")) -> Figure:
    """Gain over the baseline (percentage points) of each setting, paper and ours, in the
    setting's colour.

    ``long`` from :func:`rga.study.report.paper.settings_long`. The paper's numbers are single
    points, one marker shape per dataset (one run each, real data); ours show every seed as a
    small dot and the mean ± sd over seeds as a diamond with an error bar (one group of runs
    after the other). Each source keeps its own baseline: the plot compares where a setting
    helps, not absolute accuracies.
    """
    if long.empty:
        return _empty("nothing to plot")
    order = _order(long, "setting")
    ticks, note = _tick_labels(long, "setting", order)
    colours = _colours(long, "setting")
    sources = list(dict.fromkeys(long["source"]))
    papers = [s for s in sources if s.startswith("paper: ")]
    ours = [s for s in sources if not s.startswith("paper: ")]
    offsets = np.linspace(-0.3, 0.3, len(sources)) if len(sources) > 1 else np.zeros(1)
    fig = Figure(figsize=(WIDTH, 4.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        d = long[long["metric"] == metric]
        for i, setting in enumerate(order):
            for offset, source in zip(offsets, sources, strict=True):
                values = d.loc[(d["setting"] == setting) & (d["source"] == source), "gain"]
                if source in papers:
                    if len(values):
                        marker = PAPER_MARKERS[papers.index(source) % len(PAPER_MARKERS)]
                        ax.plot(i + offset, values.iloc[0], marker, color=colours[setting],
                                markerfacecolor="white", markersize=6, markeredgewidth=1.5)  # fmt: skip
                else:
                    _seeds_and_mean(ax, i + offset, values, colours[setting])
        ax.axhline(0, color="0.4", linewidth=0.8)
        _x_axis(ax, ticks, note)
        ax.set_title(f"{metric_label(metric)}: gain over the baseline", fontsize=10)
        ax.set_ylabel("percentage points")
    handles = [
        Line2D([], [], linestyle="none", marker=PAPER_MARKERS[i % len(PAPER_MARKERS)],
               markerfacecolor="white", color=NEUTRAL, label=f"paper, {s.removeprefix('paper: ')}")
        for i, s in enumerate(papers)
    ]  # fmt: skip
    if ours:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="D",
                color=NEUTRAL,
                label="ours: mean ± sd over seeds (dots: seeds)",
            )  # fmt: skip
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False,
               fontsize=9)  # fmt: skip
    return fig


plot_table2_gains = plot_gains  # the name the experiment notebooks use


def plot_metric_by(
    runs: pd.DataFrame,
    x: str = "setting",
    metrics: Sequence[str] = ("R1", "mAP"),
    order: Sequence[str] | None = None,
    reference: Mapping[str, float] | None = None,
    group: str = "group",
) -> Figure:
    """Metrics by ``x`` (a setting label column): a dot per run (seed), mean ± sd, in the
    setting's colour; one row of panels per group of runs (``group``) when there are several.

    Args:
        runs: one row per run (:func:`rga.study.report.runs.load_runs`) or per score
            (:func:`rga.study.report.attention_precision_table`), with ``setting_key``.
        x: the column on the x axis; ``order`` its order (default: the glossary's).
        metrics: the columns to plot, one panel each, labelled from the glossary.
        reference: {metric: value} drawn as a dashed line (e.g. chance levels).
    """
    if runs.empty:
        return _empty("no runs to plot")
    order = [o for o in (order or _order(runs, x)) if o in set(runs[x])]
    ticks, note = _tick_labels(runs, x, order)
    colours = _colours(runs, x)
    groups = list(dict.fromkeys(runs[group])) if group in runs else [None]
    fig = Figure(
        figsize=(min(WIDTH, 3.2 * len(metrics) + 0.6), 3.6 * len(groups)), layout="constrained"
    )
    axes = fig.subplots(len(groups), len(metrics), squeeze=False)
    for row, g in zip(axes, groups, strict=True):
        data = runs if g is None else runs[runs[group] == g]
        for ax, metric in zip(row, metrics, strict=True):
            for i, label in enumerate(order):
                _seeds_and_mean(ax, i, data.loc[data[x] == label, metric], colours[label])
            if reference and metric in reference:
                ax.axhline(reference[metric], color="0.3", linewidth=0.9, linestyle="--")
            _x_axis(ax, ticks, note)
            ax.set_ylabel(metric_label(metric, unit=True))
        if g is not None and len(groups) > 1:
            row[0].set_title(_short(g, 70), fontsize=9, loc="left")
    return fig


def _robust_limits(values: pd.Series, epochs: pd.Series) -> tuple[float, float] | None:
    """y limits that leave out the first tenth of training (the first epochs' losses are often
    ten times the rest and would hide every difference after them)."""
    later = values[epochs >= max(2, int(epochs.max() * 0.1))].dropna()
    if later.empty:
        return None
    low, high = float(later.min()), float(later.max())
    pad = 0.08 * (high - low or abs(high) or 1.0)
    return low - pad, high + pad


def plot_curves(
    curves: pd.DataFrame,
    ys: Sequence[str] = ("loss", "ce", "triplet", "mAP"),
    hue: str = "setting",
    title: str | None = None,
) -> Figure:
    """Training curves by epoch, one line per ``hue`` value in its setting's colour, mean ± sd
    band over seeds.

    ``curves`` from :func:`rga.study.report.runs.curves_long`; epochs are shown 1-based. Losses
    are drawn on a y range that leaves out the first tenth of training (noted in the panel). A
    metric a run recorded at some epochs only (e.g. "mAP") is drawn as markers at those epochs;
    ``ys`` a curve does not have, or has only empty values of, are left out.
    """
    if curves.empty:
        return _empty("no training curves to plot")
    if "group" in curves and curves["group"].nunique() > 1:  # a mean over two regimes is no curve
        raise ValueError(
            f"curves: runs of {curves['group'].nunique()} groups; pass one study's runs "
            "(one profile), e.g. runs[runs['profile'] == 'pretrained']"
        )
    ys = [y for y in ys if y in curves and curves[y].notna().any()]
    data = curves.assign(epoch=curves["epoch"] + 1)
    hues = _order(data, hue)
    colours = _colours(data, hue)
    cols = min(3, len(ys))
    rows = -(-len(ys) // cols)
    fig = Figure(figsize=(WIDTH, 3.0 * rows + 0.3 + 0.18 * len(hues)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, y in zip(axes, ys, strict=False):
        sparse = data[y].isna().any()  # recorded at some epochs only
        for label in hues:
            d = data[data[hue] == label].dropna(subset=[y])
            stats = d.groupby("epoch")[y].agg(["mean", "std"]).reset_index()
            colour = colours[label]
            ax.plot(stats["epoch"], stats["mean"], color=colour, linewidth=1.3,
                    marker="o" if sparse else None, markersize=4, label=label)  # fmt: skip
            ax.fill_between(stats["epoch"], stats["mean"] - stats["std"].fillna(0),
                            stats["mean"] + stats["std"].fillna(0), color=colour, alpha=0.15,
                            linewidth=0)  # fmt: skip
        if y == "lr":
            ax.set_yscale("log")
        elif not sparse:
            limits = _robust_limits(data[y], data["epoch"])
            if limits is not None:
                ax.set_ylim(*limits)
                if data[y].max() > limits[1] or data[y].min() < limits[0]:
                    ax.text(0.98, 0.97, "first epochs off the scale", transform=ax.transAxes,
                            ha="right", va="top", fontsize=7, color="0.4")  # fmt: skip
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(metric_label(y, unit=True), fontsize=10)
        ax.set_xlabel("epoch")
    for ax in axes[len(ys) :]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, [_short(t) for t in labels], loc="outside lower center",
               ncols=min(3, len(labels)), fontsize=9, frameon=False)  # fmt: skip
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
        ax.set_ylabel(metric_label("lr"))
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    return fig


def label_colour_bars(fig: Figure, label: str = "attention weight") -> Figure:
    """Name the quantity of every colour bar of ``fig`` that has no label yet; returns ``fig``."""
    for ax in fig.axes:
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None and not ax.get_ylabel() and not ax.get_xlabel():
            colorbar.set_label(label, fontsize=8)
    return fig
