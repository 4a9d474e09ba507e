"""The Performance page: benchmark records as tables, each ratio beside its target with a verdict.

Reads the records of ``benchmarks/results/*.json`` (:func:`rga.study.report.load_benchmarks`); the
targets are those the benchmark itself stored. Nothing is measured here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from rga.study.report.formats import count, decimal, format_field, percent, ratio, scientific

__all__ = ["benchmark_details", "benchmark_tables", "load_benchmarks", "target_checks"]


def _check(value: float, limit: float | None, at_most: bool) -> str:
    if limit is None:
        return ""
    ok = value <= limit if at_most else value >= limit
    return "meets target" if ok else "misses target"


def _model_rows(record: dict) -> list[dict]:
    r, t = record.get("ratios") or {}, record.get("targets") or {}
    settings = record.get("settings") or {}
    where = f"bench_model, {settings.get('device', '?')}, batch {settings.get('batch', '?')}"
    if settings.get("compile"):
        return _compiled_model_rows(r, t, where.replace("bench_model", "bench_model --compile"))
    specs = [
        ("RGA-SC factorised / baseline, training step time", "step_time_vs_baseline",
         "step_time_vs_baseline_max", True),
        ("RGA-SC factorised / baseline, peak memory", "peak_memory_vs_baseline",
         "peak_memory_vs_baseline_max", True),
        ("RGA-SC materialised / factorised, training step time", "speedup_vs_materialised",
         "speedup_vs_materialised_min", False),
        ("RGA-SC materialised / factorised, peak memory", "memory_saving_vs_materialised",
         None, False),
        ("RGA-SC materialised / factorised, inference time", "inference_speedup_vs_materialised",
         None, False),
        ("RGA-SC factorised / baseline, inference time", "inference_vs_baseline", None, True),
    ]  # fmt: skip
    rows = []
    for quantity, key, target_key, at_most in specs:
        if key not in r:
            continue
        limit = t.get(target_key) if target_key else None
        rows.append(
            {
                "quantity": quantity,
                "measured": ratio(r[key]),
                "target": f"{'≤' if at_most else '≥'} {ratio(limit)}" if limit is not None else "",
                "verdict": _check(r[key], limit, at_most),
                "benchmark": where,
            }
        )
    return rows


def _compiled_model_rows(r: dict, t: dict, where: str) -> list[dict]:
    """bench_model --compile: RGA-SC / baseline with both compiled (the target), and eager."""
    rows = []
    for quantity, key, limit in (
        ("compiled RGA-SC factorised / compiled baseline, training step time",
         "step_time_vs_baseline", t.get("step_time_vs_baseline_max")),
        ("RGA-SC factorised / baseline, training step time, eager (same process)",
         "eager_step_time_vs_baseline", None),
    ):  # fmt: skip
        if key in r:
            rows.append(
                {
                    "quantity": quantity,
                    "measured": f"{r[key]:.2f}x",
                    "target": f"≤ {limit}x" if limit is not None else "",
                    "verdict": _check(r[key], limit, True),
                    "benchmark": where,
                }
            )
    return rows


def _training_rows(record: dict) -> list[dict]:
    """Per model and thread count: a whole cpu-profile run's time, eager before / tuned eager and
    eager before / compiled (each compile cache state), against the run-speedup target."""
    target = (record.get("targets") or {}).get("run_speedup_min")
    rows = []
    for row in record.get("rows") or []:
        if row["variant"] == "eager":
            continue
        rows.append(
            {
                "quantity": f"{row['model']}, {row['threads']} thread(s): cpu-profile run time, "
                f"eager before / {row['variant']}",
                "measured": f"{row['run_speedup']:.2f}x",
                "target": f"≥ {target}x" if target is not None else "",
                "verdict": _check(row["run_speedup"], target, False),
                "benchmark": f"bench_training, load {row['load_1min']:.1f}",
            }
        )
    return rows


def _evaluation_rows(record: dict) -> list[dict]:
    res = record.get("results") or {}
    where = "bench_evaluation"
    rows = []
    for name, what in (
        ("evaluate_rank step", "evaluate_rank / argsort of the distance matrix (random features)"),
        (
            "evaluate_rank informative",
            "evaluate_rank / argsort (positives ranked high, as with a trained model)",
        ),
    ):
        if name in res:
            rows.append(
                {
                    "quantity": what,
                    "measured": ratio(res[name]["ratio_to_argsort"]),
                    "target": "",
                    "verdict": "",
                    "benchmark": where,
                }
            )
    ours, theirs = (
        res.get("evaluate_rank, junk removed"),
        res.get("torchreid evaluate_rank (python)"),
    )
    agreement = record.get("torchreid_agreement")
    if ours and theirs:
        version = (agreement or {}).get("torchreid_version", "?")
        rows.append(
            {
                "quantity": f"torchreid {version} evaluate_rank / ours, same problem",
                "measured": ratio(theirs["seconds"] / ours["seconds"], 1),
                "target": "",
                "verdict": "",
                "benchmark": where,
            }
        )
    if agreement:
        rows.append(
            {
                "quantity": "largest |CMC difference| to torchreid, ranks 1-"
                f"{agreement['ranks_compared']}; |mAP difference|",
                "measured": f"{scientific(agreement['max_abs_diff_cmc'], 2)}; "
                f"{scientific(agreement['abs_diff_mAP'], 2)}",
                "target": f"≤ {scientific(agreement['tolerance'])}",
                "verdict": "numbers agree" if agreement["agree"] else "numbers DISAGREE",
                "benchmark": where,
            }
        )
    elif record.get("torchreid", {}).get("skipped"):
        rows.append(
            {
                "quantity": "torchreid comparison",
                "measured": "skipped",
                "target": "",
                "verdict": record["torchreid"]["skipped"],
                "benchmark": where,
            }
        )
    return rows


def target_checks(records: dict[str, dict]) -> pd.DataFrame:
    """One row per headline ratio of the stored benchmarks: quantity, measured, target, verdict
    (empty where the issue set no target), benchmark (which record, on what device)."""
    rows = []
    for name, record in records.items():
        if record.get("benchmark", name) == "bench_model":
            rows += _model_rows(record)
        elif record.get("benchmark", name) == "bench_evaluation":
            rows += _evaluation_rows(record)
        elif record.get("benchmark", name) == "bench_training":
            rows += _training_rows(record)
    return pd.DataFrame(rows, columns=["quantity", "measured", "target", "verdict", "benchmark"])


# The measurement columns of the benchmark records: a readable name and a format each. mAP and
# rank1 of bench_evaluation are fractions; they are shown in percent like every other mAP.
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
        return "–"
    if name in MEASUREMENT_COLUMNS:
        return MEASUREMENT_COLUMNS[name][1](value)
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return count(value)
    if isinstance(value, float):  # a measurement without its own format: three significant places
        return f"{value:.3g}"
    return format_field(name, value)


def benchmark_tables(record: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """A benchmark record as (its measurements as a text table, {section: one line of text}).

    Measurements are ``rows`` (a list of dicts, one per variant) or ``results`` ({variant:
    {quantity: value}}), each column formatted for what it holds (:data:`MEASUREMENT_COLUMNS`)
    and named readably. Every other dict-valued entry (settings, config, machine, ratios,
    targets) becomes a line "name = value, ..." (:func:`benchmark_details`; nested dicts as
    "outer: inner = value"), which wraps where a transposed table would run off the page.
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
    {"settings": "device = cpu, arch = resnet50, batch = 16, ...", ...}; lists of words joined
    with "; ", tiny and rate-like numbers in scientific notation (a tolerance of 1e-4 reads
    "1e-4", an agreement of 1.8e-9 "1.787e-9")."""
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
    """{"a": {"b": 1}} -> {"a: b": 1}: nested entries as entries of one line."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}: "))
        else:
            flat[name] = value
    return flat


def load_benchmarks(root: str | Path | None = None) -> dict[str, dict]:
    """``benchmarks/results/*.json`` as {file stem: record}; a record holds at least ``rows``
    (a list of dicts) and usually ``benchmark``, ``settings``, ``machine``, ``created``."""
    from rga.study.report.paths import benchmarks_dir

    folder = benchmarks_dir(root)
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
