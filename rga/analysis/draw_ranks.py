"""Drawing ranked lists: a query and its top-k gallery images, hits and misses marked.

The figure torchreid users know from ``visualize_ranked_results``: one row per (query, model), the
query first, then the gallery images in rank order, each framed green with a check mark when it
shows the query's identity (a hit) and red with a cross when not (a miss), so the marks read in
grey scale too. Rendering only: the lists come from ``rga.engine.evaluate.rank_gallery`` (or a
saved file), the images from the caller. Returns a ``matplotlib.figure.Figure`` made without
pyplot, like ``rga.analysis.draw``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rga.analysis.draw import PANEL_SIZE, NotebookFigure

__all__ = ["RankedRow", "figure_ranked_lists"]

HIT, MISS, QUERY = "#1a9850", "#d73027", "#2c3e50"


class RankedRow(NamedTuple):
    """One row of the figure: a label (model and query), the query image and the ranked
    gallery as (image, hit, caption); an image is (H, W, 3) uint8 or None (drawn as a grey tile)."""

    label: str
    query: np.ndarray | None
    gallery: Sequence[tuple[np.ndarray | None, bool, str]]


def _tile(ax: Axes, image, colour: str, caption: str, width: float = 3.0) -> None:
    """An image (or a grey tile) in a coloured frame, with a caption under it."""
    if image is None:
        image = np.full((2, 1, 3), 0.85)
    ax.imshow(image, aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(width)
    ax.set_xlabel(caption, fontsize=7, color=colour, labelpad=2)


def figure_ranked_lists(rows: Sequence[RankedRow], k: int | None = None) -> Figure:
    """The query and its first ``k`` gallery images for each row.

    Args:
        rows: one ``RankedRow`` per (query, model), drawn top to bottom.
        k: gallery images per row (default: the longest row's).
    Returns:
        a Figure with len(rows) * (1 + k) image Axes.
    """
    if not rows:
        raise ValueError("no ranked list to draw: pass at least one RankedRow")
    k = max(len(r.gallery) for r in rows) if k is None else k
    scale = 0.55  # ranked lists are long: smaller panels than the attention figures
    fig = NotebookFigure(
        figsize=(PANEL_SIZE[0] * scale * (k + 1.4) + 1.2, PANEL_SIZE[1] * scale * len(rows) + 0.3),
        layout="constrained",
    )
    grid = fig.add_gridspec(len(rows), k + 2, width_ratios=[1, 0.25] + [1] * k)
    for i, row in enumerate(rows):
        ax = fig.add_subplot(grid[i, 0])
        _tile(ax, row.query, QUERY, "query", width=2.0)
        ax.set_ylabel(row.label, fontsize=7, rotation=0, ha="right", va="center", labelpad=6)
        for j in range(k):
            ax = fig.add_subplot(grid[i, j + 2])
            if j >= len(row.gallery):
                ax.set_axis_off()
                continue
            image, hit, caption = row.gallery[j]
            mark = "✓" if hit else "✗"
            _tile(ax, image, HIT if hit else MISS, f"{mark} {caption}".strip())
            if i == 0:
                ax.set_title(f"rank {j + 1}", fontsize=7)
    return fig
