"""Time torchreid's evaluate_rank on a saved problem; run under torchreid's own interpreter.

Meant for the separate environment that bench_evaluation.py creates (torchreid installed with
--no-deps, numpy only, no torch). torchreid's package ``__init__``s import torch, so they are never
executed: empty package modules pointing at the real folders stand in for ``torchreid``,
``torchreid.reid`` and ``torchreid.reid.metrics``, and only ``metrics/rank.py`` (numpy only) is
loaded. Without the compiled rank_cy extension (the PyPI sdist of torchreid 0.2.5 does not ship
it) rank.py warns and uses its pure-Python ``eval_market1501``.

    .torchreid-env/bin/python benchmarks/torchreid_rank.py problem.npz --repeat 3

The .npz holds distmat, q_pids, g_pids, q_camids, g_camids. Prints one JSON object to stdout:
seconds (best of --repeat), mAP, cmc, torchreid_version, cython, numpy, python, package, warnings.
Must not import torch or rga.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import re
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

PACKAGES = ("torchreid", "torchreid.reid", "torchreid.reid.metrics")


def find_package(package: Path | None) -> Path:
    """The torchreid package folder: ``package`` or the installed one (found, not executed)."""
    if package is not None:
        return package.resolve()
    spec = importlib.util.find_spec("torchreid")  # a top-level find_spec runs no code
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torchreid is not installed for this interpreter; pass --package")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def load_rank(root: Path) -> tuple[types.ModuleType, list[str]]:
    """Import torchreid.reid.metrics.rank without running any torchreid ``__init__``."""
    folders = (root, root / "reid", root / "reid" / "metrics")
    for name, folder in zip(PACKAGES, folders, strict=True):
        module = types.ModuleType(name)
        module.__path__ = [str(folder)]
        sys.modules[name] = module
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rank = importlib.import_module("torchreid.reid.metrics.rank")
    return rank, [str(w.message) for w in caught]


def package_version(root: Path) -> str | None:
    """Version from the installed metadata if it describes ``root``, else ``__version__``."""
    try:
        dist = importlib.metadata.distribution("torchreid")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None and Path(str(dist.locate_file("torchreid"))).resolve() == root:
        return dist.version
    text = (root / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return found.group(1) if found else None


def time_rank(rank: types.ModuleType, problem: dict, repeat: int) -> tuple[float, tuple]:
    """Best of ``repeat`` calls of evaluate_rank; its prints go to stderr, not the JSON."""
    best, result = float("inf"), None
    with contextlib.redirect_stdout(sys.stderr):
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = rank.evaluate_rank(**problem, max_rank=50)
            best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("npz", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--package", type=Path, default=None, help="torchreid package folder")
    args = parser.parse_args(argv)

    root = find_package(args.package)
    rank, caught = load_rank(root)
    with np.load(args.npz) as data:
        problem = {k: data[k] for k in ("distmat", "q_pids", "g_pids", "q_camids", "g_camids")}
    seconds, (cmc, mAP) = time_rank(rank, problem, max(args.repeat, 1))
    record = {
        "seconds": seconds,
        "mAP": float(mAP),
        "cmc": [float(x) for x in np.asarray(cmc).ravel()],
        "torchreid_version": package_version(root),
        "cython": bool(getattr(rank, "IS_CYTHON_AVAI", False)),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "package": str(root),
        "warnings": caught,
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
