"""What one attention module does to one image, drawn: the Probe page's views.

Every map is drawn the way the Attention maps page draws them (``rga.study.report.
attention_figures``): on its own feature grid, the person outlined, the colours over the map's
own range, printed under it. Three entry points:

* :func:`attention_view` / :func:`probe_view` / :func:`compare_probe_view`: a row of panels per
  model (image, spatial gate, relation row R[i, :] and column R[:, i], channel gates), from a
  model probed now (``rga.analysis.probe``);
* :func:`saved_probe_figure`: the same views from the attention arrays the study saved;
* :func:`probe_widget`: Jupyter sliders over the probe views.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.patheffects as effects
import numpy as np
import torch
from matplotlib.figure import Figure

from rga.analysis.draw import PANEL_SIZE, NotebookFigure, denormalize
from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.attention_figures import (
    draw_grid_map,
    draw_image,
    draw_person_outline,
    person_scores,
)
from rga.study.report.labels import STAGE_LABELS, setting_label

__all__ = [
    "attention_view",
    "compare_probe_view",
    "probe_view",
    "probe_widget",
    "saved_probe_figure",
]

_SUBSCRIPTS = "₁₂₃₄₅₆₇₈₉"


# --- drawing ----------------------------------------------------------------------------------


def _rgb(image) -> np.ndarray:
    """(H, W, 3) displayable: a (3, H, W) tensor/array is taken as ImageNet-normalised."""
    if isinstance(image, torch.Tensor) or (np.ndim(image) == 3 and np.shape(image)[0] == 3):
        return denormalize(image)
    return np.asarray(image)


def _mark(ax, cell, grid: tuple[int, int], size: tuple[int, int], label: str | None = None):
    """A cross at the centre of grid cell (row, col) of an (h, w) ``grid`` laid over an (H, W)
    = ``size`` image, in its pixel coordinates; white with a black edge, so it shows on photos
    and maps alike."""
    (r, c), (h, w), (height, width) = cell, grid, size
    y, x = (r + 0.5) * height / h - 0.5, (c + 0.5) * width / w - 0.5  # the cell's centre
    outline = [effects.withStroke(linewidth=3.5, foreground="black")]
    ax.plot([x], [y], marker="+", color="white", markersize=10, markeredgewidth=2,
            path_effects=outline)  # fmt: skip
    if label:
        ax.text(x + 0.08 * width, y, label, color="white", fontsize=8, va="center",
                path_effects=outline)  # fmt: skip


def _range_label(values, mask=None) -> str:
    """The map's own colour range, and with a person mask the share of its mass on it."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    text = f"constant {low:.3f}" if high - low < 1e-6 else f"{low:.3f} – {high:.3f}"
    if mask is not None:
        share = person_scores(np.asarray(values)[None], np.asarray(mask)[None])["mass_on_person"]
        text += f"\non person {share[0]:.2f}"
    return text


def _map_panel(ax, values, size, mask=None, *, score: bool = False, title: str | None = None):
    """One map on its grid in its own range, the range (and the person share) under it."""
    draw_grid_map(ax, values, size)
    if mask is not None:
        draw_person_outline(ax, mask)
    ax.set_xlabel(_range_label(values, mask if score else None), fontsize=7)
    if title:
        ax.set_title(title, fontsize=8)


_SLOTS = ("spatial", "row", "col", "channel")  # the panels after the image, in this order


def _panel_slots(spatial, channel, row) -> list[str]:
    """The panels one module's maps fill: spatial gate, R[i, :], R[:, i], channel gates."""
    present = {"spatial": spatial is not None, "row": row is not None}
    present |= {"col": row is not None, "channel": channel is not None}
    return [slot for slot in _SLOTS if present[slot]]


def _draw_attention_view(
    fig, image, spatial, channel, row, col, position, title, slots: list[str], mask=None
) -> None:
    """Draw the panels of ``attention_view`` into ``fig`` (a Figure or SubFigure): the image,
    then one panel per slot of ``slots``; a slot this module has no map for stays empty."""
    widths = [1] + [2.2 if slot == "channel" else 1 for slot in slots]
    axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths}, squeeze=False)[0]
    rgb = _rgb(image)
    size = rgb.shape[:2]
    draw_image(axes[0], rgb, mask)
    axes[0].set_title("image", fontsize=8)
    grid = np.shape(spatial) if spatial is not None else np.shape(row) if row is not None else None
    if position is not None and grid is not None:
        _mark(axes[0], position, grid, size)
    for ax, slot in zip(axes[1:], slots, strict=True):
        if slot == "spatial" and spatial is not None:
            h, w = np.shape(spatial)
            _map_panel(ax, spatial, size, mask, score=True, title=f"spatial gate {h}×{w}")
        elif slot in ("row", "col") and row is not None:
            values = row if slot == "row" else col
            _map_panel(ax, values, size, mask, title="R[i, :]" if slot == "row" else "R[:, i]")
            if position is not None:
                _mark(ax, position, np.shape(values), size)
        elif slot == "channel" and channel is not None:
            values = np.sort(np.asarray(channel, dtype=float))[::-1]
            ax.plot(np.arange(len(values)), values, linewidth=1.2)
            ax.fill_between(np.arange(len(values)), values, alpha=0.3)
            ax.set_ylim(0, 1)
            ax.set_xlabel("channel (sorted)", fontsize=8)
            ax.set_title(f"channel gates, C = {len(values)}", fontsize=8)
            ax.tick_params(labelsize=7)
        else:  # another model of the comparison has this map, this one not
            ax.set_axis_off()
            what = {"spatial": "spatial gate", "channel": "channel gate"}.get(slot, "relations")
            ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", fontsize=8, color="0.4",
                    transform=ax.transAxes)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=9)


def _view_size(slots: list[str]) -> tuple[float, float]:
    """Width and height (inches) of one row of panels: the image and `slots`."""
    wide = sum(2.2 if slot == "channel" else 1 for slot in slots)
    return PANEL_SIZE[0] * (1 + wide), PANEL_SIZE[1] + 0.7


def attention_view(
    image,
    spatial=None,
    channel=None,
    *,
    row=None,
    col=None,
    position: tuple[int, int] | None = None,
    title: str | None = None,
    mask=None,
) -> Figure:
    """One image and what one attention module does to it, in a row of panels.

    Args:
        image: (3, H, W) normalised tensor/array or an (H, W, 3) image.
        spatial: (h, w) spatial gate in (0, 1), or None (channel-only modules).
        channel: (C,) channel gate, drawn sorted, or None.
        row, col: (h, w) relation maps R[i, :] and R[:, i] of ``position`` = (r, c), or None.
        title: a line above the panels.
        mask: (H, W) person mask (1 = person), outlined on every panel; optional.
    Returns:
        a Figure: image (with the position marked), spatial gate, R[i, :], R[:, i], channel
        gates; each map on its own grid and in its own colour range, printed under it.
    """
    slots = _panel_slots(spatial, channel, row)
    fig = NotebookFigure(figsize=_view_size(slots), layout="constrained")
    _draw_attention_view(fig, image, spatial, channel, row, col, position, title, slots, mask)
    return fig


def _probe_maps(model, one: torch.Tensor, stage: int, y: float, x: float) -> dict:
    """The maps ``attention_view`` draws for one image (1, 3, H, W) at ``stage`` of a model:
    spatial, channel, row, col, position (the grid cell nearest to (y, x))."""
    from rga.analysis.probe import grid_cell, has_spatial_relations, probe, relation_maps

    maps = probe(model, one, stages=[stage])[stage]
    row = col = position = None
    if maps.spatial is not None:
        position = grid_cell(y, x, *maps.spatial.shape[-2:])
    if has_spatial_relations(model, stage):
        row, col = relation_maps(model, one, stage, position)
        row, col = row[0], col[0]
    return {
        "spatial": None if maps.spatial is None else maps.spatial[0],
        "channel": None if maps.channel is None else maps.channel[0],
        "row": row,
        "col": col,
        "position": position,
    }


def _view_title(stage: int, image: int, position) -> str:
    return f"stage {stage} (after {STAGE_LABELS[stage]}), image {image}" + (
        f", position i = {position}" if position is not None else ""
    )


def probe_view(
    model,
    images: torch.Tensor,
    image: int = 0,
    stage: int = 4,
    y: float = 0.5,
    x: float = 0.5,
    masks=None,
) -> Figure:
    """``attention_view`` of ``images[image]`` at ``stage`` of a model, probed now.

    The position i is the cell of the stage's (h, w) grid nearest to (y, x), fractions of the
    image height and width; its relations are drawn when the module has spatial relations.
    ``masks``: (n, H, W) person masks of ``images``, outlined; optional.
    """
    one = images[image : image + 1]
    maps = _probe_maps(model, one, stage, y, x)
    position = maps["position"] if maps["row"] is not None else None
    return attention_view(
        one[0],
        maps["spatial"],
        maps["channel"],
        row=maps["row"],
        col=maps["col"],
        position=maps["position"],
        title=_view_title(stage, image, position),
        mask=None if masks is None else masks[image],
    )


def compare_probe_view(
    models: Mapping[str, object],
    images: torch.Tensor,
    image: int = 0,
    stage: int = 4,
    y: float = 0.5,
    x: float = 0.5,
    masks=None,
) -> Figure:
    """``probe_view`` of several models ({label: model}) on the same image, stage and position:
    one row per model, the panels aligned (a model without a map leaves its panel empty)."""
    one = images[image : image + 1]
    views = {label: _probe_maps(m, one, stage, y, x) for label, m in models.items()}
    slots = [
        slot
        for slot in _SLOTS
        if any(slot in _panel_slots(v["spatial"], v["channel"], v["row"]) for v in views.values())
    ]
    width, height = _view_size(slots)
    fig = NotebookFigure(figsize=(width, height * len(views) + 0.3), layout="constrained")
    rows = fig.subfigures(len(views), 1, squeeze=False)[:, 0]
    position = None
    mask = None if masks is None else masks[image]
    for sub, (label, v) in zip(rows, views.items(), strict=True):
        position = position or v["position"]
        _draw_attention_view(sub, one[0], v["spatial"], v["channel"], v["row"], v["col"],
                             v["position"], label, slots, mask)  # fmt: skip
    fig.suptitle(_view_title(stage, image, position), fontsize=10)
    return fig


def saved_probe_figure(saved: AttentionArrays, image: int = 0) -> Figure:
    """The probe's views of one saved image, from the attention arrays alone: one row per stage
    with relations; the image with the person outlined and the positions i marked and
    numbered, the spatial gate, then R[i, :] and R[:, i] of each position (``saved.relations``,
    ``saved.points``). Each map is drawn on its grid in its own colour range, printed under it,
    the gate with the share of its mass on the person."""
    if not saved.relations:
        raise ValueError(
            f"the attention arrays of run {saved.meta.get('run_id')} hold no relation rows and "
            "columns; the study's recording step writes them for RGA-S and RGA-SC runs"
        )
    stages = sorted(saved.relations)
    points = len(saved.points)
    columns = 2 + 2 * points
    fig = NotebookFigure(
        figsize=(0.9 * columns + 0.8, 2.25 * len(stages) + 0.4), layout="constrained"
    )
    axes = fig.subplots(len(stages), columns, squeeze=False)
    picture = saved.images[image]
    mask = None if saved.masks is None else saved.masks[image]
    size = picture.shape[:2]
    for row_axes, stage in zip(axes, stages, strict=True):
        rel = saved.relations[stage]
        grid = rel.row.shape[-2:]
        first = stage == stages[0]
        ax = row_axes[0]
        draw_image(ax, picture, mask)
        ax.set_ylabel(f"RGA-SC{stage}\nafter {STAGE_LABELS[stage]}\n{grid[0]}×{grid[1]} cells",
                      fontsize=8)  # fmt: skip
        if first:
            ax.set_title("image", fontsize=8)
        for p, cell in enumerate(rel.cells):
            _mark(ax, tuple(cell), grid, size, str(p + 1))
        gate = saved.spatial.get(stage)
        if gate is None:
            row_axes[1].set_axis_off()
        else:
            _map_panel(row_axes[1], gate[image], size, mask, score=True,
                       title="spatial gate" if first else None)  # fmt: skip
        for p, cell in enumerate(rel.cells):
            for k, (values, name) in enumerate(((rel.row, "R[i{}, :]"), (rel.col, "R[:, i{}]"))):
                ax = row_axes[2 + 2 * p + k]
                title = name.format(_SUBSCRIPTS[p]) if first else None
                _map_panel(ax, values[image, p], size, mask, title=title)
                _mark(ax, tuple(cell), grid, size)
    meta = saved.meta
    run = (
        setting_label(meta["kind"], meta.get("positions"), meta.get("rga_embedding"))
        if "kind" in meta
        else meta.get("run_id", "")
    )
    seed = f", seed {meta['seed']}" if "seed" in meta else ""
    fig.suptitle(
        f"{run}{seed}, test image {image + 1}: gate and relations of positions 1-{points}",
        fontsize=9,
    )
    return fig


# --- the sliders ------------------------------------------------------------------------------


def probe_widget(models, images: torch.Tensor, masks=None):
    """Jupyter sliders over :func:`probe_view` (one model) or :func:`compare_probe_view`
    ({label: model}, side by side): the image, the module (stage) and the position (fractions
    of the image height and width). ``masks``: the images' person masks, outlined (optional).
    Returns an ``ipywidgets.interactive``; display it. Its ``result`` is the figure drawn for
    the current choice."""
    import ipywidgets as widgets
    from IPython.display import display

    several = isinstance(models, Mapping)

    def view(image: int, stage: int, y: float, x: float) -> Figure:
        if several:
            figure = compare_probe_view(models, images, image, stage, y, x, masks)
        else:
            figure = probe_view(models, images, image, stage, y, x, masks)
        display(figure)  # `interactive` (unlike `interact`) shows only what the function displays
        return figure

    each = list(models.values()) if several else [models]
    stages = sorted(set().union(*(m.attention_modules for m in each)))
    return widgets.interactive(
        view,
        image=widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image"),
        stage=widgets.Dropdown(options=stages, value=stages[-1], description="module"),
        y=widgets.FloatSlider(value=0.45, min=0.0, max=1.0, step=0.02, description="position y"),
        x=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="position x"),
    )
