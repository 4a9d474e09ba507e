"""rga.study.pages.performance: the Performance page's tables and sentences from hand-made
benchmark records (the shapes bench_model, bench_training and bench_evaluation write)."""

import pytest

from rga.study.pages import performance as page
from rga.study.report import benchmarks

XEON = {"cpu": "Intel(R) Xeon(R) Processor @ 2.80GHz", "cpu_count": 2}
ARCH_ONLY = {"cpu": "x86_64", "cpu_count": 2, "threads": 2}
MODEL = {
    "benchmark": "bench_model",
    "command": "python benchmarks/bench_model.py --json benchmarks/results/bench_model.json",
    "created": "2026-11-29T16:21:39+0000",
    "settings": {"device": "cpu", "arch": "resnet50", "batch": 16, "height": 256, "width": 128},
    "machine": ARCH_ONLY,
    "rows": [
        {"variant": "baseline", "step_time_s": 2.6156, "train_images_per_s": 6.117,
         "peak_memory_mib": 2557.47, "step_memory_mib": 1695.8, "inference_images_per_s": 21.667},
        {"variant": "rga-sc factorised", "step_time_s": 3.5583, "train_images_per_s": 4.4966,
         "peak_memory_mib": 3280.3, "step_memory_mib": 2393.9, "inference_images_per_s": 16.72},
        {"variant": "rga-sc materialised", "step_time_s": 11.52, "train_images_per_s": 1.3888,
         "peak_memory_mib": 5573.1, "step_memory_mib": 4686.7, "inference_images_per_s": 5.0536},
    ],
    "ratios": {
        "step_time_vs_baseline": 1.3604,
        "peak_memory_vs_baseline": 1.2827,
        "speedup_vs_materialised": 3.2377,
        "memory_saving_vs_materialised": 1.6989,
        "inference_speedup_vs_materialised": 3.3088,
        "inference_vs_baseline": 1.2958,
    },
    "targets": {"step_time_vs_baseline_max": 1.3, "speedup_vs_materialised_min": 2.5},
}  # fmt: skip
COMPILED = {
    "benchmark": "bench_model",
    "command": "python benchmarks/bench_model.py --compile --threads 1",
    "settings": {"device": "cpu", "arch": "resnet50", "threads": 1, "compile": True},
    "machine": {**ARCH_ONLY, "threads": 1},
    "rows": [
        {"variant": "baseline", "step_time_s": 5.93, "train_images_per_s": 2.7, "compile_s": 0.0},
        {"variant": "rga-sc factorised, compiled", "step_time_s": 6.81,
         "train_images_per_s": 2.35, "compile_s": 434.9},
    ],
    "ratios": {"step_time_vs_baseline": 1.2856, "eager_step_time_vs_baseline": 1.3407},
    "targets": {"step_time_vs_baseline_max": 1.1},
}  # fmt: skip


def _training_row(model, threads, variant, images, speedup):
    return {"model": model, "threads": threads, "variant": variant, "images_per_s": images,
            "run_speedup": speedup}  # fmt: skip


TRAINING = {
    "benchmark": "bench_training",
    "command": "python benchmarks/bench_training.py",
    "settings": {"threads": [1, 2]},
    "machine": XEON,
    "rows": [
        _training_row("rga-sc", 1, "eager", 69.2, 1.0),
        _training_row("rga-sc", 1, "tuned", 91.0, 1.31),
        _training_row("rga-sc", 1, "compiled, empty cache", 85.7, 0.9066),
        _training_row("rga-sc", 1, "compiled, warm cache", 85.7, 1.1995),
        _training_row("rga-sc", 2, "eager", 99.93, 1.0),
        _training_row("rga-sc", 2, "tuned", 127.25, 1.2697),
        _training_row("rga-sc", 2, "compiled, empty cache", 130.5, 1.1037),
        _training_row("rga-sc", 2, "compiled, warm cache", 130.5, 1.2581),
    ],
    "targets": {"run_speedup_min": 1.5},
    "measurements": [{"epochs": 70, "steps_per_epoch": 12}],
    "evaluation": {
        "forward_images_per_s": {
            "eager, batch 64": 162.9,
            "eager, batch 128": 164.34,
            "eager channels_last, batch 128": 243.97,
            "compiled, batch 128": 284.98,
        }
    },
}
EVALUATION = {
    "benchmark": "bench_evaluation",
    "command": "python benchmarks/bench_evaluation.py --json benchmarks/results/bench_evaluation.json",
    "config": {"queries": 3368, "gallery": 19732, "seed": 0},
    "machine": {**ARCH_ONLY, "torch_threads": 2},
    "results": {
        "evaluate_rank step": {"seconds": 1.1643, "ratio_to_argsort": 0.42003, "mAP": 0.0015421},
        "evaluate_rank, junk removed": {"seconds": 0.5, "ratio_to_argsort": 0.3},
        "torchreid evaluate_rank (python)": {"seconds": 5.0, "ratio_to_argsort": 3.0},
    },
    "torchreid_agreement": {
        "ranks_compared": 50,
        "max_abs_diff_cmc": 1.7874e-9,
        "abs_diff_mAP": 5.1e-11,
        "tolerance": 1e-4,
        "agree": True,
        "torchreid_version": "0.2.5",
    },
}  # fmt: skip
RECORDS = {
    "bench_evaluation": EVALUATION,
    "bench_model": MODEL,
    "bench_model_compiled": COMPILED,
    "bench_training": TRAINING,
}


def test_machine_is_named_by_its_processor_or_said_to_be_unrecorded():
    assert page.machine_label(TRAINING) == "Intel Xeon Processor @ 2.80GHz, 2 cores"
    assert page.machine_label(MODEL) == "x86_64, model not recorded, 2 cores"
    assert page.machine_label({"machine": {**XEON, "gpu": "NVIDIA H100"}}) == "NVIDIA H100"


def test_machine_summary_says_when_the_records_cannot_tell_machines_apart():
    text = page.machine_summary(RECORDS)
    assert text.startswith("the training benchmark ran on an Intel Xeon Processor @ 2.80GHz")
    assert "the evaluation, model and compiled-model benchmarks ran on a 2-core x86_64 CPU" in text
    assert "do not say whether they are the same machine" in text
    same = page.machine_summary({"bench_training": TRAINING, "bench_other": TRAINING})
    assert "do not say" not in same and "training and bench_other benchmarks" in same
    assert page.machine_summary({}) == page.NOT_MEASURED


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python benchmarks/bench_model.py --json benchmarks/results/bench_model.json",
         "python benchmarks/bench_model.py --write"),
        ("python benchmarks/bench_model.py --compile --threads 1",
         "python benchmarks/bench_model.py --compile --threads 1 --write"),
        ("python /home/me/rga/benchmarks/bench_model.py --write --json=out.json --batch 8",
         "python benchmarks/bench_model.py --batch 8 --write"),
        (None, "python benchmarks/bench_training.py --write"),
    ],
)  # fmt: skip
def test_regenerate_command_writes_the_committed_record(command, expected):
    record = {"benchmark": "bench_training" if command is None else "bench_model"}
    if command:
        record["command"] = command
    assert page.regenerate_command("x", record) == expected


def test_records_table_gives_machine_threads_date_and_command_once_per_record():
    table = page.records_table(RECORDS).set_index("record")
    assert table.loc["bench_training", "threads"] == "1 and 2"
    assert table.loc["bench_model_compiled", "threads"] == "1"
    assert table.loc["bench_evaluation", "threads"] == "2"
    assert table.loc["bench_model", "measured"] == "2026-11-29"
    assert table.loc["bench_model_compiled", "command"] == (
        "python benchmarks/bench_model.py --compile --threads 1 --write"
    )
    assert list(table.columns) == ["machine", "threads", "measured", "command"]


def test_headline_table_gives_one_row_per_comparison_with_its_record():
    table = page.headline_table(RECORDS).set_index("ours")
    assert list(table.columns) == ["against", "result", "record"]
    assert table.loc["RGA-SC, relations factorised"].tolist() == [
        "relations materialised (official code)",
        "training step 3.24x faster; inference 3.31x faster; peak memory 1.70x less",
        "bench_model",
    ]
    assert table.loc["RGA-SC", "result"] == (
        "training step 1.36x the time; inference 1.30x the time; peak memory 1.28x the memory"
    )
    assert table.loc["RGA-SC", "against"] == "ResNet-50 baseline"
    assert table.loc["RGA-SC, compiled"].tolist() == [
        "ResNet-50 baseline, compiled", "training step 1.29x the time", "bench_model_compiled"
    ]  # fmt: skip
    # ranges over models and threads; a range reaching below 1 is not called "faster"
    assert table.loc["whole training run (cpu profile)", "result"] == (
        "tuned eager 1.27x–1.31x faster; compiled 1.20x–1.26x faster with a warm compile cache; "
        "0.91x–1.10x the speed with an empty one"
    )
    assert table.loc["evaluate_rank", "result"] == "0.42x the time (random distances)"
    assert table.loc["evaluate_rank, junk removed"].tolist() == [
        "torchreid 0.2.5 evaluate_rank (pure Python)",
        "10.0x faster; CMC and mAP differ by at most 1.8e-9",
        "bench_evaluation",
    ]


def test_headline_table_reports_a_skipped_torchreid_and_nothing_when_empty():
    results = {k: v for k, v in EVALUATION["results"].items() if not k.startswith("torchreid")}
    skipped = dict(
        EVALUATION, results=results, torchreid_agreement=None, torchreid={"skipped": "offline"}
    )
    last = page.headline_table({"bench_evaluation": skipped}).iloc[-1]
    assert (last["against"], last["result"]) == ("torchreid", "not compared: offline")
    empty = page.headline_table({})
    assert empty.empty and list(empty.columns) == ["ours", "against", "result", "record"]


def test_headline_values_quote_the_records_or_say_not_measured():
    values = page.headline_values(RECORDS)
    assert values["cores"] == "2-core" and values["devices"] == "CPU"
    assert values["model_setting"] == "ResNet-50, 256x128 input, batch 16"
    assert (values["fact_speedup"], values["fact_memory"], values["cost_step"]) == (
        "3.24x", "1.70x", "1.36x")  # fmt: skip
    assert (values["compiled_cost"], values["compiled_eager_cost"]) == ("1.29x", "1.34x")
    # RGA-SC at the most threads measured; images/s without decimals from 100 up
    assert (values["train_ips"], values["plain_ips"], values["train_threads"]) == (
        "127", "99.9", "2")  # fmt: skip
    assert values["train_speedup"] == "1.27x"
    assert (values["train_epochs"], values["train_steps"]) == ("70", "12")
    assert (values["forward_batch"], values["forward_eager"], values["forward_compiled"]) == (
        "128", "164", "285")  # fmt: skip
    assert values["eval_problem"] == "3,368 x 19,732" and values["eval_seconds"] == "1.16 s"
    assert values["eval_vs_torchreid"] == "10.0x" and values["agreement"] == "1.8e-9"
    assert values["agreement_words"] == "with the same CMC and mAP"
    disagree = dict(
        EVALUATION,
        torchreid_agreement={
            **EVALUATION["torchreid_agreement"],
            "agree": False,
            "abs_diff_mAP": 2e-3,
        },
    )
    assert page.headline_values({"bench_evaluation": disagree})["agreement_words"] == (
        "but with CMC or mAP differing by up to 2e-3"
    )
    nothing = page.headline_values({})
    assert set(nothing) == set(values)
    assert {k for k, v in nothing.items() if v != page.NOT_MEASURED} == {"devices"}


def test_model_table_labels_variants_and_shows_compile_time_only_when_compiled():
    table = page.model_table(MODEL)
    assert table["variant"].tolist() == [
        "ResNet-50 baseline",
        "RGA-SC, relations factorised (ours)",
        "RGA-SC, relations materialised (official code)",
    ]
    assert table.iloc[2].to_dict() == {
        "variant": "RGA-SC, relations materialised (official code)",
        "training step (s)": "11.52", "training images/s": "1.4",
        "peak memory (MiB)": "5,573", "inference images/s": "5.1",
    }  # fmt: skip
    compiled = page.model_table(COMPILED).set_index("variant")
    assert compiled.loc["ResNet-50 baseline", "compile (s)"] == "–"
    assert compiled.loc["RGA-SC, relations factorised (ours), compiled", "compile (s)"] == "435"


def test_training_table_has_images_per_second_then_run_speedups():
    table = page.training_table(TRAINING)
    assert list(table.columns) == [
        "model", "threads", "plain eager (images/s)", "tuned eager (images/s)",
        "compiled (images/s)", "run speed-up, tuned eager",
        "run speed-up, compiled, empty cache", "run speed-up, compiled, warm cache",
    ]  # fmt: skip
    two = table.iloc[1]
    assert (two["model"], two["threads"], two["tuned eager (images/s)"]) == ("RGA-SC", "2", "127")
    assert two["run speed-up, compiled, empty cache"] == "1.10x"
    assert table.iloc[0]["plain eager (images/s)"] == "69.2"


def test_evaluation_table_names_each_run_and_its_floor_ratio():
    table = page.evaluation_table(EVALUATION)
    assert table.iloc[0].to_dict() == {
        "run": "evaluate_rank, random distances", "seconds": "1.16",
        "time / floor": "0.42x", "mAP (%)": "0.15",
    }  # fmt: skip
    assert table.iloc[2]["run"] == "junk removed: torchreid evaluate_rank (pure Python)"
    assert table.iloc[2]["mAP (%)"] == "–"


def test_goals_are_judged_against_what_each_record_measured():
    goals = page.goals_table(RECORDS).set_index("goal")
    assert goals.loc["RGA-SC training step / baseline's ≤ 1.30x"].tolist() == ["1.36x", "no"]
    assert goals.loc["materialised / factorised training step ≥ 2.50x"].tolist() == ["3.24x", "yes"]
    compiled = "RGA-SC training step / baseline's, both compiled ≤ 1.10x"
    assert goals.loc[compiled].tolist() == ["1.29x", "no"]
    run = "whole cpu-profile run, plain eager / tuned or compiled (best) ≥ 1.50x"
    assert goals.loc[run].tolist() == ["1.31x", "no"]  # the best of the rows
    assert page.goals_table({}).empty


def test_benchmark_tables_format_each_column_and_keep_small_numbers():
    record = dict(
        EVALUATION,
        results={"evaluate_rank step": {"seconds": 1.1643, "ratio_to_argsort": 0.42003,
                                        "mAP": 0.0015421, "num_valid_queries": 3368}},
        config={"gallery": 19732, "seed": 0},
    )  # fmt: skip
    table, details = benchmarks.benchmark_tables(record)
    assert table.to_dict("records") == [
        {"run": "evaluate_rank step", "seconds": "1.16", "time / floor": "0.42x",
         "mAP (%)": "0.15", "valid queries": "3,368"}
    ]  # fmt: skip
    assert "tolerance = 1e-4" in details["torchreid_agreement"]
    assert "max_abs_diff_cmc = 1.787e-9" in details["torchreid_agreement"]
    assert details["config"] == "gallery = 19,732, seed = 0"
    _, nested = benchmarks.benchmark_tables(TRAINING)
    assert nested["evaluation"].startswith("forward_images_per_s: eager, batch 64 = 162.9")


def test_load_benchmarks_reads_every_record_of_the_folder(tmp_path):
    assert benchmarks.load_benchmarks(tmp_path / "nothing") == {}
    (tmp_path / "bench_model.json").write_text('{"rows": []}')
    (tmp_path / "notes.txt").write_text("not a record")
    assert benchmarks.load_benchmarks(tmp_path) == {"bench_model": {"rows": []}}


def _size_row(model, threads, at_once, variant, images, seconds):
    return {"model": model, "threads": threads, "runs_at_once": at_once, "variant": variant,
            "images_per_s": images, "run_total_s": seconds}  # fmt: skip


SIZE = {
    "benchmark": "bench_training_size",
    "rows": [
        _size_row("rga-sc", 1, 1, "tuned", 34.4, 4470.0),
        _size_row("rga-sc", 1, 2, "tuned", 30.0, 4960.0),  # two workers timed together:
        _size_row("rga-sc", 1, 2, "tuned", 32.0, 4960.0),  # 31 a run, 62 for the machine
        _size_row("rga-sc", 2, 1, "tuned", 59.2, 2610.0),
        _size_row("rga-sc", 1, 1, "compiled, empty cache", 99.0, 1.0),  # not a run's speed
        _size_row("baseline", 2, 1, "nchw", 62.3, 2470.0),
    ],
}


def test_size_table_counts_the_machines_images_and_the_choice_is_the_fastest_machine():
    table = page.size_training_table(SIZE)
    assert len(table) == 4  # the empty-cache compile is the same step
    two = table[(table["model"] == "RGA-SC") & (table["runs at once"] == "2")].iloc[0]
    assert (two["images/s per run"], two["images/s, machine"]) == ("31.0", "62.0")
    assert two["one run (minutes)"] == "83"
    choice = page.size_choice(SIZE)
    assert choice["RGA-SC"] == "tuned eager, 1 thread per run, 2 at once (62.0 images/s)"
    assert choice["baseline"].startswith("eager without channels_last, 2 threads per run, 1 at")
    assert page.size_training_table({}).empty
