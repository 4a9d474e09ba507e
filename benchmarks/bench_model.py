"""Training-step time, peak memory and inference speed: ResNet-50 baseline vs RGA-SC.

Measures, on this machine and in one run, side by side (batch 16, 256x128 by default):
  * baseline            ResNet-50, last stride 1, BNNeck (positions=())
  * rga-sc factorised   RGA-SC after all four stages, relations never materialised (our default)
  * rga-sc materialised RGA-SC computed as the official code does (N x N relation matrix)

Each model runs in its own fresh process, so peak memory is not shared between them. On CPU,
memory is the process's peak resident set size (total, and the increase over the process right
before its first training step); on CUDA it is torch.cuda.max_memory_allocated.

With --compile it measures instead, in one process, the training step of the baseline and of
RGA-SC (factorised), each eager and under torch.compile (inductor): all four compiled or built
first (compile time recorded; an empty inductor cache unless TORCHINDUCTOR_CACHE_DIR holds one),
then their steps interleaved (baseline, RGA-SC, compiled baseline, compiled RGA-SC, ...), so the
load of a shared machine weighs on all four alike. No memory or inference figures then; the
record goes to bench_model_compiled.json.

    python benchmarks/bench_model.py --write             # the committed record
    python benchmarks/bench_model.py --device cuda --batch 64
    python benchmarks/bench_model.py --compile --threads 1   # compiled RGA-SC / compiled baseline

It prints a table and writes its JSON record: ``benchmarks/results/bench_model.json`` (or
``bench_model_compiled.json``), which the book reads, only with --write and every variant; any
other run to ``benchmarks/scratch/`` (``rga.study.bench_records``).

Ratios are the figures to quote: absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {
    "baseline": dict(kind=None, positions=(), relation="factorised"),
    "rga-sc factorised": dict(kind="rga-sc", positions=(1, 2, 3, 4), relation="factorised"),
    "rga-sc materialised": dict(kind="rga-sc", positions=(1, 2, 3, 4), relation="materialised"),
}
TARGETS = {
    "step_time_vs_baseline_max": 1.3,
    "peak_memory_vs_baseline_max": 1.3,
    "speedup_vs_materialised_min": 2.5,
}
COMPILED_VARIANTS = ("baseline", "rga-sc factorised")
COMPILED_TARGETS = {"step_time_vs_baseline_max": 1.1}


def _rss_mib() -> float:
    """Current resident set size of this process (Linux), MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(variant: str, args: argparse.Namespace) -> dict:
    """Time training steps and inference of one variant in this process."""
    import torch

    from rga.losses import cross_entropy_label_smooth, triplet_hard
    from rga.model import ReIDNet

    torch.manual_seed(0)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    num_ids = args.batch // 4
    model = ReIDNet(
        num_classes=751, arch=args.arch, height=args.height, width=args.width, **VARIANTS[variant]
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=5e-4)
    images = torch.randn(args.batch, 3, args.height, args.width, device=device)
    targets = torch.arange(num_ids, device=device).repeat_interleave(4)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        out = model(images)
        loss = cross_entropy_label_smooth(out.logits, targets) + triplet_hard(out.z, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    rss_before = _rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        train_step()
    sync()
    step_times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        train_step()
        sync()
        step_times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak_total = torch.cuda.max_memory_allocated() / 2**20
        peak_increase = peak_total
    else:
        peak_total = _peak_rss_mib()
        peak_increase = peak_total - rss_before

    model.eval()
    infer_times = []
    with torch.no_grad():
        model(images)
        sync()
        for _ in range(args.steps):
            t0 = time.perf_counter()
            model(images)
            sync()
            infer_times.append(time.perf_counter() - t0)
    step = sorted(step_times)[len(step_times) // 2]
    infer = sorted(infer_times)[len(infer_times) // 2]
    return {
        "variant": variant,
        "step_time_s": step,
        "train_images_per_s": args.batch / step,
        "peak_memory_mib": peak_total,
        "step_memory_mib": peak_increase,
        "inference_images_per_s": args.batch / infer,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def measure_compiled(args: argparse.Namespace) -> list[dict]:
    """Eager and compiled training steps of the baseline and RGA-SC, interleaved in this process."""
    import torch

    from rga.losses import cross_entropy_label_smooth, triplet_hard
    from rga.model import ReIDNet

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    num_ids = args.batch // 4
    images = torch.randn(args.batch, 3, args.height, args.width, device=device)
    targets = torch.arange(num_ids, device=device).repeat_interleave(4)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def make_step(variant: str, compiled: bool):
        torch.manual_seed(0)
        model = ReIDNet(
            num_classes=751, arch=args.arch, height=args.height, width=args.width,
            **VARIANTS[variant],
        ).to(device).train()  # fmt: skip
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=5e-4)
        net = torch.compile(model) if compiled else model

        def train_step():
            out = net(images)
            loss = cross_entropy_label_smooth(out.logits, targets) + triplet_hard(out.z, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sync()

        return train_step

    steps, rows = {}, {}
    for compiled in (False, True):
        for variant in COMPILED_VARIANTS:
            name = f"{variant}{', compiled' if compiled else ''}"
            print(f"building {name} ...", file=sys.stderr, flush=True)
            steps[name] = make_step(variant, compiled)
            start = time.perf_counter()
            steps[name]()  # compiles forward and backward
            rows[name] = {"variant": name, "first_step_s": time.perf_counter() - start}
    times = {name: [] for name in steps}
    for repeat in range(args.warmup + args.steps):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if repeat >= args.warmup:
                times[name].append(time.perf_counter() - start)
    for name, row in rows.items():
        step = sorted(times[name])[len(times[name]) // 2]
        row.update(step_time_s=step, train_images_per_s=args.batch / step)
        row["compile_s"] = row.pop("first_step_s") - step if "compiled" in name else 0.0
        row["load_1min"] = os.getloadavg()[0]
    return list(rows.values())


def compiled_ratios(rows: dict[str, dict]) -> dict:
    base, fact = rows["baseline, compiled"], rows["rga-sc factorised, compiled"]
    eager_base, eager_fact = rows["baseline"], rows["rga-sc factorised"]
    return {
        "step_time_vs_baseline": fact["step_time_s"] / base["step_time_s"],
        "eager_step_time_vs_baseline": eager_fact["step_time_s"] / eager_base["step_time_s"],
        "baseline_compile_speedup": eager_base["step_time_s"] / base["step_time_s"],
        "rga_sc_compile_speedup": eager_fact["step_time_s"] / fact["step_time_s"],
    }


def print_compiled(rows: dict[str, dict], r: dict) -> None:
    for row in rows.values():
        print(
            f"{row['variant']:<30} step {row['step_time_s']:7.3f} s, "
            f"{row['train_images_per_s']:5.1f} img/s, compile {row['compile_s']:5.0f} s"
        )
    limit = COMPILED_TARGETS["step_time_vs_baseline_max"]
    ok = r["step_time_vs_baseline"] <= limit
    print(
        f"\nRGA-SC / baseline, step time: eager {r['eager_step_time_vs_baseline']:.2f}x, compiled "
        f"{r['step_time_vs_baseline']:.2f}x (target <= {limit}x: {'meets' if ok else 'MISSES'} "
        f"target); compile speeds up the baseline {r['baseline_compile_speedup']:.2f}x, RGA-SC "
        f"{r['rga_sc_compile_speedup']:.2f}x"
    )


def machine_info(device: str) -> dict:
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def ratios(rows: dict[str, dict]) -> dict:
    base, fact, mat = (rows[k] for k in VARIANTS)
    memory_key = "peak_memory_mib"
    return {
        "step_time_vs_baseline": fact["step_time_s"] / base["step_time_s"],
        "peak_memory_vs_baseline": fact[memory_key] / base[memory_key],
        "step_memory_vs_baseline": fact["step_memory_mib"] / base["step_memory_mib"],
        "speedup_vs_materialised": mat["step_time_s"] / fact["step_time_s"],
        "memory_saving_vs_materialised": mat[memory_key] / fact[memory_key],
        "inference_speedup_vs_materialised": (
            fact["inference_images_per_s"] / mat["inference_images_per_s"]
        ),
        "inference_vs_baseline": base["inference_images_per_s"] / fact["inference_images_per_s"],
    }


def print_table(rows: dict[str, dict], r: dict) -> None:
    head = f"{'variant':<22}{'step s':>9}{'train img/s':>13}{'peak MiB':>10}{'step MiB':>10}{'infer img/s':>13}"
    print(head)
    print("-" * len(head))
    for row in rows.values():
        print(
            f"{row['variant']:<22}{row['step_time_s']:>9.3f}{row['train_images_per_s']:>13.1f}"
            f"{row['peak_memory_mib']:>10.0f}{row['step_memory_mib']:>10.0f}"
            f"{row['inference_images_per_s']:>13.1f}"
        )
    print()

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    t = TARGETS
    print(
        f"RGA-SC factorised / baseline, step time:   {r['step_time_vs_baseline']:.2f}x "
        f"(target <= {t['step_time_vs_baseline_max']}x: "
        f"{verdict(r['step_time_vs_baseline'] <= t['step_time_vs_baseline_max'])})"
    )
    print(
        f"RGA-SC factorised / baseline, peak memory: {r['peak_memory_vs_baseline']:.2f}x "
        f"(target <= {t['peak_memory_vs_baseline_max']}x: "
        f"{verdict(r['peak_memory_vs_baseline'] <= t['peak_memory_vs_baseline_max'])}); "
        f"memory added by a step: {r['step_memory_vs_baseline']:.2f}x"
    )
    print(
        f"materialised / factorised, step time:      {r['speedup_vs_materialised']:.2f}x "
        f"(target >= {t['speedup_vs_materialised_min']}x: "
        f"{verdict(r['speedup_vs_materialised'] >= t['speedup_vs_materialised_min'])})"
    )
    print(f"materialised / factorised, peak memory:    {r['memory_saving_vs_materialised']:.2f}x")
    print(
        f"inference, factorised vs materialised:     {r['inference_speedup_vs_materialised']:.2f}x faster"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (the median is kept)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--compile", action="store_true", help="eager vs torch.compile, see above")
    parser.add_argument("--json", help="default: see rga.study.bench_records")
    parser.add_argument(
        "--write", action="store_true", help="replace the committed record (every variant only)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch % 4:
        parser.error("--batch must be a multiple of 4 (P identities x K=4 images)")

    if args.worker:  # child process: measure one variant, print JSON
        print(json.dumps(measure(args.worker, args)))
        return 0
    out, why = output(args, full={} if args.compile else {"variants": list(VARIANTS)})
    print(f"record: {out} ({why})", file=sys.stderr, flush=True)

    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    rows = {}
    if args.compile:
        args.variants = list(COMPILED_VARIANTS)
        rows = {row["variant"]: row for row in measure_compiled(args)}
    for variant in [] if args.compile else args.variants:
        print(f"measuring {variant} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, *passthrough, "--worker", variant],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        rows[variant] = json.loads(proc.stdout.strip().splitlines()[-1])

    record = {
        "benchmark": "bench_model",
        "command": " ".join(["python", *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "json", "write")},
        "machine": machine_info(args.device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": list(rows.values()),
    }
    if args.compile:
        record["ratios"] = compiled_ratios(rows)
        record["targets"] = COMPILED_TARGETS
        record["machine"]["load_1min"] = os.getloadavg()[0]
        print_compiled(rows, record["ratios"])
    elif set(rows) == set(VARIANTS):
        record["ratios"] = ratios(rows)
        record["targets"] = TARGETS
        print_table(rows, record["ratios"])
    else:
        for row in rows.values():
            print(row)
    from rga.study.bench_records import write_record

    write_record(record, out, why)
    return 0


def output(args: argparse.Namespace, full: dict) -> tuple[Path, str]:
    """Where this run's record goes, and why (`rga.study.bench_records.record_path`): the
    committed one only with --write and the options of `full` at their values there."""
    # imported here: a worker process measures its memory without the study's modules
    from rga.study.bench_records import partial_options, record_path

    name = "bench_model_compiled" if args.compile else "bench_model"
    partial = partial_options(args, full)
    return record_path(name, write=args.write, partial=partial, given=args.json)


if __name__ == "__main__":
    sys.exit(main())
