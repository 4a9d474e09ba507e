"""benchmarks/bench_training.py: a whole run's total from measured step, data, compile and
checkpoint times (the arithmetic the target is judged on), on a hand-made measurement."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load_bench_training():
    spec = importlib.util.spec_from_file_location(
        "bench_training", BENCHMARKS / "bench_training.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MEASURED = {
    "model": "rga-sc",
    "threads": 1,
    "batch": 64,
    "epochs": 70,
    "steps_per_epoch": 12,
    "data_s_before": 0.08,
    "data_s_now": 0.05,
    "checkpoint_s": 0.1,
    "step_s": {"eager": 0.8, "tuned": 0.6, "compiled": 0.55},
    "load_end": 1.0,
}


def test_run_totals_add_compile_steps_data_and_checkpoints():
    bench = _load_bench_training()
    rows = {r["variant"]: r for r in bench.run_totals(MEASURED, {"empty": 200.0, "warm": 20.0})}
    assert list(rows) == ["eager", "tuned", "compiled, empty cache", "compiled, warm cache"]
    steps = 70 * 12
    eager = steps * (0.08 + 0.8) + 70 * 0.1  # the eager run draws its data as before
    assert rows["eager"]["run_total_s"] == pytest.approx(eager)
    assert rows["tuned"]["run_total_s"] == pytest.approx(steps * (0.05 + 0.6) + 7)
    warm = 20 + steps * (0.05 + 0.55) + 7
    assert rows["compiled, warm cache"]["run_total_s"] == pytest.approx(warm)
    assert rows["compiled, warm cache"]["run_speedup"] == pytest.approx(eager / warm)
    assert rows["compiled, empty cache"]["compile_s"] == 200.0
    assert rows["eager"]["run_images_per_s"] == pytest.approx(steps * 64 / eager)


def test_without_the_eager_run_speedups_are_against_the_first_variant():
    """The 192x96 comparison (--variants nchw tuned compiled) has no eager run."""
    bench = _load_bench_training()
    measured = {**MEASURED, "step_s": {"nchw": 0.7, "tuned": 0.6}}
    rows = {r["variant"]: r for r in bench.run_totals(measured, {})}
    steps = 70 * 12
    nchw, tuned = steps * 0.75 + 7, steps * 0.65 + 7
    assert rows["nchw"]["run_speedup"] == 1.0 and rows["nchw"]["speedup_over"] == "nchw"
    assert rows["tuned"]["run_speedup"] == pytest.approx(nchw / tuned)
