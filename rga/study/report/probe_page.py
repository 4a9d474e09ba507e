"""What the Probe page says about its inputs: where its views come from, and which models the
interactive probe runs on.

The page draws its static views from the attention arrays the study commits
(``rga.study.report.attention_arrays``). The sliders need trained models: the run's checkpoint
when it is here (git ignores checkpoints), else the half-precision weights the repository ships
(``rga.study.probe_weights``), so a fresh clone runs them without training. Each note here is
plain text (Markdown) naming the run, the file and the command; none is an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from IPython.display import Markdown

from rga.engine.checkpoint import FINAL
from rga.engine.config import (
    DATA_TAG_LENGTH,
    PROFILES,
    RunConfig,
    make_config,
    run_id,
)
from rga.engine.evaluate import load_trained, trained_fingerprints
from rga.study.report.attention_arrays import (
    AttentionArrays,
    attention_path,
    find_attention_arrays,
    load_attention_arrays,
)
from rga.study.report.labels import setting_label
from rga.study.report.paths import _relative, checkpoints_dir

__all__ = [
    "probe_model",
    "probe_models",
    "run_prefix",
    "saved_run_arrays",
    "saved_views_note",
    "shipped_run",
    "train_command",
]

EXPERIMENT = "attention_variants"  # where the page's run is recorded


def train_command(config: RunConfig) -> str:
    """The command that trains (or reuses) the run of ``config`` and records it into the
    experiment "attention_variants": its profile, model, seed, and any other changed field."""
    known = config.profile in PROFILES
    base = make_config(config.profile, epochs=config.epochs) if known else RunConfig()
    fields = {"kind": config.kind or "none", "positions": ",".join(map(str, config.positions))}
    fields |= {"seed": config.seed, "experiment": EXPERIMENT}
    if known and config.epochs != PROFILES[config.profile].epochs:
        fields["epochs"] = config.epochs  # make_config rescales the schedule to it
    for field in dataclasses.fields(RunConfig):
        value = getattr(config, field.name)
        if field.name not in {*fields, "profile", "data_root"} and value != getattr(
            base, field.name
        ):
            fields[field.name] = ",".join(map(str, value)) if isinstance(value, tuple) else value
    if not config.positions:
        del fields["positions"]
    overrides = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"python -m rga.study.train {config.profile} {overrides}"


def run_prefix(config: RunConfig) -> str:
    """The run id of `config` without its data tag: ``...-s0-1a2b3c4d-d`` (the tag follows)."""
    return run_id(config, "0" * DATA_TAG_LENGTH)[:-DATA_TAG_LENGTH]


def saved_run_arrays(config: RunConfig, data: str = "") -> AttentionArrays | None:
    """The committed attention arrays of `config`'s run on the data tagged `data` (any data
    when empty): a copy with relation maps first (an older recording of the same run may lack
    them), then the one in "attention_variants"; None when there are none."""
    prefix = run_prefix(config) + data
    paths = [p for p in find_attention_arrays(None) if p.stem.startswith(prefix)]
    paths.sort(key=lambda p: (p.parent.parent.name != EXPERIMENT, str(p)))
    saved = [load_attention_arrays(p) for p in paths]
    with_relations = [s for s in saved if s.relations]
    return (with_relations or saved or [None])[0]


def saved_views_note(
    config: RunConfig, saved: AttentionArrays | None, examples: int = 3
) -> Markdown:
    """What the static views below show, from which file; where relations are not saved yet,
    which run writes them and the command."""
    rid = saved.meta["run_id"] if saved is not None else run_prefix(config) + "<data>"
    folder = _relative(attention_path(EXPERIMENT, rid).parent)
    setting = setting_label(config.kind, config.positions, config.rga_embedding)
    run = f"run `{rid}` ({setting}, {config.profile} profile)"
    if saved is not None and saved.relations:
        n = min(examples, len(saved.images))
        return Markdown(
            f"Drawn from the arrays the study saved after training {run}: one figure per test "
            f"image ({n} of {len(saved.images)}), one row per module. The first column marks the "
            f"positions i, numbered 1 to {len(saved.points)}: fixed points of the image (the "
            "centre line at head, chest and knee height of a well-centred person), each in the "
            "cell of that module's grid that holds it, so a loosely cropped person can be "
            "missed. Then the module's spatial gate, on the fixed 0-1 colour scale of the "
            "Attention maps page, and for each position its row R(i, :) and column R(:, i) with "
            "i marked. Relation values are unbounded (RGA has no softmax), so each relation map "
            "has its own colour range: read where it is high, not how high."
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


def shipped_run(config: RunConfig, data: str = "", folder: str | Path | None = None) -> dict | None:
    """The manifest entry of the shipped weights of `config`'s run on the data tagged `data`
    (any data when empty; ``rga.study.probe_weights``), or None when they are not shipped."""
    from rga.study.probe_weights import shipped_runs

    prefix = run_prefix(config) + data
    found = [r for r in shipped_runs(folder) if r["run_id"].startswith(prefix)]
    return found[0] if found else None


def _shipped_note(entry: dict, folder: str | Path | None) -> str:
    from rga.study.probe_weights import probe_weights_dir

    path = _relative(probe_weights_dir(folder) / entry["file"])
    return (
        f"`{path}` ({entry['label']}, {entry['dtype']}, {entry['bytes'] / 1e6:.1f} MB, trained at "
        f"commit {entry['commit'][:7]})"
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
