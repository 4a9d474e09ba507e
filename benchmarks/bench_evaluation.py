"""Speed of rga.evaluation.evaluate_rank on a Market-1501-sized problem against a bare argsort.

A random distance matrix (float32, what compute_distance returns) of 3,368 queries x 19,732
gallery items by default; gallery identities as in Market-1501: about 19% junk (pid -1), 14%
distractors (pid 0), the rest spread over --ids identities; cameras uniform. Timed, best of
--repeat runs:
  * argsort (floor)           np.argsort(distmat, axis=1), the first step of every textbook
                              implementation (it then loops over the queries in Python)
  * evaluate_rank step        protocol "market", ap "step" (the default)
  * evaluate_rank trapezoid   protocol "market", ap "trapezoid"
  * evaluate_rank informative protocol "market", ap "step", on the same matrix with the distances
                              of same-identity pairs lowered by 0.5 (positives rank high, as with
                              a trained model)

A random matrix is the hardest case for evaluate_rank: the last positive of a query lies deep in
the gallery, so nearly every row must be sorted in full. Items beyond a query's last positive are
never sorted, which makes the informative case faster.

    python benchmarks/bench_evaluation.py                      # prints a table, writes JSON
    python benchmarks/bench_evaluation.py --queries 1400 --gallery 5328 --ids 700 --cameras 2

Ratios to the floor are the figures to quote: absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rga.evaluation import evaluate_rank


def market_like_problem(args: argparse.Namespace) -> tuple:
    rng = np.random.default_rng(args.seed)
    g_pids = rng.integers(1, args.ids + 1, args.gallery)
    kind = rng.random(args.gallery)
    g_pids[kind < 0.19] = -1  # junk
    g_pids[(kind >= 0.19) & (kind < 0.33)] = 0  # distractors
    q_pids = rng.integers(1, args.ids + 1, args.queries)
    q_camids = rng.integers(0, args.cameras, args.queries)
    g_camids = rng.integers(0, args.cameras, args.gallery)
    distmat = rng.random((args.queries, args.gallery), dtype=np.float32)
    return distmat, q_pids, g_pids, q_camids, g_camids


def best_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def machine_info() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=19732)
    parser.add_argument("--ids", type=int, default=750)
    parser.add_argument("--cameras", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/bench_evaluation.json")
    )
    args = parser.parse_args(argv)

    problem = market_like_problem(args)
    distmat, q_pids, g_pids = problem[:3]
    informative = np.where(q_pids[:, None] == g_pids[None, :], distmat - 0.5, distmat)  # float32
    runs = {
        "argsort (floor)": lambda: np.argsort(distmat, axis=1),
        "evaluate_rank step": lambda: evaluate_rank(*problem),
        "evaluate_rank trapezoid": lambda: evaluate_rank(*problem, ap="trapezoid"),
        "evaluate_rank informative": lambda: evaluate_rank(informative, *problem[1:]),
    }
    rows = {}
    for name, fn in runs.items():
        seconds, result = best_time(fn, args.repeat)
        rows[name] = {"seconds": seconds}
        if isinstance(result, dict):
            rows[name].update(
                mAP=result["mAP"],
                rank1=float(result["cmc"][0]),
                num_valid_queries=result["num_valid_queries"],
            )
    floor = rows["argsort (floor)"]["seconds"]
    for row in rows.values():
        row["ratio_to_argsort"] = row["seconds"] / floor

    print(
        f"{args.queries} queries x {args.gallery} gallery, {args.ids} ids, {args.cameras} cameras"
    )
    head = f"{'run':<26}{'seconds':>10}{'x argsort':>11}"
    print(head)
    print("-" * len(head))
    for name, row in rows.items():
        print(f"{name:<26}{row['seconds']:>10.2f}{row['ratio_to_argsort']:>11.2f}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "bench_evaluation",
        "command": " ".join(["python", *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(),
        "results": rows,
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
