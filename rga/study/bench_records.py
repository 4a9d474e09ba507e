"""Where a benchmark writes its record, so that trying one never changes what the book shows.

``benchmarks/results/<name>.json`` are the committed records the book's Performance page reads
(every ``*.json`` there). A benchmark replaces its record only when asked with ``--write`` and
when the run is the full one (every comparison, the default problem). Any other run goes to
``benchmarks/scratch/``, beside it (ignored by git): a full run without ``--write`` to ``<name>.json``, a
partial one (``--no-torchreid``, a subset of models or threads, a comparison that could not
run) to ``<name>.partial.json``, even with ``--write``. ``--json PATH`` outside
``benchmarks/results/`` writes there; inside it, it obeys the same rule as the default path.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rga.engine.atomic import atomic_write
from rga.study.report.paths import benchmarks_dir

__all__ = ["partial_options", "record_path", "write_record"]


def partial_options(args: argparse.Namespace, full: dict[str, object]) -> list[str]:
    """The options of `args` that narrow the run from the full one, as typed:
    ``["--no-torchreid", "--threads 1"]``. `full` maps each option's dest to its value in the
    full run; lists compare as sets (``--threads 2 1`` is the full ``[1, 2]``)."""
    narrowed = []
    for dest, value in full.items():
        given = getattr(args, dest)
        if _as_set(given) == _as_set(value):
            continue
        flag = "--" + dest.replace("_", "-")
        shown = " ".join(map(str, given)) if isinstance(given, list | tuple) else str(given)
        narrowed.append(flag if given is True else f"{flag} {shown}")
    return narrowed


def record_path(
    name: str,
    *,
    write: bool,
    partial: list[str],
    given: str | Path | None = None,
    results_dir: str | Path | None = None,
) -> tuple[Path, str]:
    """(where benchmark `name` writes its record, a line saying why there).

    `write`: ``--write`` was given; `partial`: what narrows the run (`partial_options`, and any
    comparison that was skipped); `given`: ``--json``. `results_dir` defaults to
    ``benchmarks/results/`` (``rga.study.report.paths.benchmarks_dir``, which
    ``RGA_BENCHMARKS_ROOT`` moves); the scratch folder is ``scratch/`` beside it.
    """
    results = Path(results_dir) if results_dir else benchmarks_dir()
    scratch = results.parent / "scratch"
    target = Path(given) if given else results / f"{name}.json"
    if not target.resolve().is_relative_to(results.resolve()):
        return target, "given with --json"
    if partial:
        return scratch / f"{name}.partial.json", (
            f"a partial run ({', '.join(partial)}); the committed {target} is left as it is"
        )
    if not write:
        return scratch / f"{name}.json", (
            f"the committed {target} is left as it is; --write replaces it with this run"
        )
    return target, "--write: replaces the committed record"


def write_record(record: dict, path: Path, why: str) -> None:
    """Write `record` as JSON to `path` in one step and say where it went, and why there."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {path} ({why})")


def _as_set(value: object) -> object:
    return frozenset(value) if isinstance(value, list | tuple) else value
