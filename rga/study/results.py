"""Results files: one JSON per run, written atomically; many of them loaded as one DataFrame.

Layout: ``<results_root>/<experiment>/<run_id>.json``. The run id is derived from the
configuration (rga.engine.config.run_id), so different settings never overwrite each other and the
same setting run again replaces its own file. Keys (see `make_record`): config, run_id, label,
metrics {"z": {R1, R5, R10, mAP, mINP}, "z_hat": {...}} in percent, curve (one dict per epoch),
wall_time_s, train_time_s, eval_time_s, images_per_s, hardware, versions, git_commit, git_dirty,
dataset_statistics, created, compile (None, or {compiled, seconds, error} of a run with
config.compile: its compile time is not in train_time_s), and optionally attention_precision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from rga.engine.provenance import git_state, library_versions

METRIC_NAMES = ("R1", "R5", "R10", "mAP", "mINP")
FEATURES = ("z", "z_hat")
REQUIRED_KEYS = (
    "config",
    "run_id",
    "label",
    "metrics",
    "curve",
    "wall_time_s",
    "images_per_s",
    "hardware",
    "versions",
    "git_commit",
    "git_dirty",
    "dataset_statistics",
    "created",
)


def result_path(results_root: str | Path, experiment: str, run_id: str) -> Path:
    return Path(results_root) / experiment / f"{run_id}.json"


def write_result(record: dict, results_root: str | Path = "experiments/results") -> Path:
    """Write `record` to ``<results_root>/<experiment>/<run_id>.json`` (tmp file + os.replace)."""
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(
            f"results record lacks {missing}; build it with rga.study.results.make_record"
        )
    path = result_path(results_root, record["config"]["experiment"], record["run_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1, default=_to_json) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_result(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def load_results(paths_or_dir: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per results file: flattened metrics (``z.mAP``, ``z_hat.R1``), the headline
    metrics of the run's eval_feature (``mAP``, ``R1``, ...), every config field as a column
    (tuples stay tuples, e.g. ``positions``; a None ``kind``/``weights`` is the string "none",
    as pandas would make None a NaN that groupby drops), and run_id, label, wall_time_s, images_per_s,
    git_commit, device name, final training loss, the curve (a list of dicts) and
    attention_precision when present.

    `paths_or_dir`: a folder (searched recursively for ``*.json``), one file, or several.
    """
    if isinstance(paths_or_dir, (str, Path)):
        root = Path(paths_or_dir)
        paths = sorted(root.rglob("*.json")) if root.is_dir() else [root]
    else:
        paths = [Path(p) for p in paths_or_dir]
    rows = [_flatten(read_result(p), p) for p in paths]
    return pd.DataFrame(rows)


def _flatten(record: dict, path: Path) -> dict:
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in record["config"].items()}
    row = dict(config)
    for name in ("kind", "weights"):  # None would become NaN, which groupby drops
        if row.get(name) is None:
            row[name] = "none"
    row.update(run_id=record["run_id"], label=record["label"])
    for feature in FEATURES:
        for name in METRIC_NAMES:
            row[f"{feature}.{name}"] = record["metrics"].get(feature, {}).get(name)
    headline = record["metrics"].get(config.get("eval_feature", "z"), {})
    row.update({name: headline.get(name) for name in METRIC_NAMES})
    curve = record.get("curve") or []
    row.update(
        final_loss=curve[-1]["loss"] if curve else None,
        epochs_trained=len(curve),
        wall_time_s=record.get("wall_time_s"),
        images_per_s=record.get("images_per_s"),
        git_commit=record.get("git_commit"),
        git_dirty=record.get("git_dirty"),
        hardware=record.get("hardware", {}).get("device_name"),
        created=record.get("created"),
        curve=curve,
        attention_precision=record.get("attention_precision"),
        path=str(path),
    )
    return row


def make_record(
    config,
    *,
    run_id: str,
    label: str,
    metrics: dict,
    curve: list[dict],
    train_time_s: float,
    eval_time_s: float,
    dataset_statistics: dict,
    hardware: dict,
    **extra,
) -> dict:
    """The results record of one run (see the module docstring for the keys)."""
    images = sum(e["images_per_s"] * e["seconds"] for e in curve)
    seconds = sum(e["seconds"] for e in curve)
    commit, dirty = git_state()
    return {
        "config": config.to_dict(),
        "run_id": run_id,
        "label": label,
        "metrics": metrics,
        "curve": curve,
        "wall_time_s": train_time_s + eval_time_s,
        "train_time_s": train_time_s,
        "eval_time_s": eval_time_s,
        "images_per_s": images / seconds if seconds else None,
        "hardware": hardware,
        "versions": library_versions(),
        "git_commit": commit,
        "git_dirty": dirty,
        "dataset_statistics": dataset_statistics,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def _to_json(value):
    """json.dumps fallback for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
