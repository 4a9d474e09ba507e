"""The Performance page's target table against hand-made benchmark records."""

from rga.study.report.performance import benchmark_tables, target_checks

MODEL = {
    "benchmark": "bench_model",
    "settings": {"device": "cpu", "batch": 16},
    "ratios": {
        "step_time_vs_baseline": 1.25,
        "peak_memory_vs_baseline": 1.4,
        "speedup_vs_materialised": 2.5,
        "inference_vs_baseline": 1.1,
    },
    "targets": {
        "step_time_vs_baseline_max": 1.3,
        "peak_memory_vs_baseline_max": 1.3,
        "speedup_vs_materialised_min": 2.5,
    },
}
EVALUATION = {
    "benchmark": "bench_evaluation",
    "results": {
        "evaluate_rank step": {"seconds": 1.0, "ratio_to_argsort": 0.4},
        "evaluate_rank, junk removed": {"seconds": 0.5, "ratio_to_argsort": 0.3},
        "torchreid evaluate_rank (python)": {"seconds": 5.0, "ratio_to_argsort": 3.0},
    },
    "torchreid_agreement": {
        "ranks_compared": 50,
        "max_abs_diff_cmc": 2e-8,
        "abs_diff_mAP": 0.0,
        "tolerance": 1e-4,
        "agree": True,
        "torchreid_version": "0.2.5",
    },
}


def test_each_ratio_is_judged_against_its_stored_target():
    table = target_checks({"bench_model": MODEL}).set_index("quantity")
    step = table.loc["RGA-SC factorised / baseline, training step time"]
    assert (step["measured"], step["target"], step["verdict"]) == (
        "1.25x",
        "≤ 1.30x",
        "meets target",
    )
    memory = table.loc["RGA-SC factorised / baseline, peak memory"]
    assert memory["verdict"] == "misses target"
    assert (
        table.loc["RGA-SC materialised / factorised, training step time", "verdict"]
        == "meets target"
    )
    assert table.loc["RGA-SC factorised / baseline, inference time", "target"] == ""
    assert "cpu, batch 16" in step["benchmark"]


def test_evaluation_rows_compare_with_torchreid_and_report_agreement():
    table = target_checks({"bench_evaluation": EVALUATION})
    speed = table[table["quantity"].str.startswith("torchreid 0.2.5")].iloc[0]
    assert speed["measured"] == "10.0x"
    agree = table[table["quantity"].str.startswith("largest |CMC difference|")].iloc[0]
    assert agree["verdict"] == "numbers agree" and agree["measured"] == "2e-8; 0"
    assert agree["target"] == "≤ 1e-4"  # a tolerance of 1e-4, never "0.0"
    skipped = dict(EVALUATION, torchreid_agreement=None, torchreid={"skipped": "offline"})
    rows = target_checks({"bench_evaluation": skipped})
    assert rows.iloc[-1]["measured"] == "skipped" and rows.iloc[-1]["verdict"] == "offline"


def test_benchmark_tables_format_each_column_and_keep_small_numbers():
    from rga.study.report.performance import benchmark_tables

    record = dict(
        EVALUATION,
        results={"evaluate_rank step": {"seconds": 1.1643, "ratio_to_argsort": 0.42003,
                                        "mAP": 0.0015421, "num_valid_queries": 3368}},
        config={"gallery": 19732, "seed": 0},
    )  # fmt: skip
    table, details = benchmark_tables(record)
    assert table.to_dict("records") == [
        {"run": "evaluate_rank step", "seconds": "1.16", "time / floor": "0.42x",
         "mAP (%)": "0.15", "valid queries": "3,368"}
    ]  # fmt: skip
    assert "tolerance = 1e-4" in details["torchreid_agreement"]
    assert "max_abs_diff_cmc = 2e-8" in details["torchreid_agreement"]
    assert details["config"] == "gallery = 19,732, seed = 0"


def _training_row(variant, speedup):
    return {"model": "rga-sc", "threads": 1, "variant": variant, "run_speedup": speedup,
            "load_1min": 1.2}  # fmt: skip


TRAINING = {
    "benchmark": "bench_training",
    "rows": [
        _training_row("eager", 1.0),
        _training_row("tuned", 1.31),
        _training_row("compiled, empty cache", 1.1),
        _training_row("compiled, warm cache", 1.52),
    ],
    "targets": {"run_speedup_min": 1.5},
    "evaluation": {"compile_s": 40.0, "forward_images_per_s": {"eager, batch 128": 300.0}},
}
COMPILED_MODEL = {
    "benchmark": "bench_model",
    "settings": {"device": "cpu", "batch": 16, "compile": True},
    "ratios": {"step_time_vs_baseline": 1.15, "eager_step_time_vs_baseline": 1.36},
    "targets": {"step_time_vs_baseline_max": 1.1},
}


def test_training_run_speedups_are_judged_against_the_target():
    table = target_checks({"bench_training": TRAINING}).set_index("quantity")
    assert len(table) == 3  # the eager row is the reference, not a row
    name = "rga-sc, 1 thread(s): cpu-profile run time, eager before / {}"
    assert table.loc[name.format("compiled, empty cache"), "verdict"] == "misses target"
    warm = table.loc[name.format("compiled, warm cache")]
    assert (warm["measured"], warm["target"], warm["verdict"]) == (
        "1.52x",
        "≥ 1.5x",
        "meets target",
    )
    assert table.loc[name.format("tuned"), "verdict"] == "misses target"


def test_compiled_model_benchmark_has_its_own_target_row():
    row, eager = target_checks({"bench_model_compiled": COMPILED_MODEL}).to_dict("records")
    assert row["quantity"].startswith("compiled RGA-SC") and row["verdict"] == "misses target"
    assert row["benchmark"] == "bench_model --compile, cpu, batch 16"
    assert (eager["measured"], eager["target"], eager["verdict"]) == ("1.36x", "", "")


def test_nested_benchmark_entries_become_rows():
    _, details = benchmark_tables(TRAINING)
    assert details["evaluation"] == "compile_s = 40, forward_images_per_s: eager, batch 128 = 300"
