"""GPU scale probe: are the study's verdicts artefacts of its scale? One unattended run, one GPU.

Within a wall-clock budget it manages itself (``--budget-s``, 570 s: a 10-minute slot less
start-up and copying), in this order:

(a) Throughput: training images/s and peak GPU memory of ResNet-50 at 256x128, batch 64
    (P=16 x K=4), for the baseline, RGA-SC x4 with ``relation="factorised"`` (this project's
    default) and with ``relation="materialised"`` (the official computation, the N x N relation
    matrix), each in its own process, a few dozen steps after warm-up: benchmarks/bench_model.py's
    ``measure`` through its ``--worker`` mode. At most ``THROUGHPUT_SHARE`` of the budget.
(b) With the time left: the baseline against RGA-SC x4 on SynthReID's ``market`` preset (751
    training ids, 28,016 images at 256x128; generated first, in parallel, unless ``data_root``
    holds it) with the ``paper`` profile's recipe: ResNet-50, 256x128, Adam, P=16 x K=4, the
    official schedule's shape scaled to the epochs run (``rga.engine.config.scale_schedule``).
    No ImageNet weights are reachable on the GPU machine: the trunk starts from scratch
    (``weights=None``) unless ``--weights`` names a local torchvision ResNet-50 state dict.
    The epoch count is fixed from the step times of (a) before any training, the same for both
    models (`plan_runs`); seeds alternate baseline, RGA-SC (seed 0, seed 0, seed 1, ...), and a
    pair starts only when both of its runs still fit, so both models get as many seeds. Each run
    is the package's own training and evaluation (``rga.study.train.train_run``).

Everything measured goes to one JSON file, ``<out>/gpu_scale_probe.json``, rewritten after every
step, so a run killed at its limit still leaves what it had measured. The runs' results files and
logs go under ``<out>/scale_probe_runs/`` (never experiments/results/); their checkpoints are
deleted after each run unless ``--keep-checkpoints`` (a ResNet-50 final.pt is about 120 MB).
``--out`` defaults to ``$OUT`` when set, else ``benchmarks/scratch/`` (ignored by git).

    python benchmarks/gpu_scale_probe.py            # one GPU, about 10 minutes
    python benchmarks/gpu_scale_probe.py --tiny     # the whole script on the CPU, a few minutes

``--tiny`` runs every step at toy size (ResNet-18, 64x32, batch 4 x 4, SynthReID ``smoke``, one
epoch) to show the script works end to end; its numbers mean nothing.

It lives in benchmarks/, not experiments/: like bench_model.py it measures this machine, reuses
that script's measurement, and writes scratch records; experiments/ holds the study's notebooks,
whose results files the book reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
THROUGHPUT_SHARE = 0.35  # of the budget, at most, for (a)
MODELS = {"baseline": {"kind": None, "positions": ()}, "rga-sc": {"kind": "rga-sc"}}
# bench_model.py's variant whose step time plans each trained model
BENCH_VARIANT = {"baseline": "baseline", "rga-sc": "rga-sc factorised"}
EXPERIMENT = "gpu_scale_probe"
NO_WEIGHTS = (
    "no ImageNet weights: the GPU machine reaches no network, so the trunk starts from scratch "
    "(weights=None); the paper's runs start from ImageNet (spec 1.1)"
)


@dataclasses.dataclass(frozen=True)
class Scale:
    """The sizes of one probe: the GPU one or the ``--tiny`` CPU one."""

    device: str
    arch: str
    height: int
    width: int
    ids_per_batch: int
    instances_per_id: int
    synth_preset: str
    bench_steps: int  # timed steps per throughput variant (the median is kept)
    bench_warmup: int
    min_epochs: int  # a pair of runs shorter than this is not worth a second seed
    max_epochs: int
    max_pairs: int  # seeds per model, at most
    budget_s: float
    reserve_s: float  # left at the end for the summary
    workers: int  # data-loader processes while training
    test_batch_size: int
    setup_s: float  # a run's fixed cost besides evaluation (model, loader), before one is timed
    slowdown: float  # a training epoch's step over bench_model's (data, diagnostics, syncs)

    @property
    def batch(self) -> int:
        return self.ids_per_batch * self.instances_per_id


GPU = Scale(
    device="cuda",
    arch="resnet50",
    height=256,
    width=128,
    ids_per_batch=16,
    instances_per_id=4,
    synth_preset="market",
    bench_steps=30,
    bench_warmup=5,
    min_epochs=8,
    max_epochs=600,
    max_pairs=3,
    budget_s=570.0,
    reserve_s=15.0,
    workers=8,  # the paper profile's
    test_batch_size=128,
    setup_s=15.0,
    slowdown=1.3,
)
TINY = Scale(
    device="cpu",
    arch="resnet18",
    height=64,
    width=32,
    ids_per_batch=4,
    instances_per_id=4,
    synth_preset="smoke",
    bench_steps=3,
    bench_warmup=1,
    min_epochs=1,
    max_epochs=1,
    max_pairs=2,
    budget_s=300.0,
    reserve_s=5.0,
    workers=0,
    test_batch_size=64,
    setup_s=5.0,
    slowdown=1.5,
)


# ----- the plan: pure arithmetic ---------------------------------------------------------------


class Plan(NamedTuple):
    """Epochs per run and seeds per model that fit the budget, and the estimate they rest on."""

    epochs: int
    pairs: int
    pair_s: float  # estimated seconds of one baseline + RGA-SC pair at `epochs`
    why: str


def plan_runs(
    budget_s: float,
    step_s: Mapping[str, float],
    steps_per_epoch: int,
    *,
    run_overhead_s: Mapping[str, float],
    slowdown: float = 1.0,
    min_epochs: int = 1,
    max_epochs: int = 600,
    max_pairs: int = 3,
) -> Plan:
    """How many epochs (the same for every run) and seed pairs (one run of each model) fit.

    A run of model m with E epochs costs ``run_overhead_s[m] + E * steps_per_epoch * step_s[m] *
    slowdown``; a pair is one run of each model in `step_s`. The rule: as many pairs as fit at
    `min_epochs` (at most `max_pairs`), then as many epochs as those pairs fit (at most
    `max_epochs`); when even one pair at `min_epochs` does not fit, one pair with the epochs that
    do; when not one epoch of each fits, nothing (0 epochs, 0 pairs).
    """
    if steps_per_epoch < 1 or any(s <= 0 for s in step_s.values()):
        raise ValueError("steps_per_epoch and every step time must be positive")
    epoch_s = sum(steps_per_epoch * s * slowdown for s in step_s.values())  # one epoch of each
    fixed_s = sum(run_overhead_s[m] for m in step_s)

    def pair_s(epochs: int) -> float:
        return fixed_s + epochs * epoch_s

    def epochs_within(seconds: float) -> int:
        return min(max_epochs, math.floor((seconds - fixed_s) / epoch_s + 1e-9))

    def pairs_within(epochs: int) -> int:
        return min(max_pairs, math.floor(budget_s / pair_s(epochs) + 1e-9))

    pairs = pairs_within(min_epochs)
    if pairs >= 1:
        epochs = epochs_within(budget_s / pairs)
        pairs = pairs_within(epochs)  # epochs capped at max_epochs may leave room for more
        why = f"{pairs} pair(s) fit at >= {min_epochs} epochs; epochs fill the budget"
        if epochs == max_epochs:
            why = f"{pairs} pair(s) at max_epochs={max_epochs}"
    elif epochs_within(budget_s) >= 1:
        pairs, epochs = 1, epochs_within(budget_s)
        why = f"one pair at fewer than min_epochs={min_epochs}: no more fits"
    else:
        return Plan(0, 0, 0.0, "not one epoch of each model fits the budget")
    return Plan(epochs, pairs, pair_s(epochs), why)


# ----- the steps ---------------------------------------------------------------------------------


class Clock:
    """Seconds since the start, and what is left of the budget."""

    def __init__(self, budget_s: float) -> None:
        self.start, self.budget_s = time.monotonic(), budget_s

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


class BudgetSpent(RuntimeError):
    """Raised between epochs when a run goes past the budget's end."""


def _bench_model():
    """benchmarks/bench_model.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_model", HERE / "bench_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_throughput(scale: Scale, clock: Clock, say) -> list[dict]:
    """bench_model.py's measurement of each of its variants, each in a fresh process (its own
    peak memory), within THROUGHPUT_SHARE of the budget; a failure is recorded, not raised."""
    bench = _bench_model()
    stop_at = clock.elapsed() + THROUGHPUT_SHARE * clock.budget_s
    rows = []
    for variant in bench.VARIANTS:
        # fmt: off
        command = [
            sys.executable, str(HERE / "bench_model.py"), "--device", scale.device,
            "--arch", scale.arch, "--batch", str(scale.batch), "--height", str(scale.height),
            "--width", str(scale.width), "--steps", str(scale.bench_steps),
            "--warmup", str(scale.bench_warmup), "--worker", variant,
        ]
        # fmt: on
        started = clock.elapsed()
        row = {"variant": variant, "started_s": round(started, 1)}
        timeout = stop_at - started
        if timeout < 5:
            rows.append({**row, "error": "skipped: the throughput share of the budget is spent"})
            continue
        say(f"(a) measuring {variant} ...")
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            rows.append({**row, "error": f"timed out after {timeout:.0f} s"})
            continue
        row["wall_s"] = round(clock.elapsed() - started, 1)
        if proc.returncode != 0:
            error = " | ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit {proc.returncode}"
            rows.append({**row, "error": error})
            continue
        rows.append({**row, **json.loads(proc.stdout.strip().splitlines()[-1])})
        say(
            f"    {rows[-1]['train_images_per_s']:.1f} train img/s, "
            f"peak {rows[-1]['peak_memory_mib']:.0f} MiB"
        )
    return rows


def throughput_ratios(rows: list[dict]) -> dict | None:
    """bench_model.py's ratios of the three variants, when all three were measured."""
    bench = _bench_model()
    measured = {r["variant"]: r for r in rows if "error" not in r}
    return bench.ratios(measured) if set(measured) == set(bench.VARIANTS) else None


def prepare_data(config, gen_workers: int | None, checkpoint_root: Path, say) -> dict:
    """Generate `config`'s SynthReID preset unless cached (``gen_workers`` processes), then load
    and verify it as training will (the verification remembered where training looks for it);
    its sizes, and how long each part took."""
    from rga.data import RandomIdentitySampler
    from rga.engine.build import load_data
    from rga.engine.checkpoint import VERIFIED
    from rga.synth import ensure_synthreid
    from rga.synth.generate import read_meta

    started = time.perf_counter()
    preset, workers = config.synth_preset, gen_workers or "default"
    say(f"(b) SynthReID {preset!r} in {config.data_root}/ ({workers} processes)")
    root = ensure_synthreid(config.data_root, preset, workers=gen_workers)
    generate_s = time.perf_counter() - started
    meta = read_meta(root) or {}
    started = time.perf_counter()
    dataset = load_data(config, cache_dir=checkpoint_root / VERIFIED, verbose=False)
    sampler = RandomIdentitySampler(
        dataset.train, batch_size=config.batch_size, num_instances=config.instances_per_id
    )
    return {
        "folder": root.name,
        "images": meta.get("counts"),
        "generation_s_this_run": round(generate_s, 1),
        # the generator's own time and processes, when the folder was made (maybe earlier)
        "generation_s_recorded": meta.get("generation_seconds"),
        "generation_workers": meta.get("workers"),
        "load_and_verify_s": round(time.perf_counter() - started, 1),
        "train_ids": dataset.num_train_pids,
        "steps_per_epoch": sampler.num_batches,
        "eval_images": len(dataset.query) + len(dataset.gallery),
    }


def run_config(scale: Scale, args: argparse.Namespace, model: str, seed: int, epochs: int):
    """The ``paper`` profile on SynthReID at this scale: the official recipe, the official
    schedule's shape over `epochs`."""
    from rga.engine.config import make_config

    tiny = {"arch": scale.arch, "height": scale.height, "width": scale.width} if args.tiny else {}
    return make_config(
        "paper",
        dataset="synthreid",
        synth_preset=scale.synth_preset,
        data_root=args.data_root,
        weights=args.weights,
        ids_per_batch=scale.ids_per_batch,
        instances_per_id=scale.instances_per_id,
        device=scale.device,
        workers=args.workers if args.workers is not None else scale.workers,
        test_batch_size=scale.test_batch_size,
        experiment=EXPERIMENT,
        seed=seed,
        epochs=epochs,
        checkpoint_every=epochs,  # one last.pt at the end: no time lost saving every epoch
        deterministic=False,  # speed only (not in the run id): cuDNN picks its fastest kernels
        **MODELS[model],
        **tiny,
    )


def train_one(config, runs_dir: Path, clock: Clock, scale: Scale, keep: bool, say) -> dict:
    """Train and evaluate one run with the package's own loop; its entry for the record."""
    from rga.study.train import train_run

    model = "baseline" if config.kind is None else config.kind
    started = clock.elapsed()

    def on_epoch_end(entry: dict) -> None:
        say(
            f"    {model} seed {config.seed} epoch {entry['epoch'] + 1}/{config.epochs}: "
            f"loss {entry['loss']:.3f}, {entry['images_per_s']:.0f} img/s, "
            f"{entry['seconds']:.1f} s"
        )
        if clock.left() < 0:
            raise BudgetSpent(f"the budget ran out after epoch {entry['epoch'] + 1}")

    entry = {"model": model, "seed": config.seed, "epochs": config.epochs}
    try:
        record = train_run(
            config,
            checkpoint_root=runs_dir / "checkpoints",
            results_root=runs_dir / "results",
            force=True,  # a probe measures training: never report an earlier run
            on_epoch_end=on_epoch_end,
            progress=False,
        )
    except Exception as err:  # unattended: record it and keep what was measured
        error = f"{type(err).__name__}: {err}"
        return {**entry, "error": error, "wall_s": round(clock.elapsed() - started, 1)}
    finally:
        if not keep:  # the record keeps what was measured; the weights would not come back
            for path in (runs_dir / "checkpoints").glob("*/*.pt"):
                path.unlink()
    curve = record["curve"]
    return {
        **entry,
        "run_id": record["run_id"],
        "metrics": record["metrics"],
        "final_loss": curve[-1]["loss"],
        "train_time_s": round(record["train_time_s"], 1),
        "eval_time_s": round(record["eval_time_s"], 1),
        "epoch_s": round(record["train_time_s"] / len(curve), 2),
        "images_per_s": record["images_per_s"],
        "wall_s": round(clock.elapsed() - started, 1),
        "started_s": round(started, 1),
    }


def run_overheads(scale: Scale, data: dict, throughput: dict[str, dict]) -> dict[str, float]:
    """A run's seconds besides its epochs, before one is timed: set-up, and evaluation at twice
    the measured inference speed's time (decoding, ranking)."""
    return {
        model: scale.setup_s
        + 2 * data["eval_images"] / throughput[BENCH_VARIANT[model]]["inference_images_per_s"]
        for model in MODELS
    }


def summarise(runs: list[dict]) -> dict:
    """Per model: the seeds whose pair finished, mean and range of mAP and R1 (z, the paper
    profile's headline feature, and z_hat); per seed, RGA-SC minus the baseline."""
    done = {(r["model"], r["seed"]): r for r in runs if "metrics" in r}
    seeds = sorted({s for m, s in done if all((model, s) in done for model in MODELS)})
    out: dict = {"paired_seeds": seeds}
    for model in MODELS:
        rows = [done[(model, s)] for s in seeds]
        out[model] = {
            f"{feature}.{metric}": _spread([r["metrics"][feature][metric] for r in rows])
            for feature in ("z", "z_hat")
            for metric in ("mAP", "R1")
        }

    def metric_of(model: str, seed: int, name: str) -> float:
        return done[(model, seed)]["metrics"]["z"][name]

    out["rga_sc_minus_baseline"] = {
        f"z.{name}": [
            round(metric_of("rga-sc", s, name) - metric_of("baseline", s, name), 2) for s in seeds
        ]
        for name in ("mAP", "R1")
    }
    return out


def _spread(values: list[float]) -> dict | None:
    if not values:
        return None
    return {
        "mean": round(sum(values) / len(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def machine(device: str) -> dict:
    """bench_model.py's machine description, with the GPU's memory and CUDA/cuDNN versions."""
    import torch

    info = _bench_model().machine_info(device)
    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            tf32_conv=torch.backends.cudnn.allow_tf32,
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
        )
    return info


# ----- the script --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale = TINY if args.tiny else GPU
    overrides = {
        "budget_s": args.budget_s,
        "min_epochs": args.min_epochs,
        "max_epochs": args.max_epochs,
        "max_pairs": args.max_pairs,
    }
    scale = dataclasses.replace(scale, **{k: v for k, v in overrides.items() if v is not None})
    clock = Clock(scale.budget_s)
    out = Path(args.out or os.environ.get("OUT") or HERE / "scratch")
    suffix = "-tiny" if args.tiny else ""
    json_path, runs_dir = out / f"gpu_scale_probe{suffix}.json", out / f"scale_probe_runs{suffix}"
    if scale.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device here; run with --tiny to try the script on the CPU")
            return 2
    log: list[str] = []

    def say(line: str) -> None:
        line = f"[{clock.elapsed():6.1f} s] {line}"
        log.append(line)
        print(line, flush=True)

    record = {
        "probe": "gpu_scale_probe",
        "command": " ".join(["python", *(sys.argv if argv is None else [__file__, *argv])]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tiny": args.tiny,
        "settings": dataclasses.asdict(scale),
        "options": {
            k: getattr(args, k)
            for k in ("weights", "data_root", "workers", "gen_workers", "keep_checkpoints")
        },
        "notes": [] if args.weights else [NO_WEIGHTS],
        "machine": machine(scale.device),
        "log": log,
    }

    def save() -> None:
        from rga.study.results import write_json

        record["elapsed_s"] = round(clock.elapsed(), 1)
        write_json(json_path, record)

    say(f"budget {scale.budget_s:.0f} s; record {json_path}")
    if not args.weights:
        say(NO_WEIGHTS)
    save()

    rows = measure_throughput(scale, clock, say)
    record["throughput"] = {"rows": rows, "ratios": throughput_ratios(rows)}
    save()

    measured = {r["variant"]: r for r in rows if "error" not in r}
    if not all(BENCH_VARIANT[m] in measured for m in MODELS):
        record["stopped"] = "(b) skipped: the baseline's or RGA-SC's step time was not measured"
        say(record["stopped"])
        save()
        return 1
    template = run_config(scale, args, "rga-sc", seed=0, epochs=scale.max_epochs)
    gen_workers = args.gen_workers or (None if args.tiny else os.cpu_count())
    record["data"] = data = prepare_data(template, gen_workers, runs_dir / "checkpoints", say)
    say(f"    {json.dumps(data)}")
    save()

    step_s = {m: measured[BENCH_VARIANT[m]]["step_time_s"] for m in MODELS}
    overhead = run_overheads(scale, data, measured)
    budget_b = clock.left() - scale.reserve_s
    plan = plan_runs(
        budget_b,
        step_s,
        data["steps_per_epoch"],
        run_overhead_s=overhead,
        slowdown=scale.slowdown,
        min_epochs=scale.min_epochs,
        max_epochs=scale.max_epochs,
        max_pairs=scale.max_pairs,
    )
    schedule = run_config(scale, args, "rga-sc", 0, max(plan.epochs, 1))
    record["plan"] = {
        **plan._asdict(),
        "budget_s": round(budget_b, 1),
        "step_s": step_s,
        "run_overhead_s": {m: round(s, 1) for m, s in overhead.items()},
        "slowdown": scale.slowdown,
        "schedule": {
            k: getattr(schedule, k) for k in ("epochs", "warmup_epochs", "lr_steps", "base_lr")
        },
        "config": schedule.to_dict(),
    }
    say(f"(b) plan: {plan.pairs} seed(s) per model, {plan.epochs} epochs each ({plan.why})")
    record["runs"] = runs = []
    save()

    pair_s = plan.pair_s
    for seed in range(plan.pairs):
        if clock.left() - scale.reserve_s < pair_s:
            record["stopped"] = (
                f"seed {seed} not started: a pair takes ~{pair_s:.0f} s, "
                f"{clock.left() - scale.reserve_s:.0f} s left"
            )
            say(record["stopped"])
            break
        started = clock.elapsed()
        for model in MODELS:
            say(f"(b) training {model}, seed {seed}, {plan.epochs} epochs")
            config = run_config(scale, args, model, seed, plan.epochs)
            runs.append(train_one(config, runs_dir, clock, scale, args.keep_checkpoints, say))
            if "metrics" in runs[-1]:
                z = runs[-1]["metrics"]["z"]
                say(f"    mAP {z['mAP']:.2f}, R1 {z['R1']:.2f} ({runs[-1]['wall_s']:.0f} s)")
            save()
            if "error" in runs[-1]:
                record["stopped"] = f"{model} seed {seed}: {runs[-1]['error']}"
                break
        if "stopped" in record:
            break
        pair_s = clock.elapsed() - started  # the next pair is judged by this one, measured

    record["summary"] = summarise(runs)
    save()
    print(json.dumps(_printed(record), indent=1))
    return 0


PRINTED_THROUGHPUT = ("variant", "step_time_s", "train_images_per_s", "peak_memory_mib", "error")


def _printed(record: dict) -> dict:
    """The record without its log and full config: what the end of the output shows."""
    throughput = record.get("throughput", {})
    return {
        "machine": {k: record["machine"].get(k) for k in ("gpu", "torch", "device", "cpu_count")},
        "throughput": [
            {k: r[k] for k in PRINTED_THROUGHPUT if k in r} for r in throughput.get("rows", [])
        ],
        "ratios": throughput.get("ratios"),
        "data": record.get("data"),
        "plan": {k: v for k, v in record.get("plan", {}).items() if k != "config"},
        "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in record.get("runs", [])],
        "summary": record.get("summary"),
        "stopped": record.get("stopped"),
        "elapsed_s": record.get("elapsed_s"),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="toy sizes on the CPU (see above)")
    parser.add_argument("--out", help="record and runs folder ($OUT, else benchmarks/scratch)")
    parser.add_argument("--budget-s", type=float, help="wall-clock seconds in all (570; tiny 300)")
    parser.add_argument("--min-epochs", type=int, help="fewest epochs worth a second seed (8)")
    parser.add_argument("--max-epochs", type=int, help="most epochs a run (600; tiny 1)")
    parser.add_argument("--max-pairs", type=int, help="most seeds per model (3; tiny 2)")
    parser.add_argument("--weights", help="a local torchvision ResNet state dict (.pth/.pt)")
    parser.add_argument("--data-root", default="data", help="where SynthReID is generated")
    parser.add_argument("--workers", type=int, help="data-loader processes (8; tiny 0)")
    parser.add_argument("--gen-workers", type=int, help="SynthReID processes (all CPUs)")
    parser.add_argument("--keep-checkpoints", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
