"""Which run the Probe page shows, and where its files are: the command that trains it, its
committed attention arrays, its shipped weights.

Data-side lookups only; the page's notes, figures and sliders are ``rga.study.pages.probe``.
The page draws its static views from the attention arrays the study commits
(``rga.study.report.attention_arrays``); its sliders run on the run's checkpoint when it is here
(git ignores checkpoints), else on the half-precision weights the repository ships
(``rga.study.probe_weights``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rga.engine.config import (
    DATA_TAG_LENGTH,
    PROFILES,
    RunConfig,
    make_config,
    run_id,
)
from rga.study.report.attention_arrays import (
    AttentionArrays,
    find_attention_arrays,
    load_attention_arrays,
)

__all__ = [
    "EXPERIMENT",
    "run_prefix",
    "saved_run_arrays",
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


def shipped_run(config: RunConfig, data: str = "", folder: str | Path | None = None) -> dict | None:
    """The manifest entry of the shipped weights of `config`'s run on the data tagged `data`
    (any data when empty; ``rga.study.probe_weights``), or None when they are not shipped."""
    from rga.study.probe_weights import shipped_runs

    prefix = run_prefix(config) + data
    found = [r for r in shipped_runs(folder) if r["run_id"].startswith(prefix)]
    return found[0] if found else None
