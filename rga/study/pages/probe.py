"""The Probe page (``book/probe.ipynb``): what one attention module does to one image.

Three parts, each drawn the way the Attention maps page draws maps (``rga.study.pages.attention``:
every map on its own feature grid, the person outlined, the colours over the map's own range):

* the static views, from the attention arrays the study saved (``rga.study.report.
  attention_arrays``): per test image and module, the spatial gate and the relation row
  R[i, :] and column R[:, i] at three fixed positions (:func:`saved_probe_figure`);
* the notes that say where the views and the sliders' models come from: the run's checkpoint
  when it is here (git ignores checkpoints), else the half-precision weights the repository
  ships (``rga.study.probe_weights``), so a fresh clone runs the sliders without training;
* the sliders (:func:`probe_widget`), which probe a model now (``rga.analysis.probe``).

Which run the page shows, and where its files are, is ``rga.study.report.probe_page``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import matplotlib.patheffects as effects
import numpy as np
import torch
from IPython.display import Markdown
from matplotlib.figure import Figure

from rga.analysis.draw import PANEL_SIZE, NotebookFigure, denormalize
from rga.engine.checkpoint import FINAL
from rga.engine.config import RunConfig, run_id
from rga.engine.evaluate import load_trained, trained_fingerprints
from rga.study.report.attention_arrays import AttentionArrays, attention_path
from rga.study.report.attention_figures import (
    draw_grid_map,
    draw_image,
    draw_person_outline,
    listed,
    person_scores,
    saved_stages_figure,
)
from rga.study.report.labels import STAGE_LABELS, setting_label
from rga.study.report.paths import _relative, checkpoints_dir
from rga.study.report.probe_page import (
    EXPERIMENT,
    run_prefix,
    saved_run_arrays,
    shipped_run,
    train_command,
)

__all__ = [
    "answer",
    "attention_view",
    "compare_probe_view",
    "probe_images",
    "probe_model",
    "probe_models",
    "probe_view",
    "probe_widget",
    "saved_probe_figure",
    "saved_run_arrays",
    "saved_stages_figure",
    "saved_views_note",
    "train_command",
]

_SUBSCRIPTS = "₁₂₃₄₅₆₇₈₉"


# --- the page's answer ------------------------------------------------------------------------


def answer(config: RunConfig, saved: AttentionArrays | None) -> Markdown:
    """The page's answer in two or three sentences, from the saved arrays of its run: how much
    of each module's spatial gate falls on the person, against a uniform map, and how far the
    gate rescales the features within one image."""
    setting = setting_label(config.kind, config.positions, config.rga_embedding)
    run = f"{setting}, seed {config.seed}, {config.profile} profile"
    if saved is None or not saved.spatial or saved.masks is None:
        return Markdown(
            f"This page shows what each attention module of a trained model ({run}) does to one "
            "image: its spatial gate and the relations of a position. The numbers appear once "
            "the study has saved the run's maps with person masks; the note below says how."
        )
    stages = sorted(saved.spatial)
    mass = {s: person_scores(saved.spatial[s], saved.masks) for s in stages}
    on_person = [float(np.nanmean(mass[s]["mass_on_person"])) for s in stages]
    area = float(np.mean(mass[stages[0]]["person_area"]))
    gaps = np.subtract(on_person, area)
    if np.all(np.abs(gaps) < 0.05):
        verdict = (
            f"so no module favours the person (each is at most {np.abs(gaps).max():.3f} from the "
            "uniform share)"
        )
    else:
        more = [f"RGA-SC{s}" for s, g in zip(stages, gaps, strict=True) if g > 0]
        if len(more) == len(stages):
            verdict = "so every module puts more on the person than a uniform map"
        elif more:
            verdict = f"so only {listed(more)} put more on the person than a uniform map"
        else:
            verdict = "so every module puts less on the person than a uniform map"
    with np.errstate(divide="ignore"):  # a gate of exactly 0 (float16 underflow): no ratio
        ratios = {s: float(np.max(saved.spatial[s].max(axis=(1, 2)) / saved.spatial[s].min(axis=(1, 2))))
                  for s in stages}  # fmt: skip
    widest = max(ratios, key=ratios.get)
    spread = (
        f"Within one image the largest gate is at most {ratios[widest]:.1f} times the smallest "
        f"(at RGA-SC{widest}), and the"
        if np.isfinite(ratios[widest])
        else "The"
    )
    shares = listed([f"{v:.3f}" for v in on_person])
    return Markdown(
        f"In the model this page shows ({run}), the spatial gates put {shares} of their mass "
        f"on the person at {listed([f'RGA-SC{s}' for s in stages])} (means over the "
        f"{len(saved.images)} saved test images), against {area:.3f} for a uniform map, "
        f"{verdict}. {spread} relations "
        "of a position i, below for three fixed positions and in the probes for any, show which "
        "other positions it matches."
    )


# --- the notes: where the views and the sliders' models come from -----------------------------


def saved_views_note(
    config: RunConfig, saved: AttentionArrays | None, examples: int = 3
) -> Markdown:
    """What the static views below show, from which file and which seed; where relations are
    not saved yet, which run writes them and the command."""
    rid = saved.meta["run_id"] if saved is not None else run_prefix(config) + "<data>"
    folder = _relative(attention_path(EXPERIMENT, rid).parent)
    setting = setting_label(config.kind, config.positions, config.rga_embedding)
    run = f"run `{rid}` ({setting}, seed {config.seed}, {config.profile} profile)"
    why = (
        f"Seed {config.seed} is the page's parameter: the run whose weights the repository "
        "ships, so the views, the browser probe and the sliders show the same model."
        if shipped_run(config) is not None
        else f"Seed {config.seed} is the page's parameter (the first cell)."
    )
    if saved is not None and saved.relations:
        n = min(examples, len(saved.images))
        return Markdown(
            f"Drawn from the arrays the study saved after training {run}: one figure per test "
            f"image ({n} of {len(saved.images)}), one row per module. {why} The first column "
            "outlines the person in white and marks the positions i, numbered 1 to "
            f"{len(saved.points)}: fixed points of the image (the centre line at head, chest "
            "and knee height of a well-centred person), each in the cell of that module's grid "
            "that holds it, so a loosely cropped person can be missed. Then the module's "
            "spatial gate, and for each position its row R(i, :) and column R(:, i) with i "
            "marked. Every map is drawn on the module's own grid, one flat cell per position, "
            "in colours spanning its own range, printed under it (dark blue: its minimum, "
            "yellow: its maximum); under the gate, also the share of its mass on the person (a uniform "
            "map would get the person's share of the pixels). Relation values are unbounded "
            "(RGA has no softmax): read where a relation map is high, not how high."
        )
    command = train_command(config)
    if config.kind not in ("rga-sc", "rga-s"):
        what = "its spatial gates (this model has no spatial relations)"
    else:
        what = "the relation rows R(i, :) and columns R(:, i) at three fixed positions per module"
    have = (
        f"The repository holds the spatial gates of {run}, saved before relations were "
        f"recorded: below, those of the first {min(examples, len(saved.images))} test images at "
        "each module (rows RGA-SC1 to RGA-SC4), as on the Attention maps page."
        if saved is not None
        else f"The repository holds nothing of {run} yet, so there is nothing to draw here."
    )
    return Markdown(
        f"{have} The study's recording step saves {what} beside them (in `{folder}/`) when it "
        "records the run: from its checkpoint, after training it where there is none, with\n\n"
        f"```bash\n{command}\n```\n\n"
        f"or `papermill experiments/{EXPERIMENT}.ipynb out.ipynb -p profile {config.profile}`, "
        "which records every model of that notebook."
    )


def _shipped_note(entry: dict, folder: str | Path | None) -> str:
    from rga.study.probe_weights import probe_weights_dir

    path = _relative(probe_weights_dir(folder) / entry["file"])
    rerun = entry.get("weights_of")
    if rerun is None:
        trained = f"trained at commit {entry['commit'][:7]}"
    else:  # the committed run's checkpoint was not kept: the weights are its rerun's
        ours, committed = rerun["metrics"]["mAP"], rerun["committed_metrics"]["mAP"]
        trained = (
            f"the weights of its rerun at commit {rerun['commit'][:7]} on {rerun['cpu']}, mAP "
            f"{ours:.2f} against the committed run's {committed:.2f} (`{rerun['record']}`)"
        )
    return (
        f"`{path}` ({entry['label']}, {entry['dtype']}, {entry['bytes'] / 1e6:.1f} MB, {trained})"
    )


def probe_model(
    config: RunConfig,
    checkpoint_root: str | Path | None = None,
    allow_untrained: bool = False,
    data: str = "",
    weights_folder: str | Path | None = None,
):
    """The model the interactive probe shows, and a note saying which it is.

    Returns (model or None, Markdown): the trained model of ``config`` on the data tagged `data`
    (the first data it was trained on when empty) from ``<checkpoint_root>/<run_id>/final.pt``
    (default root: ``checkpoints``); without it, the shipped half-precision weights of that run
    (``rga.study.probe_weights``, from `weights_folder`, default ``experiments/probe_weights``);
    without those, an untrained network of the same configuration when ``allow_untrained``,
    else None.
    """
    from rga.engine.build import build_model
    from rga.study.probe_weights import load_probe_model

    root = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    found = trained_fingerprints(config, root)
    tag = data or (found[0] if found else "")
    rid = run_id(config, tag) if tag else run_prefix(config) + "<data>"
    path = root / rid / FINAL
    trained = load_trained(config, root, tag) if tag in found else None
    if trained is not None:
        return trained, Markdown(
            f"Checkpoint found: `{_relative(path)}`. Run the next cell for the sliders."
        )
    shipped = shipped_run(config, data, weights_folder)
    if shipped is not None:
        model = load_probe_model(shipped["run_id"], weights_folder)
        path = root / shipped["run_id"] / FINAL
        return model, Markdown(
            f"No checkpoint here (`{_relative(path)}`); the sliders run on the weights the "
            f"repository ships for this run, {_shipped_note(shipped, weights_folder)}: the "
            "trained model, no training needed. Run the next cell for the sliders."
        )
    how = (
        f"The interactive probe needs the trained model, `{_relative(path)}`, which is not "
        "here (checkpoints are not in the repository; git ignores them) and whose weights the "
        "repository does not ship. Train the run, then open this page in JupyterLab and run all "
        f"cells:\n\n```bash\n{train_command(config)}\njupyter lab book/probe.ipynb\n```\n\nTo "
        "point the page at another run or folder, change the parameters in the first code cell "
        "(`checkpoint_root` for the folder)."
    )
    if not allow_untrained:
        return None, Markdown(how + " With `allow_untrained = True` the sliders also run on an "
                              "untrained network (the mechanics, not what RGA learns).")  # fmt: skip
    model = build_model(dataclasses.replace(config, weights=None), num_classes=10).eval()
    return model, Markdown(
        how + " Until then the sliders run on an **untrained** network of the same "
        "configuration (`allow_untrained = True`): they show the mechanics, not what RGA learns."
    )


def probe_models(
    config: RunConfig,
    checkpoint_root: str | Path | None = None,
    allow_untrained: bool = False,
    data: str = "",
    weights_folder: str | Path | None = None,
) -> tuple[dict, Markdown]:
    """The models the sliders show side by side, and a note: ({label: model}, Markdown).

    First the page's model (:func:`probe_model`: its checkpoint, its shipped weights, or an
    untrained network); then every other shipped run of the same profile and input size (the
    study never sets models of two training regimes side by side), in the manifest's order.
    {} when there is no model for the page's run.
    """
    from rga.study.probe_weights import load_probe_model, shipped_runs

    model, note = probe_model(config, checkpoint_root, allow_untrained, data, weights_folder)
    if model is None:
        return {}, note
    models = {setting_label(config.kind, config.positions, config.rga_embedding): model}
    page_run = shipped_run(config, data, weights_folder)
    others = [
        entry
        for entry in shipped_runs(weights_folder)
        if (page_run is None or entry["run_id"] != page_run["run_id"])
        and entry["config"].get("profile") == config.profile
        and (entry["config"]["height"], entry["config"]["width"]) == (config.height, config.width)
    ]
    for entry in others:
        label = entry["label"]
        if label in models:
            label = f"{label}, seed {entry['config']['seed']}"
        models[label] = load_probe_model(entry["run_id"], weights_folder)
    if others:
        listed = "; ".join(_shipped_note(e, weights_folder) for e in others)
        note = Markdown(
            f"{note.data} Beside it, one row each, the other shipped models of the "
            f"{config.profile} profile: {listed}."
        )
    return models, note


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
