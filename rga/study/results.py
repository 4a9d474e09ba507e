"""Results files: one JSON per run, written atomically; many of them loaded as one DataFrame.

Layout: ``<results_root>/<experiment>/<run_id>.json``. The run id is derived from the
configuration (rga.engine.config.run_id), so different settings never overwrite each other and the
same setting run again replaces its own file. Keys (see `make_record`): config, run_id, label,
metrics {"z": {R1, R5, R10, mAP, mINP}, "z_hat": {...}} in percent, curve (one dict per epoch),
wall_time_s, train_time_s, eval_time_s, images_per_s, hardware, versions, git_commit, git_dirty,
dataset_statistics, data (``rga.data.dataset_summary``: the fingerprint of the data, part of the
run id, and per-split counts and fingerprints), created, and optionally attention_precision,
attention_parts (written by ``rga.study.recording.record_attention``), checkpoint and compile
({compiled, seconds, error} of a run with config.compile: its compile time is not in train_time_s). The
provenance (versions, git_commit, git_dirty, created: when training finished) is that of the
process that trained the run. Paths are relative to the repository: a data_root or checkpoint
outside it is left out, so no machine's folders end up in committed files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from rga.engine.atomic import atomic_write
from rga.engine.checkpoint import remove_stale_temporaries
from rga.engine.config import ADDED_FIELDS
from rga.engine.provenance import git_state, library_versions, repo_relative

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
    "data",
    "created",
)


def result_path(results_root: str | Path, experiment: str, run_id: str) -> Path:
    return Path(results_root) / experiment / f"{run_id}.json"


def write_result(record: dict, results_root: str | Path = "experiments/results") -> Path:
    """Write `record` to ``<results_root>/<experiment>/<run_id>.json`` (tmp file + os.replace);
    a file that already holds this content is not rewritten."""
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(
            f"results record lacks {missing}; build it with rga.study.results.make_record"
        )
    path = result_path(results_root, record["config"]["experiment"], record["run_id"])
    text = json.dumps(record, indent=1, default=_to_json) + "\n"
    if path.is_file() and path.read_text() == text:
        return path  # the same content: the file is left as it is, byte for byte
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    return _replace_text(path, text)


def write_json(path: str | Path, record: dict) -> Path:
    """Write `record` as indented JSON at `path` through a temporary file and os.replace, so a
    failed call leaves the old file as it was."""
    return _replace_text(Path(path), json.dumps(record, indent=1) + "\n")


def _replace_text(path: Path, text: str) -> Path:
    """Write `text` over `path` atomically (:mod:`rga.engine.atomic`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)
    return path


def read_result(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def load_results(paths_or_dir: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per results file: flattened metrics (``z.mAP``, ``z_hat.R1``), the headline
    metrics of the run's eval_feature (``mAP``, ``R1``, ...), every config field as a column
    (tuples stay tuples, e.g. ``positions``; a None ``kind``/``weights`` is the string "none",
    as pandas would make None a NaN that groupby drops; a field newer than the file gets the value
    earlier runs had, ``rga.engine.config.ADDED_FIELDS``), and run_id, label, wall_time_s,
    train_time_s, images_per_s, git_commit, device name, final training loss, data_fingerprint,
    the curve (a list of dicts) and attention_precision and attention_parts when present.

    `paths_or_dir`: a folder (searched recursively for ``*.json``), one file, or several. Two
    files of one run id (a run two experiments share) must hold the same results: otherwise a
    `DuplicateRunError` names both files, since one run id names one result.
    """
    if isinstance(paths_or_dir, (str, Path)):
        root = Path(paths_or_dir)
        paths = sorted(root.rglob("*.json")) if root.is_dir() else [root]
    else:
        paths = [Path(p) for p in paths_or_dir]
    records = [(p, read_result(p)) for p in paths]
    check_one_result_per_run(records)
    return pd.DataFrame([_flatten(record, p) for p, record in records])


class DuplicateRunError(ValueError):
    """Two results files of one run id hold different results."""


# What makes two files of one run the same result: what the run computed (its metrics, its data,
# its curve without the wall-clock keys, which differ between two trainings of the same numbers).
RESULT_KEYS = ("metrics", "curve", "data")
TIMING_KEYS = ("seconds", "images_per_s")


def check_one_result_per_run(records: Iterable[tuple[Path, dict]]) -> None:
    """Raise `DuplicateRunError` naming both files when two of ``records`` ((path, record)
    pairs) share a run id but differ in what the run computed (``RESULT_KEYS``)."""
    first: dict[str, tuple[Path, dict]] = {}
    for path, record in records:
        rid = record.get("run_id")
        if rid not in first:
            first[rid] = (path, record)
            continue
        other_path, other = first[rid]
        differ = [k for k in RESULT_KEYS if _computed(record, k) != _computed(other, k)]
        if differ:
            raise DuplicateRunError(
                f"run id {rid}: {other_path} and {path} hold different results (their "
                f"{', '.join(differ)} differ); one run id names one result: keep the file of the "
                "study's commit and move the other out of experiments/results/ (e.g. to "
                "experiments/archive/)"
            )


def _computed(record: dict, key: str):
    """``record[key]``; for the curve, each epoch without its wall-clock keys."""
    if key == "curve":
        return [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in record.get(key) or []]
    return record.get(key)


def _flatten(record: dict, path: Path) -> dict:
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in record["config"].items()}
    config = {**ADDED_FIELDS, **config}  # files older than a field ran with its ADDED_FIELDS value
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
        train_time_s=record.get("train_time_s"),
        images_per_s=record.get("images_per_s"),
        git_commit=record.get("git_commit"),
        git_dirty=record.get("git_dirty"),
        hardware=record.get("hardware", {}).get("device_name"),
        created=record.get("created"),
        data_fingerprint=(record.get("data") or {}).get("fingerprint"),
        curve=curve,
        attention_precision=record.get("attention_precision"),
        attention_parts=record.get("attention_parts"),
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
    data: dict,
    hardware: dict,
    versions: dict | None = None,
    git_commit: str | None = None,
    git_dirty: bool | None = None,
    created: str | None = None,
    **extra,
) -> dict:
    """The results record of one run (see the module docstring for the keys).

    `data`: ``rga.data.dataset_summary`` of the data trained on. `versions`, `git_commit`,
    `git_dirty`, `created`: those of the training (``rga.engine.train.summary``); None takes them
    from this process and now. ``config.data_root`` is recorded relative to the repository, or
    left out when the data lies outside it.
    """
    images = sum(e["images_per_s"] * e["seconds"] for e in curve)
    seconds = sum(e["seconds"] for e in curve)
    if git_commit is None:
        git_commit, git_dirty = git_state()
    return {
        "config": portable_config(config.to_dict()),
        "run_id": run_id,
        "label": label,
        "metrics": metrics,
        "curve": curve,
        "wall_time_s": train_time_s + eval_time_s,
        "train_time_s": train_time_s,
        "eval_time_s": eval_time_s,
        "images_per_s": images / seconds if seconds else None,
        "hardware": hardware,
        "versions": versions or library_versions(),
        "git_commit": git_commit,
        "git_dirty": git_dirty,
        "dataset_statistics": dataset_statistics,
        "data": data,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def portable_config(config: dict) -> dict:
    """`config` (a ``RunConfig.to_dict()``) with ``data_root`` relative to the repository, or
    without it when the data lies outside (the data's fingerprint identifies it either way)."""
    relative = repo_relative(config["data_root"]) if "data_root" in config else None
    return {
        name: relative if name == "data_root" else value
        for name, value in config.items()
        if name != "data_root" or relative is not None
    }


def _to_json(value):
    """json.dumps fallback for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
