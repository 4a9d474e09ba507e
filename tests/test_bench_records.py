"""Benchmarks replace a committed record (benchmarks/results/, read by the book) only with
--write and a full run; anything else goes to benchmarks/scratch/. No benchmark is timed here
except bench_evaluation on a tiny problem."""

import importlib.util
import json
from argparse import Namespace
from pathlib import Path

import pytest

from rga.study.bench_records import partial_options, record_path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A benchmarks/results/ folder holding committed records, as the book reads it."""
    folder = tmp_path / "benchmarks" / "results"
    folder.mkdir(parents=True)
    monkeypatch.setenv("RGA_BENCHMARKS_ROOT", str(folder))
    return folder


@pytest.mark.parametrize(
    ("write", "partial", "given", "expected"),
    [
        (True, [], None, "results/b.json"),
        (False, [], None, "scratch/b.json"),
        (True, ["--no-torchreid"], None, "scratch/b.partial.json"),
        (False, [], "results/b.json", "scratch/b.json"),  # --json into results: the same rule
        (True, [], "results/b.json", "results/b.json"),
        (False, ["--threads 1"], "elsewhere/b.json", "elsewhere/b.json"),
    ],
)
def test_record_path_replaces_the_committed_record_only_when_asked(
    results, write, partial, given, expected
):
    base = results.parent
    path, why = record_path("b", write=write, partial=partial, given=given and base / given)
    assert path == base / expected
    if path.parent == base / "scratch":
        assert f"the committed {results / 'b.json'} is left as it is" in why


def test_partial_options_are_those_that_narrow_the_full_run():
    full = {"models": ["baseline", "rga-sc"], "threads": [1, 2], "no_eval": False}
    args = Namespace(models=["rga-sc", "baseline"], threads=[1], no_eval=True)
    assert partial_options(args, full) == ["--threads 1", "--no-eval"]
    assert partial_options(Namespace(**full), full) == []


def test_each_benchmark_decides_where_its_record_goes(results):
    training, model = _load("bench_training"), _load("bench_model")
    full_training = Namespace(
        models=["baseline", "rga-sc"], threads=[2, 1], variants=list(training.DEFAULT_VARIANTS),
        no_eval=False, parallel=[1], profile="cpu", write=True, json=None,
    )  # fmt: skip
    defaults = {dest: getattr(full_training, dest) for dest in training.FULL_RUN}
    assert training.output(full_training, defaults)[0] == results / "bench_training.json"
    subset = Namespace(**{**vars(full_training), "models": ["rga-sc"], "threads": [1]})
    path, why = training.output(subset, defaults)
    assert path == results.parent / "scratch" / "bench_training.partial.json"
    assert why.startswith("a partial run (--models rga-sc, --threads 1)")
    # another input size is its own record, with its own full run (two runs at once, no eval)
    size = {**defaults, **training.FULL_RUN_OF["pretrained-192x96"]}
    large = Namespace(**{**vars(full_training), "profile": "pretrained-192x96", **size})
    assert training.output(large, size)[0] == (results / "bench_training_pretrained-192x96.json")
    assert training.output(large, defaults)[0].name.endswith(".partial.json")

    eager = Namespace(compile=False, variants=["baseline"], write=True, json=None)
    full = {"variants": list(model.VARIANTS)}
    assert model.output(eager, full)[0].name == "bench_model.partial.json"
    compiled = Namespace(compile=True, variants=["baseline"], write=True, json=None)
    assert model.output(compiled, {})[0] == results / "bench_model_compiled.json"


def test_a_partial_evaluation_run_leaves_the_committed_record(results, capsys):
    committed = results / "bench_evaluation.json"
    committed.write_text('{"results": {"torchreid evaluate_rank (python)": {}}}\n')
    before = committed.read_bytes()
    tiny = ["--queries", "6", "--gallery", "40", "--ids", "4", "--cameras", "2", "--repeat", "1"]
    assert _load("bench_evaluation").main([*tiny, "--no-torchreid", "--write"]) == 0
    assert committed.read_bytes() == before
    written = results.parent / "scratch" / "bench_evaluation.partial.json"
    assert json.loads(written.read_text())["torchreid"]["skipped"] == "--no-torchreid"
    out = capsys.readouterr().out
    assert f"wrote {written} (a partial run (--queries 6, --gallery 40, --ids 4, " in out
    assert "--no-torchreid)" in out
