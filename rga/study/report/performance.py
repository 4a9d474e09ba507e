"""The Performance page: benchmark records as tables, each ratio beside its target with a verdict.

Reads the records of ``benchmarks/results/*.json`` (:func:`rga.study.report.load_benchmarks`); the
targets are those the benchmark itself stored. Nothing is measured here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["benchmark_tables", "load_benchmarks", "target_checks"]


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
                "measured": f"{r[key]:.2f}x",
                "target": f"{'≤' if at_most else '≥'} {limit}x" if limit is not None else "",
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
                    "measured": f"{res[name]['ratio_to_argsort']:.2f}x",
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
                "measured": f"{theirs['seconds'] / ours['seconds']:.1f}x",
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
                "measured": f"{agreement['max_abs_diff_cmc']:.1e}; {agreement['abs_diff_mAP']:.1e}",
                "target": f"≤ {agreement['tolerance']:g}",
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


def benchmark_tables(record: dict) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A benchmark record as (its measurements, {section: table}) for display.

    Measurements are ``rows`` (a list of dicts, one per variant) or ``results`` ({variant:
    {quantity: value}}); every other dict-valued entry (settings, config, machine, ratios,
    targets) becomes a two-column table of its own, nested dicts as "outer: inner" rows.
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
    details = {}
    for key, value in record.items():
        if not isinstance(value, dict) or key == "results":
            continue
        flat = _flatten(value)
        details[key] = pd.DataFrame(
            {
                "value": [
                    ", ".join(map(str, v)) if isinstance(v, list) else v for v in flat.values()
                ]
            },
            index=pd.Index(list(flat), name=key),
        )
    return main, details


def _flatten(values: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a: b": 1}: nested entries as rows of one two-column table."""
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
