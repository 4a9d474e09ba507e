"""Speed of rga.evaluation.evaluate_rank on a Market-1501-sized problem vs argsort and torchreid.

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
and, on the same problem with the junk gallery columns removed (each with its own floor):
  * argsort, junk removed (floor)    np.argsort of the junk-free matrix
  * evaluate_rank, junk removed      protocol "market", ap "step"
  * torchreid evaluate_rank (python) torchreid 0.2.5 from PyPI (KaiyangZhou's deep-person-reid
                                     1.4.0 repackaged), Market protocol, pure-Python
                                     eval_market1501: the sdist does not ship the Cython rank_cy
                                     source, so torchreid warns and falls back to it

Junk is removed first because torchreid's evaluate_rank does not drop pid -1 (its Market1501
loader drops those images when loading), whereas ours does at evaluation time. torchreid runs in
its own environment (--torchreid-env, created on first use with python -m venv and
pip install --no-deps torchreid==0.2.5 numpy==<this numpy>; no torch) through
benchmarks/torchreid_rank.py, which loads only torchreid/reid/metrics/rank.py. If the environment
cannot be made (offline, say) or the run fails, torchreid is skipped with the reason in the output
and the JSON; --no-torchreid skips it on purpose.

Agreement: CMC ranks 1..50 and mAP of torchreid against evaluate_rank (junk removed), tolerance
1e-4. Both compute the same step AP and CMC; what differs is rounding (torchreid sums the CMC in
float32, errors ~1e-7) and ties: random float32 in [0, 1) takes ~2^24 values, so a few positives
tie with a negative, and torchreid orders ties by np.argsort's default (unstable) sort while we
order them by gallery index. A swapped tie moves one query's AP by about 1/rank^2 and a CMC
entry by 1/(valid queries) only if it decides a first match in the top 50, which is rare for a
random matrix; so differences stay far below 1e-4, and a larger one is reported as a
disagreement (with its size in queries) rather than hidden.

A random matrix is the hardest case for evaluate_rank: the last positive of a query lies deep in
the gallery, so nearly every row must be sorted in full. Items beyond a query's last positive are
never sorted, which makes the informative case faster.

    python benchmarks/bench_evaluation.py --write              # the committed record
    python benchmarks/bench_evaluation.py --queries 1400 --gallery 5328 --ids 700 --cameras 2
    python benchmarks/bench_evaluation.py --no-torchreid       # ours and argsort only

It prints a table and writes its JSON record: ``benchmarks/results/bench_evaluation.json``, which
the book reads, only with --write and a full run (the default problem, torchreid compared);
any other run to ``benchmarks/scratch/`` (``rga.study.bench_records``).

Ratios to the floor are the figures to quote: absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rga.evaluation import evaluate_rank
from rga.study.bench_records import partial_options, record_path, write_record

TORCHREID = "torchreid==0.2.5"
TORCHREID_SCRIPT = Path(__file__).with_name("torchreid_rank.py")
TOLERANCE = 1e-4  # see the module docstring
FLOOR = "argsort (floor)"
FLOOR_NO_JUNK = "argsort, junk removed (floor)"
OURS_NO_JUNK = "evaluate_rank, junk removed"
THEIRS = "torchreid evaluate_rank (python)"
FULL_RUN = ("queries", "gallery", "ids", "cameras", "no_torchreid")  # the committed record's


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


def without_junk(problem: tuple) -> tuple:
    """The same problem without the junk gallery columns (pid -1), as torchreid expects it."""
    distmat, q_pids, g_pids, q_camids, g_camids = problem
    keep = g_pids != -1
    return np.ascontiguousarray(distmat[:, keep]), q_pids, g_pids[keep], q_camids, g_camids[keep]


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


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


def _run(cmd: list, timeout: float) -> str | None:
    """Run a command; None on success, else a one-line reason."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{Path(str(cmd[0])).name}: {err}"
    if done.returncode == 0:
        return None
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return f"{' '.join(map(str, cmd[:3]))} ... exited {done.returncode}: {tail[0]}"


def ensure_torchreid_env(env: Path) -> str | None:
    """Create ``env`` with torchreid (no deps) and this numpy if needed; None or why not."""
    if not env_python(env).exists():
        print(f"creating {env} (python -m venv; pip install {TORCHREID}) ...", flush=True)
        reason = _run([sys.executable, "-m", "venv", str(env)], timeout=300)
        if reason:
            return f"could not create {env}: {reason}"
    if list(env.glob("lib/python*/site-packages/torchreid-*.dist-info")):
        return None
    pip = [env / "bin" / "pip", "install", "--quiet", "--no-deps", TORCHREID]
    reason = _run([*pip, f"numpy=={np.__version__}"], timeout=900)
    return f"could not install {TORCHREID} into {env}: {reason}" if reason else None


def run_torchreid(env: Path, problem: tuple, repeat: int) -> tuple[dict | None, str | None]:
    """torchreid_rank.py under the env's python on ``problem``: (its JSON, None) or (None, why)."""
    names = ("distmat", "q_pids", "g_pids", "q_camids", "g_camids")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "problem.npz"
        np.savez(npz, **dict(zip(names, problem, strict=True)))
        cmd = [env_python(env), TORCHREID_SCRIPT, npz, "--repeat", str(repeat)]
        try:
            done = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=7200)
        except (OSError, subprocess.TimeoutExpired) as err:
            return None, f"could not run {cmd[0]}: {err}"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return None, f"torchreid_rank.py exited {done.returncode}: {tail[0]}"
    try:
        return json.loads(done.stdout.strip().splitlines()[-1]), None
    except (IndexError, json.JSONDecodeError) as err:
        return None, f"torchreid_rank.py printed no JSON: {err}"


def agreement(ours: dict, theirs: dict, tolerance: float = TOLERANCE) -> dict:
    """Max |CMC difference| over the common ranks, |mAP difference|, and whether both <= tolerance.

    ``ours``: evaluate_rank's dict; ``theirs``: torchreid_rank.py's JSON (cmc list, mAP).
    """
    n = min(len(ours["cmc"]), len(theirs["cmc"]))
    diff_cmc = np.abs(np.asarray(ours["cmc"][:n], float) - np.asarray(theirs["cmc"][:n], float))
    max_cmc = float(diff_cmc.max(initial=0.0))
    diff_map = abs(float(ours["mAP"]) - float(theirs["mAP"]))
    valid = int(ours["num_valid_queries"])
    return {
        "ranks_compared": n,
        "max_abs_diff_cmc": max_cmc,
        "abs_diff_mAP": diff_map,
        "cmc_ranks_differing": int((diff_cmc > tolerance).sum()),
        "max_abs_diff_cmc_in_queries": max_cmc * valid,
        "tolerance": tolerance,
        "agree": bool(max_cmc <= tolerance and diff_map <= tolerance),
        "queries": valid + int(ours["num_skipped_queries"]),
        "num_valid_queries": valid,
        "torchreid_version": theirs.get("torchreid_version"),
        "cython": theirs.get("cython"),
    }


def verdict(rows: dict, agree: dict) -> str:
    """One line: how much slower torchreid is, and whether the numbers agree."""
    ratio = rows[THEIRS]["seconds"] / rows[OURS_NO_JUNK]["seconds"]
    speed = f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster"
    worst = max(agree["max_abs_diff_cmc"], agree["abs_diff_mAP"])
    if agree["agree"]:
        numbers = f"numbers agree to {worst:.1g} (tolerance {agree['tolerance']:g})"
    else:
        numbers = (
            f"numbers DISAGREE: max |dCMC| {agree['max_abs_diff_cmc']:.3g} "
            f"(~{agree['max_abs_diff_cmc_in_queries']:.1f} queries, "
            f"{agree['cmc_ranks_differing']} ranks), |dmAP| {agree['abs_diff_mAP']:.3g} "
            f"(tolerance {agree['tolerance']:g})"
        )
    cython = "Cython" if agree["cython"] else "pure Python, no Cython"
    return (
        f"torchreid {agree['torchreid_version']} ({cython}): {speed} than evaluate_rank; {numbers}"
    )


def time_runs(runs: dict, repeat: int, floor: str) -> tuple[dict, dict]:
    """Time each run (best of ``repeat``): rows (seconds, floor name, ratio to it), and results."""
    rows, results = {}, {}
    for name, fn in runs.items():
        seconds, result = best_time(fn, repeat)
        results[name] = result
        rows[name] = {"seconds": seconds}
        if isinstance(result, dict):
            rows[name].update(
                mAP=result["mAP"],
                rank1=float(result["cmc"][0]),
                num_valid_queries=result["num_valid_queries"],
            )
    for row in rows.values():
        row["floor"] = floor
        row["ratio_to_argsort"] = row["seconds"] / rows[floor]["seconds"]
    return rows, results


def torchreid_rows(args: argparse.Namespace, problem: tuple) -> tuple[dict, dict, dict | None]:
    """Rows of the junk-free comparison, a torchreid status record, and the agreement (or None)."""
    clean = without_junk(problem)
    runs = {
        FLOOR_NO_JUNK: lambda: np.argsort(clean[0], axis=1),
        OURS_NO_JUNK: lambda: evaluate_rank(*clean),
    }
    rows, results = time_runs(runs, args.repeat, FLOOR_NO_JUNK)
    status = {
        "env": str(args.torchreid_env),
        "skipped": None,
        "gallery_without_junk": clean[0].shape[1],
    }
    if args.no_torchreid:
        status["skipped"] = "--no-torchreid"
        return rows, status, None
    reason = ensure_torchreid_env(args.torchreid_env)
    theirs = None
    if reason is None:
        theirs, reason = run_torchreid(args.torchreid_env, clean, args.repeat)
    if reason is not None:
        status["skipped"] = reason
        return rows, status, None
    status.update({k: theirs[k] for k in ("torchreid_version", "cython", "numpy", "warnings")})
    rows[THEIRS] = {
        "seconds": theirs["seconds"],
        "mAP": theirs["mAP"],
        "rank1": theirs["cmc"][0],
        "floor": FLOOR_NO_JUNK,
        "ratio_to_argsort": theirs["seconds"] / rows[FLOOR_NO_JUNK]["seconds"],
    }
    return rows, status, agreement(results[OURS_NO_JUNK], theirs)


def print_table(args: argparse.Namespace, rows: dict) -> None:
    print(
        f"{args.queries} queries x {args.gallery} gallery, {args.ids} ids, {args.cameras} cameras"
    )
    head = f"{'run':<34}{'seconds':>10}{'x floor':>9}"
    print(head)
    print("-" * len(head))
    for name, row in rows.items():
        print(f"{name:<34}{row['seconds']:>10.2f}{row['ratio_to_argsort']:>9.2f}")


def print_torchreid(status: dict, agree: dict | None, rows: dict) -> None:
    if status["skipped"]:
        print(f"torchreid skipped: {status['skipped']}")
        return
    print(
        f"torchreid compared on the junk-free gallery ({status['gallery_without_junk']} items); "
        + "; ".join(status["warnings"] or ["no import warnings"])
    )
    if status["numpy"] != np.__version__:
        print(f"note: torchreid's env has numpy {status['numpy']}, this one {np.__version__}")
    print(verdict(rows, agree))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=3368)
    parser.add_argument("--gallery", type=int, default=19732)
    parser.add_argument("--ids", type=int, default=750)
    parser.add_argument("--cameras", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="default: see rga.study.bench_records")
    parser.add_argument(
        "--write", action="store_true", help="replace the committed record (a full run only)"
    )
    parser.add_argument("--torchreid-env", type=Path, default=Path("benchmarks/.torchreid-env"))
    parser.add_argument("--no-torchreid", action="store_true", help="skip the torchreid rows")
    args = parser.parse_args(argv)
    full = {dest: parser.get_default(dest) for dest in FULL_RUN}
    print("record: {} ({})".format(*output(args, full)), flush=True)

    problem = market_like_problem(args)
    distmat, q_pids, g_pids = problem[:3]
    informative = np.where(q_pids[:, None] == g_pids[None, :], distmat - 0.5, distmat)  # float32
    runs = {
        FLOOR: lambda: np.argsort(distmat, axis=1),
        "evaluate_rank step": lambda: evaluate_rank(*problem),
        "evaluate_rank trapezoid": lambda: evaluate_rank(*problem, ap="trapezoid"),
        "evaluate_rank informative": lambda: evaluate_rank(informative, *problem[1:]),
    }
    rows = time_runs(runs, args.repeat, FLOOR)[0]
    clean_rows, status, agree = torchreid_rows(args, problem)
    rows.update(clean_rows)
    print_table(args, rows)
    print_torchreid(status, agree, rows)

    record = {
        "benchmark": "bench_evaluation",
        "command": " ".join(["python", *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(),
        "results": rows,
        "torchreid": status,
        "torchreid_agreement": agree,
    }
    failed = status["skipped"] and not args.no_torchreid  # torchreid could not run
    write_record(record, *output(args, full, [f"torchreid: {status['skipped']}"] if failed else []))
    return 0


def output(args: argparse.Namespace, full: dict, skipped: list[str] = ()) -> tuple[Path, str]:
    """Where this run's record goes, and why (`rga.study.bench_records.record_path`): the
    committed one only with --write, the default problem and torchreid compared."""
    partial = [*partial_options(args, full), *skipped]
    return record_path("bench_evaluation", write=args.write, partial=partial, given=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
