"""Composite figures of the book: the probe view, the model comparison, the ranked lists.

Drawing goes through ``rga.analysis.draw`` (same upsampling and colour scale as everywhere else); the
maps come from ``rga.analysis.probe`` (a model) or from saved arrays (``rga.study.report.attention_arrays``);
ranked lists from ``rga.study.report.ranked_lists``, their SynthReID images drawn again in memory.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from rga.analysis.draw import (
    PANEL_SIZE,
    NotebookFigure,
    figure_compare_models,
    figure_stages,
    overlay,
)
from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.labels import setting_label

__all__ = [
    "attention_view",
    "compare_probe_view",
    "compare_saved_models",
    "probe_images",
    "probe_view",
    "probe_widget",
    "ranked_lists_figure",
    "saved_probe_figure",
    "saved_stages_figure",
]

_SUBSCRIPTS = "₁₂₃₄₅₆₇₈₉"


def _mark(ax, cell: tuple[int, int], grid: tuple[int, int], label: str | None = None) -> None:
    """A cross at the centre of grid cell (row, col), in the pixel coordinates of the image
    drawn in ``ax``; white with a black edge, so it shows on photos and heatmaps alike."""
    import matplotlib.patheffects as effects

    (r, c), (h, w) = cell, grid
    height, width = np.asarray(ax.images[0].get_array()).shape[:2]
    y, x = (r + 0.5) * height / h - 0.5, (c + 0.5) * width / w - 0.5  # the cell's centre
    outline = [effects.withStroke(linewidth=3.5, foreground="black")]
    ax.plot([x], [y], marker="+", color="white", markersize=10, markeredgewidth=2,
            path_effects=outline)  # fmt: skip
    if label:
        ax.text(x + 0.08 * width, y, label, color="white", fontsize=8, va="center",
                path_effects=outline)  # fmt: skip


_SLOTS = ("spatial", "row", "col", "channel")  # the panels after the image, in this order


def _panel_slots(spatial, channel, row) -> list[str]:
    """The panels one module's maps fill: spatial gate, R[i, :], R[:, i], channel gates."""
    present = {"spatial": spatial is not None, "row": row is not None}
    present |= {"col": row is not None, "channel": channel is not None}
    return [slot for slot in _SLOTS if present[slot]]


def _draw_attention_view(
    fig, image, spatial, channel, row, col, position, title, slots: list[str]
) -> None:
    """Draw the panels of ``attention_view`` into ``fig`` (a Figure or SubFigure): the image,
    then one panel per slot of ``slots``; a slot this module has no map for stays empty."""
    widths = [1] + [2.2 if slot == "channel" else 1 for slot in slots]
    axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths}, squeeze=False)[0]
    overlay(image, None, ax=axes[0], title="image")
    grid = np.shape(spatial) if spatial is not None else np.shape(row) if row is not None else None
    if position is not None and grid is not None:
        _mark(axes[0], position, grid)
    for ax, slot in zip(axes[1:], slots, strict=True):
        if slot == "spatial" and spatial is not None:
            h, w = np.shape(spatial)
            overlay(image, spatial, ax=ax, title=f"spatial gate {h}×{w}")
        elif slot in ("row", "col") and row is not None:
            values = row if slot == "row" else col
            overlay(
                image, values, ax=ax, vrange=None, title="R[i, :]" if slot == "row" else "R[:, i]"
            )
            if position is not None:
                _mark(ax, position, np.shape(values))
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
    return PANEL_SIZE[0] * (1 + wide), PANEL_SIZE[1] + 0.4


def attention_view(
    image,
    spatial=None,
    channel=None,
    *,
    row=None,
    col=None,
    position: tuple[int, int] | None = None,
    title: str | None = None,
) -> Figure:
    """One image and what one attention module does to it, in a row of panels.

    Args:
        image: (3, H, W) normalised tensor/array or an (H, W, 3) image.
        spatial: (h, w) spatial gate in (0, 1), or None (channel-only modules).
        channel: (C,) channel gate, drawn sorted, or None.
        row, col: (h, w) relation maps R[i, :] and R[:, i] of ``position`` = (r, c), or None.
        title: a line above the panels.
    Returns:
        a Figure: image (with the position marked), spatial gate, R[i, :], R[:, i], channel gates.
    """
    slots = _panel_slots(spatial, channel, row)
    fig = NotebookFigure(figsize=_view_size(slots), layout="constrained")
    _draw_attention_view(fig, image, spatial, channel, row, col, position, title, slots)
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


def probe_view(
    model, images: torch.Tensor, image: int = 0, stage: int = 4, y: float = 0.5, x: float = 0.5
) -> Figure:
    """``attention_view`` of ``images[image]`` at ``stage`` of a model, probed now.

    The position i is the cell of the stage's (h, w) grid nearest to (y, x), fractions of the
    image height and width; its relations are drawn when the module has spatial relations.
    """
    one = images[image : image + 1]
    maps = _probe_maps(model, one, stage, y, x)
    position = maps["position"]
    return attention_view(
        one[0],
        maps["spatial"],
        maps["channel"],
        row=maps["row"],
        col=maps["col"],
        position=position,
        title=f"stage {stage} (after conv{stage + 1}_x), image {image}"
        + (f", position i = {position}" if maps["row"] is not None else ""),
    )


def compare_probe_view(
    models: Mapping[str, object],
    images: torch.Tensor,
    image: int = 0,
    stage: int = 4,
    y: float = 0.5,
    x: float = 0.5,
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
    for sub, (label, v) in zip(rows, views.items(), strict=True):
        position = position or v["position"]
        _draw_attention_view(sub, one[0], v["spatial"], v["channel"], v["row"], v["col"],
                             v["position"], label, slots)  # fmt: skip
    fig.suptitle(
        f"stage {stage} (after conv{stage + 1}_x), image {image}"
        + (f", position i = {position}" if position is not None else ""),
        fontsize=10,
    )
    return fig


def compare_saved_models(
    saved: Mapping[str, AttentionArrays], stage: int = 4, n: int = 6
) -> Figure:
    """Supplementary Figure 1 from saved arrays: the images, then each model's spatial map at
    ``stage`` ({column title: arrays}). The runs must have saved the same images."""
    first = next(iter(saved.values()))
    for label, arrays in saved.items():
        if arrays.images.shape != first.images.shape or not np.array_equal(
            arrays.images, first.images
        ):
            raise ValueError(
                f"the saved attention arrays of {label!r} hold other images than the others; "
                "save every run's maps on the same test images"
            )
    n = min(n, len(first.images))
    columns = {label: arrays.spatial[stage][:n] for label, arrays in saved.items()}
    return figure_compare_models(list(first.images[:n]), columns, transpose=True, colorbar=True)


def saved_probe_figure(saved: AttentionArrays, image: int = 0) -> Figure:
    """The probe's views of one saved image, from the attention arrays alone: one row per stage
    with relations; the image with the positions i marked and numbered, the spatial gate, then
    R[i, :] and R[:, i] of each position (``saved.relations``, ``saved.points``).

    Relation values are unbounded (RGA has no softmax), so each relation map has its own colour
    range; the gate is on the fixed [0, 1] scale of the other figures.
    """
    if not saved.relations:
        raise ValueError(
            f"the attention arrays of run {saved.meta.get('run_id')} hold no relation rows and "
            "columns; the study's recording step writes them for RGA-S and RGA-SC runs"
        )
    stages = sorted(saved.relations)
    points = len(saved.points)
    columns = 2 + 2 * points
    fig = NotebookFigure(
        figsize=(PANEL_SIZE[0] * columns * 0.8, PANEL_SIZE[1] * len(stages) * 0.8 + 0.3),
        layout="constrained",
    )
    axes = fig.subplots(len(stages), columns, squeeze=False)
    picture = saved.images[image]
    for row_axes, stage in zip(axes, stages, strict=True):
        rel = saved.relations[stage]
        grid = rel.row.shape[-2:]
        ax = row_axes[0]
        overlay(picture, None, ax=ax)
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"stage {stage}\n(after conv{stage + 1}_x)\n{grid[0]}×{grid[1]}", fontsize=8)
        for p, cell in enumerate(rel.cells):
            _mark(ax, tuple(cell), grid, str(p + 1))
        gate = saved.spatial.get(stage)
        overlay(picture, None if gate is None else gate[image], ax=row_axes[1],
                title="spatial gate" if stage == stages[0] else None)  # fmt: skip
        for p, cell in enumerate(rel.cells):
            for k, (values, name) in enumerate(((rel.row, "R[i{}, :]"), (rel.col, "R[:, i{}]"))):
                ax = row_axes[2 + 2 * p + k]
                title = name.format(_SUBSCRIPTS[p]) if stage == stages[0] else None
                overlay(picture, values[image, p], ax=ax, vrange=None, title=title)
                _mark(ax, tuple(cell), grid)
    meta = saved.meta
    run = (
        setting_label(meta["kind"], meta.get("positions"), meta.get("rga_embedding"))
        if "kind" in meta
        else meta.get("run_id", "")
    )
    fig.suptitle(f"{run}, image {image}: relations of positions 1-{points}", fontsize=9)
    return fig


def ranked_lists_figure(lists: Mapping[str, dict], queries: int = 4) -> Figure:
    """Ranked lists of several runs on the same queries: per query, one row per run ({label:
    ``rga.study.report.ranked_lists.load_ranked_lists(...)``}), query then top-k, hits marked.

    SynthReID images are drawn again from the runs' preset (``rga.synth.render_images``: the
    same pixels as the files, in well under a second); other datasets' images are not in the
    repository, so their tiles are grey, captioned with the identity.
    """
    from rga.analysis.draw_ranks import RankedRow, figure_ranked_lists

    first = next(iter(lists.values()))
    names = [q["path"] for q in first["queries"][:queries]]
    for label, ranked in lists.items():
        if [q["path"] for q in ranked["queries"][:queries]] != names:
            raise ValueError(
                f"the ranked lists of {label!r} are of other queries than the others; "
                "save every run's lists for the same queries"
            )
    paths = names + [
        g["path"] for r in lists.values() for q in r["queries"][:queries] for g in q["gallery"]
    ]
    images = _ranked_images(first["meta"], paths)
    rows = []
    for q, name in enumerate(names):
        for label, ranked in lists.items():
            query = ranked["queries"][q]
            gallery = [
                (images.get(g["path"]), g["hit"], f"id {g['pid']}") for g in query["gallery"]
            ]
            rows.append(RankedRow(f"{label}\nquery id {query['pid']}", images.get(name), gallery))
    return figure_ranked_lists(rows)


def _ranked_images(meta: dict, paths: list[str]) -> dict[str, np.ndarray]:
    """{path: (H, W, 3) uint8} of the ranked lists' SynthReID images, drawn again; {} for
    another dataset."""
    if meta.get("dataset") != "synthreid":
        return {}
    from rga.synth import render_images, synth_config

    unique = list(dict.fromkeys(paths))
    rendered = render_images(synth_config(meta.get("synth_preset") or "cpu"), unique)
    return {path: r.image for path, r in rendered.items()}


def saved_stages_figure(saved: AttentionArrays, n: int = 6) -> Figure:
    """Supplementary Figure 2 from saved arrays: the first ``n`` images, then the spatial map of
    every stage (RGA-SC1 .. RGA-SC4)."""
    n = min(n, len(saved.images))
    maps = {stage: m[:n] for stage, m in saved.spatial.items()}
    return figure_stages(list(saved.images[:n]), maps, transpose=True, colorbar=True)


def probe_images(
    height: int, width: int, saved: AttentionArrays | None = None, n: int = 8
) -> tuple[torch.Tensor, np.ndarray | None, str]:
    """Test images for the probe at the model's input size, ImageNet-normalised (n, 3, H, W),
    their person masks, and where they come from.

    The images of saved attention arrays when their size matches; otherwise query images of the
    SynthReID ``smoke`` preset generated at (height, width) into a temporary folder (a second).
    """
    from rga.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    if saved is not None and saved.images.shape[1:3] == (height, width):
        rgb, masks = saved.images[:n], None if saved.masks is None else saved.masks[:n]
        source = f"the saved test images of run {saved.meta.get('run_id')}"
    else:
        import shutil
        import tempfile

        from PIL import Image

        from rga.synth import ensure_synthreid, load_mask

        cache = tempfile.mkdtemp(prefix="rga-probe-")
        try:
            root = ensure_synthreid(cache, preset="smoke", height=height, width=width)
            paths = sorted((root / "query").glob("*.jpg"))[:n]
            rgb = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
            masks = np.stack([load_mask(p) for p in paths])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        source = f"SynthReID smoke-preset query images generated at {height}x{width}"
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float() / 255.0
    return (x - mean) / std, masks, source


def probe_widget(models, images: torch.Tensor):
    """Jupyter sliders over :func:`probe_view` (one model) or :func:`compare_probe_view`
    ({label: model}, side by side): the image, the module (stage) and the position (fractions
    of the image height and width). Returns an ``ipywidgets.interactive``; display it. Its
    ``result`` is the figure drawn for the current choice."""
    import ipywidgets as widgets
    from IPython.display import display

    several = isinstance(models, Mapping)

    def view(image: int, stage: int, y: float, x: float) -> Figure:
        if several:
            figure = compare_probe_view(models, images, image=image, stage=stage, y=y, x=x)
        else:
            figure = probe_view(models, images, image=image, stage=stage, y=y, x=x)
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
