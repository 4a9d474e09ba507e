"""The Probe page (``book/probe.ipynb``): what one attention module does to one image.

The page's text, and the models and images its views show:

* the answer: how much of each module's spatial gate falls on the person (:func:`answer`);
* the notes that say where the views and the sliders' models come from: the run's checkpoint
  when it is here (git ignores checkpoints), else the half-precision weights the repository
  ships (``rga.study.probe_weights``), so a fresh clone runs the sliders without training
  (:func:`saved_views_note`, :func:`probe_models`);
* the test images the sliders probe (:func:`probe_images`).

The views themselves are drawn by ``rga.study.report.probe_views``, re-exported here so that the
page calls one module; which run the page shows, and where its files are, is
``rga.study.report.probe_page``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown

from rga.engine.checkpoint import FINAL
from rga.engine.config import RunConfig, run_id
from rga.engine.evaluate import load_trained, trained_fingerprints
from rga.study.report.attention_arrays import AttentionArrays, attention_path
from rga.study.report.attention_figures import listed, person_scores, saved_stages_figure
from rga.study.report.labels import setting_label
from rga.study.report.paths import _relative, checkpoints_dir
from rga.study.report.probe_page import (
    EXPERIMENT,
    run_prefix,
    saved_run_arrays,
    shipped_run,
    train_command,
)
from rga.study.report.probe_views import (
    attention_view,
    compare_probe_view,
    probe_view,
    probe_widget,
    saved_probe_figure,
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
