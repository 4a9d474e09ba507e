"""Attention maps as the book draws them (the Attention page's supplementary Figures 1 and 2,
and the Probe page's figures):

* on its true feature grid, one flat cell per position with the cell edges drawn (the
  supplementary upsamples smoothly; bilinear upsampling would hide that the maps after conv4_x
  and conv5_x have 6x3 cells here): :func:`draw_grid_map`;
* with the person mask (SynthReID, 1 = person) outlined on every panel: :func:`draw_person_outline`;
* in colours spanning each row's own range, min to max over the row's maps, given by the row's
  colour bar (a fixed 0-1 scale leaves a gate that moves between 0.50 and 0.58 one flat colour):
  :func:`map_range`;
* with a score per image: the share of the map's mass on the person mask
  (:func:`person_scores`, the per-image value the precision tables average), and under each
  image the person's share of the pixels, what a uniform map scores.

Everything reads the saved arrays (``rga.study.report.attention_arrays``); nothing runs a model.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.patheffects as effects
import numpy as np
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from rga.analysis.draw import NotebookFigure
from rga.analysis.precision import attention_precision_per_image
from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.labels import STAGE_LABELS, setting_label

__all__ = [
    "COLOURS_NOTE",
    "MAP_CMAP",
    "compare_saved_models",
    "draw_grid_map",
    "draw_image",
    "draw_person_outline",
    "listed",
    "map_range",
    "module_label",
    "person_scores",
    "saved_stages_figure",
    "seed_label",
]

MAP_CMAP = "viridis"  # perceptually uniform, unlike the supplementary's jet
PANEL = (0.95, 1.9)  # inches (width, height) of one 2:1 person panel; six fit the text column
COLOURS_NOTE = (
    "Colours: each row's own range, min to max over its maps (colour bar at its right). "
    "White line: the person mask."
)


def listed(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c": items in a sentence."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def module_label(stage: int) -> str:
    """ "RGA-SC4 (after conv5_x)": the supplementary's name of the module after ``stage``."""
    return f"RGA-SC{stage} (after {STAGE_LABELS[stage]})"


# --- drawing one panel ------------------------------------------------------------------------


def _bare(ax) -> None:
    """No ticks, grid or frame, but room for the x and y labels (the scores, the row names)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _image_axes(ax, size: tuple[int, int]) -> None:
    """Pixel coordinates of an (H, W) image, row 0 at the top, square pixels."""
    height, width = size
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_aspect("equal")
    _bare(ax)


def map_range(maps) -> tuple[float, float]:
    """(min, max) of ``maps`` (any shape), the colour range of a row of panels; a constant map
    gets a range of width 1e-6 around its value so that colours stay defined."""
    values = np.asarray(maps, dtype=np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    return (low - 5e-7, high + 5e-7) if high - low < 1e-6 else (low, high)


def draw_grid_map(
    ax,
    values,
    size: tuple[int, int],
    vrange: tuple[float, float] | None = None,
    cmap: str = MAP_CMAP,
) -> QuadMesh:
    """An (h, w) map drawn on its own grid over the area of an (H, W) = ``size`` image: one
    flat cell per value, its edges drawn (nearest, never interpolated).

    Args:
        ax: the Axes to draw into.
        values: (h, w) map.
        size: (H, W) pixels of the image the map covers; cell (r, c) spans rows
            r * H / h .. (r + 1) * H / h of it.
        vrange: (min, max) of the colour scale; None: the map's own (:func:`map_range`).
    Returns:
        the QuadMesh; its array is the map itself, h * w values.
    """
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError(f"expected one (h, w) map; got shape {grid.shape}")
    (h, w), (height, width) = grid.shape, size
    vmin, vmax = map_range(grid) if vrange is None else vrange
    rows = np.linspace(-0.5, height - 0.5, h + 1)  # the h + 1 cell edges, in image pixels
    cols = np.linspace(-0.5, width - 0.5, w + 1)
    mesh = ax.pcolormesh(
        cols, rows, grid, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat",
        edgecolors=(0.0, 0.0, 0.0, 0.25), linewidth=0.3,
    )  # fmt: skip
    _image_axes(ax, size)
    return mesh


def draw_person_outline(ax, mask):
    """The outline of a person mask ((H, W), 1 = person) in the pixel coordinates of its image:
    a white line with a dark edge, visible on photos and maps alike. Returns the contour set, or
    None when the mask is empty or full (nothing to outline)."""
    person = np.asarray(mask) > 0
    if not person.any() or person.all():
        return None
    limits = ax.get_xlim(), ax.get_ylim()
    outline = ax.contour(person.astype(float), levels=[0.5], colors="white", linewidths=0.9)
    outline.set_path_effects([effects.withStroke(linewidth=2.0, foreground="0.1")])
    ax.set_xlim(*limits[0])  # contour() autoscales to its own extent
    ax.set_ylim(*limits[1])
    return outline


def draw_image(ax, image, mask=None) -> None:
    """An (H, W, 3) image as shown to the network, its person outlined when ``mask`` is given."""
    ax.imshow(np.asarray(image), interpolation="nearest")
    _image_axes(ax, np.shape(image)[:2])
    if mask is not None:
        draw_person_outline(ax, mask)


def person_scores(maps, masks) -> dict[str, np.ndarray]:
    """Per image, how much of a spatial map falls on the person.

    Args:
        maps: (B, h, w) non-negative maps (sigmoid gates).
        masks: (B, H, W) person masks, 1 = person.
    Returns:
        {"mass_on_person": (B,), "person_area": (B,)}: the share of the map's mass on person
        pixels (``rga.analysis.precision``, the map upsampled to the mask as there), and the
        mask's share of the pixels, what a uniform map scores.
    """
    scores = attention_precision_per_image(maps, np.asarray(masks) > 0)
    return {"mass_on_person": scores["mass_on_person"], "person_area": scores["chance"]}


# --- Figures 1 and 2 --------------------------------------------------------------------------


def _maps_figure(
    images: np.ndarray, masks: np.ndarray | None, rows: Mapping[str, np.ndarray], title: str
) -> Figure:
    """The images in the top row, then one row per map set ({row label: (n, h, w) maps}), each
    on its grid and in its row's colour range, with the row's colour bar and per-image scores."""
    n, size = len(images), images.shape[1:3]
    fig = NotebookFigure(  # at least 6.5 inches wide: room for the title and the note
        figsize=(max(PANEL[0] * n + 1.9, 6.5), (PANEL[1] + 0.3) * (len(rows) + 1) + 0.7),
        layout="constrained",
    )
    axes = fig.subplots(len(rows) + 1, n, squeeze=False)
    for i, ax in enumerate(axes[0]):
        draw_image(ax, images[i], None if masks is None else masks[i])
        ax.set_title(f"test image {i + 1}", fontsize=8)
    if masks is not None:
        areas = (np.asarray(masks[:n]) > 0).mean(axis=(1, 2))  # what a uniform map scores
        for ax, area in zip(axes[0], areas, strict=True):
            ax.set_xlabel(f"person {area:.2f}\nof the pixels", fontsize=7)
    axes[0, 0].set_ylabel("image", fontsize=8)
    for row_axes, (label, maps) in zip(axes[1:], rows.items(), strict=True):
        maps = np.asarray(maps[:n], dtype=np.float64)
        vrange = map_range(maps)
        scores = person_scores(maps, masks[:n])["mass_on_person"] if masks is not None else None
        for i, ax in enumerate(row_axes):
            mesh = draw_grid_map(ax, maps[i], size, vrange)
            if masks is not None:
                draw_person_outline(ax, masks[i])
                ax.set_xlabel(f"on person {scores[i]:.2f}", fontsize=7)
        h, w = maps.shape[1:]
        row_axes[0].set_ylabel(f"{label}\n{h}×{w} cells", fontsize=8)
        bar = fig.colorbar(mesh, ax=row_axes.tolist(), ticks=vrange, aspect=12, pad=0.02)
        bar.ax.set_yticklabels([f"{v:.3f}" for v in vrange], fontsize=7)
        bar.set_label("gate", fontsize=7, labelpad=-4)
    fig.suptitle(title, fontsize=9)
    note = COLOURS_NOTE
    if masks is not None:
        note += "\nUnder each map: the share of its mass on the person (a uniform map: the person's share)."
    fig.supxlabel(note, fontsize=7, color="0.3")
    return fig


def _same_images(saved: Mapping[str, AttentionArrays]) -> AttentionArrays:
    """The first arrays of ``saved``, after checking that every run saved the same images."""
    first = next(iter(saved.values()))
    for label, arrays in saved.items():
        if arrays.images.shape != first.images.shape or not np.array_equal(
            arrays.images, first.images
        ):
            raise ValueError(
                f"the saved attention arrays of {label!r} hold other images than the others; "
                "save every run's maps on the same test images"
            )
    return first


def seed_label(arrays: AttentionArrays) -> str:
    return f"seed {arrays.meta['seed']}" if "seed" in arrays.meta else "seed unknown"


def compare_saved_models(
    saved: Mapping[str, AttentionArrays], stage: int = 4, n: int = 6
) -> Figure:
    """Supplementary Figure 1 from saved arrays: the first ``n`` test images, then each model's
    spatial gate at ``stage`` ({row label: arrays}, e.g. CBAM-CS, RGA-SC w/o Rel., RGA-SC), one
    row per model named with its seed. The runs must have saved the same images."""
    first = _same_images(saved)
    n = min(n, len(first.images))
    rows = {f"{label}\n{seed_label(a)}": a.spatial[stage][:n] for label, a in saved.items()}
    masks = None if first.masks is None else first.masks[:n]
    title = f"The spatial gate of the module after {STAGE_LABELS[stage]}, model by model"
    return _maps_figure(first.images[:n], masks, rows, title)


def saved_stages_figure(saved: AttentionArrays, n: int = 6) -> Figure:
    """Supplementary Figure 2 from saved arrays: the first ``n`` test images, then the spatial
    gate of every module (RGA-SC1 .. RGA-SC4), one row per module."""
    n = min(n, len(saved.images))
    rows = {
        f"RGA-SC{stage}\nafter {STAGE_LABELS[stage]}": maps[:n]
        for stage, maps in saved.spatial.items()
    }
    meta = saved.meta
    run = setting_label(meta["kind"], meta.get("positions")) if "kind" in meta else ""
    title = f"{run}, {seed_label(saved)}: the spatial gate of each module".lstrip(", ")
    masks = None if saved.masks is None else saved.masks[:n]
    return _maps_figure(saved.images[:n], masks, rows, title)
