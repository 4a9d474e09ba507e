"""Training speed of the cpu profile: eager as before against the tuned and compiled step.

For each model (the baseline, RGA-SC after all four stages) and each CPU thread count, one fresh
process sets up the cpu profile's run as ``rga.engine.train`` does (SynthReID cpu preset,
half-width ResNet-18 at 96x48, P x K = 16 x 4, the run's determinism settings) three times:

  * eager      the step as it ran before issue 14: NCHW, the per-parameter optimiser, and every
               new tensor NaN-filled (deterministic algorithms' default, now off)
  * tuned      eager with channels_last and the fused optimiser
  * compiled   tuned, and torch.compile (inductor)

It times the data path on the real cached images (each image seeded as before, with
``torch.manual_seed``, and as now, with ``seed_sample``), then the three training steps
interleaved (eager, tuned, compiled, eager, ...) on the same real batches, so that the load of
a shared machine weighs on all three alike; the median step is kept. Compile time is measured
twice: in that process with an empty inductor cache (the first run of a model and input
shape), and again in a new process reading the cache the first one wrote (every later run).

The per-run total is what a whole cpu-profile run (its epochs x its steps per epoch) takes at
those speeds: compile time + steps x (data + step) + a checkpoint per epoch (evaluation, done
once at the end and eager in both, is measured apart). Its images/s against the eager run's is
the figure the target is set on.

    python benchmarks/bench_training.py --write               # ~15 min on 2 cores: all of it
    python benchmarks/bench_training.py --models rga-sc --threads 1 --steps 6
    python benchmarks/bench_training.py --cache-dir /tmp/inductor   # reuse a compile cache

At another input size (the scale probe's 192x96, book/scale.md), what trains fastest: another
profile (its weights left out: they change no timing), the variant ``nchw`` (today's eager step
without channels_last), and ``--parallel 1 2`` (one worker alone, then two identical workers timed
at once, as two runs share the machine; ``--parallel`` applies to one thread per worker, two
workers of two threads would oversubscribe 2 cores). Its full run is the record
``bench_training_pretrained-192x96.json``::

    python benchmarks/bench_training.py --profile pretrained-192x96 --write   # ~20 min, 2 cores

It writes its JSON record to ``benchmarks/results/bench_training.json``, which the book reads,
only with --write and a full run (both models, 1 and 2 threads, every variant, the evaluation);
any other run to ``benchmarks/scratch/`` (``rga.study.bench_records``).

Ratios measured in the same process are the figures to quote; absolute times depend on the
machine and its load (recorded with every row).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {
    "baseline": dict(kind=None, positions=()),
    "rga-sc": dict(kind="rga-sc", positions=(1, 2, 3, 4)),
}
VARIANTS = {
    "eager": dict(compile=False, channels_last=False, fused_optimizer=False),
    "tuned": dict(compile=False, channels_last=True, fused_optimizer=True),
    "compiled": dict(compile=True, channels_last=True, fused_optimizer=True),
    "nchw": dict(compile=False, channels_last=False, fused_optimizer=True),
}
DEFAULT_VARIANTS = ("eager", "tuned", "compiled")
BEFORE = "eager"  # also run with new tensors NaN-filled, as rga.engine.determinism did before
TARGETS = {"run_speedup_min": 1.5}
FULL_RUN = ("models", "threads", "variants", "no_eval", "parallel")  # the record's
# The full run's options without a parser default: the cpu profile's values.
FULL_RUN_DEFAULTS = {"variants": list(DEFAULT_VARIANTS), "parallel": [1], "no_eval": False}
# The full run of another profile, where it differs from the cpu profile's.
FULL_RUN_OF = {
    "pretrained-192x96": {"variants": ["nchw", "tuned", "compiled"], "parallel": [1, 2],
                          "no_eval": True},
}  # fmt: skip


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _config(args: argparse.Namespace, model: str, threads: int, **speed):
    from rga.engine.config import make_config

    weights = {} if args.profile == "cpu" else {"weights": None}  # a trunk changes no timing
    return make_config(
        args.profile, **MODELS[model], threads=threads, data_root=args.data_root, **weights, **speed
    )


def measure(args: argparse.Namespace, model: str, threads: int) -> dict:
    """Data path, compile time and interleaved steps of one model at one thread count."""
    import torch

    import rga.engine.seeding as seeding
    from rga.data import dataset_summary
    from rga.engine import distributed
    from rga.engine.determinism import determinism

    # The loop's own set-up, compile and step, so that what is timed is what train() runs.
    from rga.engine.train import _compile, _load_data, _save_last, _set_up, _train_step

    base = _config(args, model, threads)
    scratch = Path(tempfile.mkdtemp(prefix="bench_training_"))
    result = {"model": model, "threads": threads, "load_start": _load()}
    try:
        with distributed.session("cpu") as ctx, determinism(base, ctx.device):
            dataset = _load_data(base, scratch, ctx)
            data = dataset_summary(dataset)
            runs = {
                name: _set_up(
                    dataclasses.replace(base, **speed), dataset, data, scratch / name, ctx
                )
                for name, speed in ((n, VARIANTS[n]) for n in dict.fromkeys(args.variants))
            }
            first = next(iter(runs.values()))
            loader = first.loader
            loader.dataset.dataset.preload()  # the cpu profile caches decoded images
            steps_per_epoch = len(loader)

            # Data path: the same epoch drawn with either seeding, alternately.
            data = {"before": [], "now": []}
            batches = []
            for repeat in range(args.data_repeats):
                for name, seed_fn in (
                    ("before", seeding.seed_everything),
                    ("now", seeding.seed_sample),
                ):
                    seeding.seed_sample, saved = seed_fn, seeding.seed_sample
                    torch.utils.deterministic.fill_uninitialized_memory = name == "before"
                    loader.sampler.set_epoch(repeat)
                    start = time.perf_counter()
                    drawn = [(images, pids) for images, pids, *_ in loader]
                    data[name].append((time.perf_counter() - start) / len(drawn))
                    seeding.seed_sample = saved
                    batches = drawn
            result["data_s_before"] = _median(data["before"])
            result["data_s_now"] = _median(data["now"])

            # Compile (inside _compile: a warm-up step on a random batch of the training shape).
            for run in runs.values():
                if run.config.compile:
                    start = time.perf_counter()
                    _compile(run)
                    result["compile_s"] = time.perf_counter() - start
                    result["compiled"] = run.net is not run.model

            # Steps, interleaved over the variants, on the same real batches (each run keeps
            # its epoch's gradient norms, as the loop's epoch does).
            from rga.engine.diagnostics import GradientNorms

            for run in runs.values():
                run.net.train()
                run.grad_norms = GradientNorms(run.model)
            times = {name: [] for name in runs}
            for step in range(args.warmup + args.steps):
                images, pids = batches[step % len(batches)]
                for name, run in runs.items():
                    torch.utils.deterministic.fill_uninitialized_memory = name == BEFORE
                    start = time.perf_counter()
                    _train_step(run, images, pids)
                    if step >= args.warmup:
                        times[name].append(time.perf_counter() - start)

            start = time.perf_counter()
            _save_last(first, epochs_done=1)
            result["checkpoint_s"] = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.update(
        batch=base.batch_size,
        epochs=base.epochs,
        steps_per_epoch=steps_per_epoch,
        step_s={name: _median(t) for name, t in times.items()},
        step_s_min={name: min(t) for name, t in times.items()},
        load_end=_load(),
    )
    return result


def measure_compile_only(args: argparse.Namespace, model: str, threads: int) -> dict:
    """Compile time of the compiled variant in a new process (the cache as the last left it)."""
    from rga.data import dataset_summary
    from rga.engine import distributed
    from rga.engine.determinism import determinism
    from rga.engine.train import _compile, _load_data, _set_up

    config = _config(args, model, threads, **VARIANTS["compiled"])
    scratch = Path(tempfile.mkdtemp(prefix="bench_training_"))
    try:
        with distributed.session("cpu") as ctx, determinism(config, ctx.device):
            dataset = _load_data(config, scratch, ctx)
            run = _set_up(config, dataset, dataset_summary(dataset), scratch, ctx)
            start = time.perf_counter()
            _compile(run)
            return {"compile_s": time.perf_counter() - start, "load": _load()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_evaluation(args: argparse.Namespace, threads: int) -> dict:
    """Evaluation forward of RGA-SC on real query batches: eager, channels_last, batch sizes,
    and compiled (with its compile time)."""
    import copy

    import torch
    from torch.utils.data import DataLoader

    from rga.data import ImageDataset, build_transforms, load_dataset
    from rga.engine.build import build_model, dataset_args
    from rga.engine.determinism import determinism

    config = _config(args, "rga-sc", threads)
    dataset = load_dataset(**dataset_args(config), verbose=False)
    test_set = ImageDataset(
        dataset.query,
        build_transforms(config.height, config.width, train=False),
        cache_images=config.cache_images,
    )
    torch.manual_seed(0)
    model = build_model(config, dataset.num_train_pids).eval()
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    compiled = torch.compile(copy.deepcopy(model))
    rows = {}
    with determinism(config, torch.device("cpu")), torch.no_grad():
        start = time.perf_counter()
        batch = next(iter(DataLoader(test_set, batch_size=256)))[0]
        data_s = (time.perf_counter() - start) / 256  # decoding included, as after training
        start = time.perf_counter()
        compiled(batch[:128])
        rows["compile_s"] = time.perf_counter() - start
        variants = {
            f"eager, batch {b}": (model, b, torch.contiguous_format) for b in (64, 128, 256)
        }
        variants["eager channels_last, batch 128"] = (channels_last, 128, torch.channels_last)
        variants["compiled, batch 128"] = (compiled, 128, torch.contiguous_format)
        timings = {name: [] for name in variants}
        for repeat in range(args.steps + 1):
            for name, (net, size, memory_format) in variants.items():
                x = batch[:size].contiguous(memory_format=memory_format)
                start = time.perf_counter()
                net(x)
                if repeat:
                    timings[name].append((time.perf_counter() - start) / size)
    rows["forward_images_per_s"] = {name: 1 / _median(t) for name, t in timings.items()}
    rows["data_images_per_s"] = 1 / data_s
    rows["images"] = len(dataset.query) + len(dataset.gallery)
    rows["load"] = _load()
    return rows


def run_totals(result: dict, compile_s: dict) -> list[dict]:
    """Rows of one (model, threads) measurement: one per variant, with its per-run total."""
    steps = result["epochs"] * result["steps_per_epoch"]
    checkpoints = result["epochs"] * result["checkpoint_s"]
    rows = []
    for name, step_s in result["step_s"].items():
        data_s = result["data_s_before" if name == "eager" else "data_s_now"]
        compiles = compile_s if name == "compiled" else {"none": 0.0}
        for cache, seconds in compiles.items():
            total = seconds + steps * (data_s + step_s) + checkpoints
            rows.append(
                {
                    "model": result["model"],
                    "threads": result["threads"],
                    "variant": name if name != "compiled" else f"compiled, {cache} cache",
                    "step_s": step_s,
                    "step_images_per_s": result["batch"] / step_s,
                    "data_s": data_s,
                    "images_per_s": result["batch"] / (data_s + step_s),
                    "compile_s": seconds,
                    "run_total_s": total,
                    "run_images_per_s": steps * result["batch"] / total,
                    "load_1min": result["load_end"],
                }
            )
    # against the eager run when it was measured, else against the first variant measured
    reference = next((r for r in rows if r["variant"] == BEFORE), rows[0])
    for row in rows:
        row["run_speedup"] = reference["run_total_s"] / row["run_total_s"]
        row["speedup_over"] = reference["variant"]
    return rows


def machine_info() -> dict:
    import torch

    from rga.engine.compile import cache_settings

    cache = cache_settings()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "inductor_fx_graph_cache": cache["fx_graph_cache"],
        "inductor_autograd_cache": cache["autograd_cache"],
    }


def _cpu_model() -> str:
    from rga.engine.provenance import hardware_info

    return hardware_info("cpu")["cpu"]


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'model':<10}{'thr':>4}{'x':>3} {'variant':<24}{'step s':>8}{'data s':>8}{'img/s':>8}"
        f"{'compile s':>11}{'run min':>9}{'run img/s':>11}{'speedup':>9}{'load':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['model']:<10}{r['threads']:>4}{r.get('runs_at_once', 1):>3} "
            f"{r['variant']:<24}{r['step_s']:>8.3f}"
            f"{r['data_s']:>8.3f}{r['images_per_s']:>8.1f}{r['compile_s']:>11.1f}"
            f"{r['run_total_s'] / 60:>9.1f}{r['run_images_per_s']:>11.1f}"
            f"{r['run_speedup']:>8.2f}x{r['load_1min']:>6.1f}"
        )


def _worker(args: argparse.Namespace, task: str, *extra: str) -> dict:
    """Run one measurement in a fresh process (its own dynamo state and thread pool)."""
    return _workers(args, 1, task, *extra)[0]


def _workers(args: argparse.Namespace, count: int, task: str, *extra: str) -> list[dict]:
    """Run ``count`` identical measurements at once, each in a fresh process; their results."""
    command = [sys.executable, __file__, "--worker", task, *extra, *_passthrough(args)]
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(args.cache_dir)}
    procs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(count)
    ]
    outputs = [(proc, *proc.communicate()) for proc in procs]
    for proc, _, stderr in outputs:
        if proc.returncode != 0:
            sys.stderr.write(stderr)
            raise SystemExit(f"worker {task} {' '.join(extra)} failed ({proc.returncode})")
    return [json.loads(stdout.strip().splitlines()[-1]) for _, stdout, _ in outputs]


def _passthrough(args: argparse.Namespace) -> list[str]:
    return [
        "--data-root", args.data_root, "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--data-repeats", str(args.data_repeats), "--variants", *args.variants,
        "--profile", args.profile,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), help="default: the profile's full run"
    )
    parser.add_argument("--profile", default="cpu", help="the run's profile (default cpu)")
    parser.add_argument(
        "--parallel",
        nargs="+",
        type=int,
        help="identical one-thread workers timed at once, e.g. 1 2 (default: the profile's full "
        "run)",
    )
    parser.add_argument("--steps", type=int, default=12, help="timed steps per variant (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first")
    parser.add_argument("--data-repeats", type=int, default=2, help="epochs of the data path")
    parser.add_argument("--data-root", default="data", help="where SynthReID is (generated once)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="TORCHINDUCTOR_CACHE_DIR for the workers; default: a new empty folder, removed "
        "afterwards, so that the first compile of each model is a cold one",
    )
    parser.add_argument(
        "--no-eval", action="store_true", default=None, help="skip the evaluation forward"
    )
    parser.add_argument("--json", help="default: see rga.study.bench_records")
    parser.add_argument(
        "--write", action="store_true", help="replace the committed record (a full run only)"
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    full = {dest: parser.get_default(dest) for dest in FULL_RUN} | FULL_RUN_DEFAULTS
    full |= FULL_RUN_OF.get(args.profile, {})
    for dest, value in full.items():  # what was not given is the profile's full run
        if getattr(args, dest) is None:
            setattr(args, dest, value)

    if args.worker:  # child process: one measurement, printed as JSON
        task, *rest = args.worker
        if task == "steps":
            out = measure(args, rest[0], int(rest[1]))
        elif task == "compile":
            out = measure_compile_only(args, rest[0], int(rest[1]))
        else:
            out = measure_evaluation(args, int(rest[0]))
        print(json.dumps(out))
        return 0

    from rga.data import load_dataset

    out, why = output(args, full)
    print(f"record: {out} ({why})", file=sys.stderr, flush=True)
    preset = _config(args, args.models[0], 1).synth_preset
    load_dataset("synthreid", args.data_root, preset=preset, verbose=False)  # generated once
    temporary = args.cache_dir is None
    if temporary:
        args.cache_dir = Path(tempfile.mkdtemp(prefix="bench_training_inductor_"))
    started = time.time()
    rows, raw = [], []
    try:
        for model in args.models:
            for threads in args.threads:
                for at_once in args.parallel if threads == 1 else [1]:
                    print(
                        f"measuring {model}, {threads} thread(s), {at_once} at once ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    for result in _workers(args, at_once, "steps", model, str(threads)):
                        compile_s = {}
                        if "compile_s" in result:
                            again = _worker(args, "compile", model, str(threads))
                            first = "empty" if temporary else "given"
                            compile_s = {first: result["compile_s"], "warm": again["compile_s"]}
                            result["compile_s_warm"] = again["compile_s"]
                        raw.append({**result, "runs_at_once": at_once})
                        rows += [
                            {**row, "runs_at_once": at_once}
                            for row in run_totals(result, compile_s)
                        ]
        evaluation = None
        if not args.no_eval:
            print("measuring the evaluation forward ...", file=sys.stderr, flush=True)
            evaluation = _worker(args, "eval", str(min(args.threads)))
    finally:
        if temporary:
            shutil.rmtree(args.cache_dir, ignore_errors=True)

    print_table(rows)
    speedups = {
        f"{r['model']}, {r['threads']} thread(s), {r['variant']}": r["run_speedup"]
        for r in rows
        if r["variant"] != BEFORE
    }
    for name, value in speedups.items() if args.profile == "cpu" else ():  # its target
        verdict = "meets" if value >= TARGETS["run_speedup_min"] else "MISSES"
        print(
            f"run speedup {name}: {value:.2f}x ({verdict} target >= {TARGETS['run_speedup_min']}x)"
        )
    if evaluation:
        print("evaluation forward, images/s:", json.dumps(evaluation["forward_images_per_s"]))
    record = {
        # another profile's record is another benchmark: it measures another size, and the
        # cpu profile's speed target does not apply to it
        "benchmark": "bench_training" if args.profile == "cpu" else "bench_training_size",
        "command": " ".join(["python", *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_time_s": time.time() - started,
        "settings": {
            **{
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k not in ("worker", "json", "write")
            },
            # a machine path says nothing elsewhere: name what the compile cache was
            "cache_dir": "a temporary folder, removed afterwards" if temporary else "given",
        },
        "machine": machine_info(),
        "variants": {
            name: ", ".join(f"{k}={v}" for k, v in s.items()) for name, s in VARIANTS.items()
        },
        "rows": rows,
        "run_speedups": speedups,
        "targets": TARGETS if args.profile == "cpu" else {},
        "evaluation": evaluation,
        "measurements": raw,
    }
    from rga.study.bench_records import write_record

    write_record(record, out, why)
    return 0


def output(args: argparse.Namespace, full: dict) -> tuple[Path, str]:
    """Where this run's record goes, and why (`rga.study.bench_records.record_path`): the
    committed one only with --write and the options of `full` at their values there."""
    from rga.study.bench_records import partial_options, record_path

    partial = partial_options(args, full)
    name = "bench_training" if args.profile == "cpu" else f"bench_training_{args.profile}"
    return record_path(name, write=args.write, partial=partial, given=args.json)


if __name__ == "__main__":
    sys.exit(main())
