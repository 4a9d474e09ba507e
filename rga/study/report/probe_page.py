"""What the Probe page says about its inputs: where its views come from, and how to get the
checkpoint the interactive probe needs.

The page draws its static views from the attention arrays the study commits
(``rga.study.report.attention_arrays``); the sliders need the trained model, whose checkpoint git
ignores, so a fresh clone has none. Each note here is plain text (Markdown) naming the run, the
file and the command; none is an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from IPython.display import Markdown

from rga.engine.checkpoint import FINAL
from rga.engine.config import PROFILES, RunConfig, make_config, model_label, run_id
from rga.engine.evaluate import load_trained
from rga.study.report.attention_arrays import AttentionArrays, attention_path
from rga.study.report.paths import _relative, checkpoints_dir

__all__ = ["probe_model", "saved_views_note", "train_command"]

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


def saved_views_note(config: RunConfig, saved: AttentionArrays | None) -> Markdown:
    """Where the static views come from, or which run writes them and how."""
    rid = run_id(config)
    target = _relative(attention_path(EXPERIMENT, rid))
    command = train_command(config)
    if saved is not None and saved.relations:
        return Markdown(
            f"The views below are drawn from the arrays the study saved after training run "
            f"`{rid}` ({model_label(config)}, {config.profile} profile): the spatial gates and the "
            f"relation rows and columns of {len(saved.images)} test images at "
            f"{len(saved.points)} fixed positions per stage."
        )
    uses_relations = config.kind in ("rga-sc", "rga-s")
    what = (
        "the relation rows and columns of the study's test images at fixed positions per stage"
        if uses_relations
        else "its spatial gates (this model has no spatial relations to draw)"
    )
    have = (
        f"The repository holds only the gates of run `{rid}`, saved before relations were "
        "recorded: the views below show those; the relation maps appear once the run is "
        "recorded again."
        if saved is not None
        else f"Nothing of run `{rid}` is in the repository yet."
    )
    return Markdown(
        f"{have} The study's recording step writes {what} into `{target}` when run "
        f"`{rid}` ({model_label(config)}, {config.profile} profile) is recorded, from its "
        f"checkpoint, after training it where there is none:\n\n```bash\n{command}\n```\n\n"
        f"(or `papermill experiments/{EXPERIMENT}.ipynb out.ipynb -p profile {config.profile}`, "
        "which records every model of that notebook)."
    )


def probe_model(
    config: RunConfig, checkpoint_root: str | Path | None = None, allow_untrained: bool = False
):
    """The model the interactive probe shows, and a note saying which it is.

    Returns (model or None, Markdown): the trained model of ``config`` from
    ``<checkpoint_root>/<run_id>/final.pt`` (default root: ``checkpoints``); without it, an
    untrained network of the same configuration when ``allow_untrained``, else None.
    """
    from rga.engine.build import build_model

    root = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    rid = run_id(config)
    path = root / rid / FINAL
    trained = load_trained(config, root)
    if trained is not None:
        return trained, Markdown(
            f"Checkpoint found: `{_relative(path)}`. Run the next cell for the sliders."
        )
    how = (
        f"The interactive probe needs the trained model, `{_relative(path)}`, which is not "
        "here (checkpoints are not in the repository; git ignores them). Train the run, then "
        f"open this page in JupyterLab and run all cells:\n\n```bash\n{train_command(config)}\n"
        "jupyter lab book/probe.ipynb\n```\n\nTo point the page at another run or folder, "
        "change the parameters in the first code cell (`checkpoint_root` for the folder)."
    )
    if not allow_untrained:
        return None, Markdown(how + " With `allow_untrained = True` the sliders also run on an "
                              "untrained network (the mechanics, not what RGA learns).")  # fmt: skip
    model = build_model(dataclasses.replace(config, weights=None), num_classes=10).eval()
    return model, Markdown(
        how + " Until then the sliders run on an **untrained** network of the same "
        "configuration (`allow_untrained = True`): they show the mechanics, not what RGA learns."
    )
