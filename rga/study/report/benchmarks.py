"""The benchmark records (``benchmarks/results/*.json``, written by ``benchmarks/bench_*.py``):
read, and written out in full as text tables (every measurement and setting a record holds)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rga.study.report.formats import MISSING, count, decimal, format_field, percent, ratio
from rga.study.report.paths import benchmarks_dir

__all__ = ["MEASUREMENT_COLUMNS", "benchmark_details", "benchmark_tables", "load_benchmarks"]


def load_benchmarks(root: str | Path | None = None) -> dict[str, dict]:
    """``benchmarks/results/*.json`` as {file stem: record}; {} when the folder is missing."""
    folder = benchmarks_dir(root)
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


# The measurement columns of the full records (bench_evaluation's mAP and rank1 are fractions;
# shown in percent like every other mAP).
MEASUREMENT_COLUMNS = {
    "run": ("run", str),
    "variant": ("variant", str),
    "seconds": ("seconds", lambda v: decimal(v, 2)),
    "floor": ("compared with", str),
    "ratio_to_argsort": ("time / floor", ratio),
    "mAP": ("mAP (%)", lambda v: percent(100 * float(v), 2)),
    "rank1": ("R1 (%)", lambda v: percent(100 * float(v), 2)),
    "num_valid_queries": ("valid queries", count),
    "step_time_s": ("training step (s)", lambda v: decimal(v, 2)),
    "train_images_per_s": ("training images/s", lambda v: decimal(v, 1)),
    "peak_memory_mib": ("peak memory (MiB)", count),
    "step_memory_mib": ("memory of a step (MiB)", count),
    "inference_images_per_s": ("inference images/s", lambda v: decimal(v, 1)),
    "parameters": ("parameters", count),
    "model": ("model", str),
    "threads": ("threads", count),
    "first_step_s": ("first step (s)", lambda v: decimal(v, 1)),
    "compile_s": ("compile (s)", lambda v: decimal(v, 1)),
    "step_images_per_s": ("step images/s", lambda v: decimal(v, 1)),
    "images_per_s": ("images/s", lambda v: decimal(v, 1)),
    "data_s": ("data per batch (s)", lambda v: decimal(v, 3)),
    "run_total_s": ("whole run (s)", lambda v: decimal(v, 0)),
    "run_speedup": ("whole run vs eager", ratio),
    "load_1min": ("load (1 min)", lambda v: decimal(v, 1)),
}


def _cell(name: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return MISSING
    if name in MEASUREMENT_COLUMNS:
        return MEASUREMENT_COLUMNS[name][1](value)
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return count(value)
    if isinstance(value, float):  # a measurement without its own format: three significant places
        return f"{value:.3g}"
    return format_field(name, value)


def benchmark_tables(record: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """A whole record as (its measurements as a text table, {section: one line of text}).

    Measurements are ``rows`` (a list of dicts, one per variant) or ``results`` ({variant:
    {quantity: value}}), each column formatted for what it holds (:data:`MEASUREMENT_COLUMNS`).
    Every other dict-valued entry (settings, machine, ratios, ...) becomes a line
    "name = value, ..." (:func:`benchmark_details`).
    """
    main = pd.DataFrame()
    if isinstance(record.get("rows"), list):
        main = pd.DataFrame(record["rows"])
    elif isinstance(record.get("results"), dict):
        main = (
            pd.DataFrame.from_dict(record["results"], orient="index")
            .rename_axis("run")
            .reset_index()
        )
    elif isinstance(record.get("results"), list):
        main = pd.DataFrame(record["results"])
    main = pd.DataFrame(
        {MEASUREMENT_COLUMNS.get(c, (c,))[0]: [_cell(c, v) for v in main[c]] for c in main.columns}
    )
    return main, benchmark_details(record)


def benchmark_details(record: dict) -> dict[str, str]:
    """Every dict-valued entry of a record but its measurements, as one line each:
    {"settings": "device = cpu, arch = resnet50, batch = 16, ...", ...}; nested dicts as
    "outer: inner = value", tiny numbers in scientific notation (a tolerance of 1e-4 reads
    "1e-4", never "0.0")."""
    return {
        key: ", ".join(f"{name} = {_detail(name, v)}" for name, v in _flatten(value).items())
        for key, value in record.items()
        if isinstance(value, dict) and key != "results"
    }


def _detail(name: str, value) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value) if value else "none"
    if isinstance(value, float) and (value == 0 or abs(value) >= 1e-2):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and name != "seed":
        return count(value)
    return format_field(name, value)


def _flatten(values: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a: b": 1}."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}: "))
        else:
            flat[name] = value
    return flat
