"""Drawing attention maps over person images (supplementary Figures 1 and 2).

Rendering only: the maps come from ``rga.analysis.probe`` (or from saved arrays), nothing here runs a
model. Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so figures are
not kept alive by pyplot's figure list and never pop up or show twice; ``save_path`` is the only
file output. In a notebook, a returned figure renders (as PNG) when it is the cell's value, or
via ``IPython.display.display(fig)``.

Maps are upsampled to the image size bilinearly (``rga.analysis.precision.upsample_maps``, the
same upsampling the precision scores use) and drawn as a semi-transparent heatmap. The colour
scale is fixed to [0, 1] by default: sigmoid gates of different models are then comparable
(the supplementary does not say how its figures were scaled; ``vrange=None`` scales each map to
its own min..max, which shows the pattern of a flat map but hides how flat it is).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rga.analysis.precision import upsample_maps
from rga.data.transforms import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NotebookFigure",
    "denormalize",
    "figure_compare_models",
    "figure_relation",
    "figure_stages",
    "overlay",
    "overlay_grid",
]


PANEL_SIZE = (1.3, 2.6)  # inches (width, height) per person panel; re-id crops are 2:1


class NotebookFigure(Figure):
    """A Figure that renders as PNG when it is a notebook cell's value.

    Figures made without pyplot have no display hook until matplotlib's inline backend has been
    loaded (which importing pyplot alone does not do); once it has, IPython uses that backend's
    formatter instead of this method, so a figure never shows twice.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def denormalize(image, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """Undo ImageNet normalisation for display.

    Args:
        image: (3, H, W) or (B, 3, H, W) normalised tensor or array.
    Returns:
        (H, W, 3) or (B, H, W, 3) float array clipped to [0, 1].
    """
    x = image.detach().cpu().float().numpy() if isinstance(image, torch.Tensor) else image
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"expected a (3, H, W) or (B, 3, H, W) image; got shape {x.shape}")
    shape = (3, 1, 1)
    x = x * np.asarray(std).reshape(shape) + np.asarray(mean).reshape(shape)
    return np.clip(np.moveaxis(x, -3, -1), 0.0, 1.0)  # (..., 3, H, W) -> (..., H, W, 3)


def _to_rgb(image) -> np.ndarray:
    """Displayable (H, W, 3): channel-first inputs are taken as ImageNet-normalised tensors
    (what the data loaders yield); channel-last inputs (a PIL image, uint8 or [0, 1] floats)
    are shown as they are."""
    if isinstance(image, torch.Tensor) or (np.ndim(image) == 3 and np.shape(image)[0] == 3):
        return denormalize(image)
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(
            f"expected a (3, H, W) normalised tensor or an (H, W, 3) image; got shape {rgb.shape}"
        )
    return rgb


def _as_map(attention_map) -> np.ndarray:
    """(h, w) or (1, h, w) numpy/torch -> (h, w) float array."""
    if isinstance(attention_map, torch.Tensor):
        attention_map = attention_map.detach().cpu().float().numpy()
    m = np.asarray(attention_map, dtype=np.float64)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f"expected one (h, w) attention map; got shape {m.shape}")
    return m


def _draw(ax: Axes, rgb: np.ndarray, attention_map, alpha, cmap, vrange):
    """Image plus the map upsampled to its size; returns the heatmap's AxesImage."""
    ax.imshow(rgb)
    ax.set_axis_off()
    if attention_map is None:
        return None
    m = _as_map(attention_map)
    # the map's own range, not the upsampled one (bilinear smoothing lowers interior peaks)
    vmin, vmax = (m.min(), m.max()) if vrange is None else vrange
    up = upsample_maps(m[None], rgb.shape[:2])[0]  # (h, w) -> (H, W)
    return ax.imshow(up, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax, interpolation="nearest")


def _finish(fig: Figure, save_path) -> Figure:
    if save_path is not None:
        fig.savefig(Path(save_path), dpi=150, bbox_inches="tight")
    return fig


def overlay(
    image,
    attention_map,
    *,
    ax: Axes | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    vrange: tuple[float, float] | None = (0.0, 1.0),
    title: str | None = None,
    save_path: str | Path | None = None,
) -> Figure:
    """One attention map over its image.

    Args:
        image: (3, H, W) ImageNet-normalised tensor/array, or an (H, W, 3) displayable image.
        attention_map: (h, w) or (1, h, w) map (numpy or torch), upsampled bilinearly to (H, W).
        ax: draw into this Axes instead of a new figure.
        vrange: colour range; None scales the map to its own min..max.
    Returns:
        the Figure drawn into.
    """
    if ax is None:
        fig = NotebookFigure(figsize=PANEL_SIZE, layout="constrained")
        ax = fig.add_subplot()
    _draw(ax, _to_rgb(image), attention_map, alpha, cmap, vrange)
    if title is not None:
        ax.set_title(title, fontsize=8)
    return _finish(ax.figure, save_path)


def overlay_grid(
    images,
    columns: Mapping[str, object],
    *,
    image_title: str | None = "image",
    transpose: bool = False,
    alpha: float = 0.5,
    cmap: str = "jet",
    vrange: tuple[float, float] | None = (0.0, 1.0),
    colorbar: bool = False,
    save_path: str | Path | None = None,
) -> Figure:
    """A grid of images and their attention maps: one row per image, one column per map set.

    Args:
        images: (B, 3, H, W) normalised tensor/array, or a sequence of B images (see ``overlay``).
        columns: {label: maps (B, h, w) or (B, 1, h, w)}, drawn in insertion order after the
            image column; maps may differ in resolution between columns.
        image_title: title of the plain-image column; None leaves that column out.
        transpose: one column per image and one row per map set instead.
        colorbar: add one shared colour bar (an extra Axes).
    Returns:
        a Figure with B * (len(columns) + 1) panel Axes (+1 with the colour bar).
    """
    rgbs = [_to_rgb(image) for image in images]
    labels = ([image_title] if image_title is not None else []) + list(columns)
    sets = ([None] if image_title is not None else []) + list(columns.values())
    for label, maps in columns.items():
        if len(maps) != len(rgbs):
            raise ValueError(f"column {label!r} has {len(maps)} maps for {len(rgbs)} images")
    n_img, n_set = len(rgbs), len(labels)
    rows, cols = (n_set, n_img) if transpose else (n_img, n_set)
    fig = NotebookFigure(
        figsize=(PANEL_SIZE[0] * cols + 0.6 * colorbar, PANEL_SIZE[1] * rows), layout="constrained"
    )
    axes = fig.subplots(rows, cols, squeeze=False)
    heat = None
    for i, rgb in enumerate(rgbs):
        for j, (label, maps) in enumerate(zip(labels, sets, strict=True)):
            ax = axes[j, i] if transpose else axes[i, j]
            drawn = _draw(ax, rgb, None if maps is None else maps[i], alpha, cmap, vrange)
            heat = drawn if drawn is not None else heat
            if (i == 0) and label:
                ax.set_title(label, fontsize=8)
    if colorbar and heat is not None:
        fig.colorbar(heat, ax=axes.ravel().tolist(), shrink=0.6)
    return _finish(fig, save_path)


def figure_compare_models(images, maps_by_model: Mapping[str, object], **kwargs) -> Figure:
    """Supplementary Figure 1: image, then one model's map per column
    (e.g. {"CBAM": ..., "RGA-SC w/o Rel.": ..., "RGA-SC": ...}, all at attention4).

    Args:
        images: (B, 3, H, W) normalised images.
        maps_by_model: {label: maps (B, h, w)}. Keyword arguments go to ``overlay_grid``.
    """
    return overlay_grid(images, maps_by_model, **kwargs)


def figure_stages(
    images, maps_by_stage: Mapping[int, object], *, label: str = "RGA-SC{stage}", **kwargs
) -> Figure:
    """Supplementary Figure 2: image, then the spatial map of each attention stage.

    Args:
        images: (B, 3, H, W) normalised images.
        maps_by_stage: ``rga.analysis.probe.probe``'s result {stage: AttentionMaps} (stages without a
            spatial map are left out), or {stage: maps (B, h, w)}.
        label: column title template, formatted with ``stage``.
    """
    columns = {}
    for stage in sorted(maps_by_stage):
        maps = maps_by_stage[stage]
        maps = getattr(maps, "spatial", maps)
        if maps is not None:
            columns[label.format(stage=stage)] = maps
    if not columns:
        raise ValueError(
            "no stage has a spatial attention map (channel-only or no attention); "
            "build the model with a kind that has spatial attention, e.g. 'rga-sc' or 'cbam'"
        )
    return overlay_grid(images, columns, **kwargs)


def figure_relation(
    image,
    row,
    col,
    index: int | tuple[int, int],
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    save_path: str | Path | None = None,
) -> Figure:
    """The relations of one position i: the image with i marked, R[i, :] and R[:, i].

    Args:
        image: (3, H, W) normalised tensor/array or an (H, W, 3) image.
        row, col: (h, w) maps, R[i, :] and R[:, i] (``rga.analysis.probe.relation_maps`` for one image).
        index: i in raster order (row * w + col), or (row, col) on the (h, w) grid.
    Returns:
        a Figure with 3 Axes; relation values are unbounded, so each map uses its own min..max.
    """
    row, col = _as_map(row), _as_map(col)
    h, w = row.shape
    r, c = divmod(int(index), w) if np.ndim(index) == 0 else (int(index[0]), int(index[1]))
    rgb = _to_rgb(image)
    fig = NotebookFigure(figsize=(PANEL_SIZE[0] * 3, PANEL_SIZE[1]), layout="constrained")
    axes = fig.subplots(1, 3, squeeze=False)[0]
    _draw(axes[0], rgb, None, alpha, cmap, None)
    # centre of cell (r, c) in image pixels
    y, x = (r + 0.5) * rgb.shape[0] / h - 0.5, (c + 0.5) * rgb.shape[1] / w - 0.5
    axes[0].plot([x], [y], marker="+", color="red", markersize=10, markeredgewidth=2)
    axes[0].set_title(f"i = ({r}, {c})", fontsize=8)
    for ax, values, title in ((axes[1], row, "R[i, :]"), (axes[2], col, "R[:, i]")):
        _draw(ax, rgb, values, alpha, cmap, None)
        ax.set_title(title, fontsize=8)
    return _finish(fig, save_path)
