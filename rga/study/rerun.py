"""Retrain one committed run at the code at hand and compare it with its results file.

``rerun(experiment, run_id)`` reads ``experiments/results/<experiment>/<run_id>.json``, checks
that the data at hand is the data the run was trained on (the same fingerprint, hence the same
run id), retrains that configuration from scratch (``rga.study.train.train_run`` with
``force=True`` and ``write=False``, into a temporary checkpoint folder: neither ``checkpoints/``
nor ``experiments/results/`` is touched) and writes ``experiments/rerun/<run_id>.json``:

* ``experiment``, ``run_id``, ``rerun_run_id`` (the run id the code at hand gives: the same),
  ``eval_feature`` (the feature whose metrics are compared);
* ``committed``: {git_commit, hardware, metrics {R1, mAP, mINP} in percent, final_loss (the
  last epoch's training loss)} of the results file;
* ``rerun``: the same of the retrained run, plus git_dirty and train_time_s;
* ``difference``: {R1, mAP, mINP, final_loss}, rerun - committed;
* ``curve``: where the two trainings part: ``first_epoch_differs`` (the first epoch, counted
  from 1, whose training loss differs; None when every epoch's loss is identical) and
  ``largest_loss_difference`` (over the epochs both have);
* ``created``: when the rerun finished (UTC).

Command line (from the repository root)::

    ls experiments/results/from_scratch/      # the run ids, as file names
    python -m rga.study.rerun from_scratch <run_id> [--device cpu]
    python -m rga.study.rerun from_scratch <run_id> --checkpoint-root DIR --reuse

``--reuse`` makes the record from a retraining already finished under ``--checkpoint-root`` (its
``final.pt``, e.g. one trained at another commit) instead of training again.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from rga.engine.config import DEVICES, RunConfig, config_from_dict
from rga.engine.config import run_id as config_run_id
from rga.study.report.formats import short_commit
from rga.study.report.paths import rerun_dir, results_dir
from rga.study.results import read_result, result_path, write_json

__all__ = [
    "RERUN_METRICS",
    "RerunRefused",
    "RunNotFound",
    "check_data",
    "committed_run",
    "main",
    "rerun",
    "rerun_record",
    "write_rerun",
]


RERUN_METRICS = ("R1", "mAP", "mINP")  # of the run's eval_feature, in percent


class RerunRefused(ValueError):
    """A rerun that cannot start (see the message); nothing was trained or written."""


class RunNotFound(RerunRefused, FileNotFoundError):
    """No results file of the run asked for."""


def committed_run(
    experiment: str, run_id: str, results_root: str | Path | None = None
) -> tuple[Path, dict]:
    """The path and content of ``<results_root>/<experiment>/<run_id>.json`` (default root:
    ``experiments/results``); `RunNotFound` names the folder or file missing and how to list
    what exists."""
    root = results_dir(None, results_root)
    folder = root / experiment
    if not folder.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise RunNotFound(
            f"experiment={experiment!r}: there is no results folder {folder}; experiments with "
            f"results: {', '.join(known) or 'none'}"
        )
    path = result_path(root, experiment, run_id)
    if not path.is_file():
        raise RunNotFound(
            f"run_id={run_id!r}: there is no results file {path}; the run ids of {experiment} "
            f"are the file names in its folder without .json: ls {folder}/"
        )
    return path, read_result(path)


def _config(
    record: dict, path: Path, data_root: str | Path | None, device: str | None
) -> RunConfig:
    """The configuration of results record `record` (read from `path`), on `data_root`
    (default: the one it records, else ``data``; relative paths under the repository) and
    `device` (default: the record's)."""
    from rga.study.experiments import notebook_fields

    stored = record["config"]
    fields = notebook_fields(data_root=data_root or stored.get("data_root"), device=device)
    try:
        return config_from_dict({**stored, **fields})
    except (TypeError, ValueError) as err:  # a field the code at hand lacks or refuses
        raise RerunRefused(
            f"{path} holds a configuration the code at hand does not accept ({err}); rerun at "
            f"the commit it was trained at, {record.get('git_commit', 'unknown')}"
        ) from None


def check_data(config: RunConfig, record: dict, path: Path, cache_dir: Path | None) -> None:
    """Load the data of `config` (``rga.engine.build.load_data``) and refuse, before anything is
    trained, data other than the run's (another fingerprint) or a configuration the code at hand
    names by another run id."""
    from rga.data import dataset_summary, format_summary, summary_changes
    from rga.engine.build import load_data

    data = dataset_summary(load_data(config, cache_dir=cache_dir, verbose=False))
    stored = record["data"]
    if data["fingerprint"] != stored["fingerprint"]:
        changes = "; ".join(summary_changes(stored, data)) or "other content"
        raise RerunRefused(
            f"{path} was trained on other data than the data at data_root={config.data_root}: "
            f"{changes} (trained on {format_summary(stored)}; now {format_summary(data)}). "
            "Pass the folder of the data it was trained on (--data-root); a SynthReID set "
            "generated on another machine or under other library versions is other data"
        )
    ours = config_run_id(config, data["fingerprint"])
    if ours != record["run_id"]:
        commit = record.get("git_commit", "unknown")
        raise RerunRefused(
            f"the code at hand names the configuration of {path} {ours!r}, not "
            f"{record['run_id']!r}: what defines a run changed since commit "
            f"{short_commit(commit)}; rerun at that commit (git worktree add ../at-{commit[:10]} "
            f"{commit})"
        )


def _side(record: dict) -> dict:
    """{git_commit, hardware, metrics {R1, mAP, mINP} of the eval_feature, final_loss}."""
    feature = record["config"].get("eval_feature", "z")
    metrics = record["metrics"].get(feature, {})
    curve = record.get("curve") or []
    return {
        "git_commit": record.get("git_commit"),
        "hardware": record.get("hardware"),
        "metrics": {m: _number(metrics.get(m)) for m in RERUN_METRICS},
        "final_loss": _number(curve[-1]["loss"]) if curve else None,
    }


def _number(value) -> float | None:
    return None if value is None else float(value)


def curve_divergence(committed: list[dict], retrained: list[dict]) -> dict:
    """{"first_epoch_differs": the first epoch (from 1) whose training loss differs between two
    curves, None when none does; "largest_loss_difference": the largest absolute difference
    over the epochs both have}. ``curve_divergence([{"loss": 2}, {"loss": 1}],
    [{"loss": 2}, {"loss": 1.5}])`` is {"first_epoch_differs": 2, "largest_loss_difference": 0.5}."""
    differences = [abs(a["loss"] - b["loss"]) for a, b in zip(committed, retrained, strict=False)]
    first = next((e for e, d in enumerate(differences, 1) if d != 0), None)
    if first is None and len(committed) != len(retrained):
        first = min(len(committed), len(retrained)) + 1
    return {
        "first_epoch_differs": first,
        "largest_loss_difference": max(differences, default=None),
    }


def rerun_record(experiment: str, committed: dict, retrained: dict) -> dict:
    """The rerun record (module docstring) of results record `committed` and the results
    record `retrained` of its retraining (``rga.study.train.train_run``)."""
    ours, theirs = _side(retrained), _side(committed)
    ours.update(git_dirty=retrained.get("git_dirty"), train_time_s=retrained.get("train_time_s"))
    pairs = {m: (ours["metrics"][m], theirs["metrics"][m]) for m in RERUN_METRICS}
    pairs["final_loss"] = (ours["final_loss"], theirs["final_loss"])
    return {
        "experiment": experiment,
        "run_id": committed["run_id"],
        "rerun_run_id": retrained["run_id"],
        "eval_feature": committed["config"].get("eval_feature", "z"),
        "committed": theirs,
        "rerun": ours,
        "difference": {n: None if None in p else p[0] - p[1] for n, p in pairs.items()},
        "curve": curve_divergence(committed.get("curve") or [], retrained.get("curve") or []),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_rerun(record: dict, out_root: str | Path | None = None) -> Path:
    """Write `record` to ``<out_root>/<run_id>.json`` (default ``experiments/rerun``), through
    a temporary file and os.replace. A rerun of the same run at another commit or on another
    CPU than the record already there is kept beside it, as
    ``<run_id>.<commit[:7]>-<cpu>.json``: each rerun is a measurement of its own."""
    path = rerun_dir(out_root) / f"{record['run_id']}.json"
    if path.is_file():
        there = json.loads(path.read_text())["rerun"]
        ours = record["rerun"]
        if (there.get("git_commit"), _cpu(there)) != (ours.get("git_commit"), _cpu(ours)):
            slug = "-".join(_cpu(ours).lower().replace("(r)", "").split())[:40]
            path = path.with_name(
                f"{record['run_id']}.{str(ours.get('git_commit'))[:7]}-{slug}.json"
            )
    return write_json(path, record)


def _cpu(side: dict) -> str:
    return str((side.get("hardware") or {}).get("cpu", "unknown cpu"))


@contextmanager
def _checkpoint_folder(checkpoint_root: str | Path | None) -> Iterator[Path]:
    """`checkpoint_root`, or a temporary folder removed afterwards."""
    if checkpoint_root is not None:
        yield Path(checkpoint_root)
        return
    with tempfile.TemporaryDirectory(prefix="rga-rerun-") as folder:
        yield Path(folder)


def rerun(
    experiment: str,
    run_id: str,
    *,
    device: str | None = None,
    data_root: str | Path | None = None,
    results_root: str | Path | None = None,
    out_root: str | Path | None = None,
    checkpoint_root: str | Path | None = None,
    progress: bool = True,
    reuse: bool = False,
) -> Path:
    """Retrain run `run_id` of `experiment` at the code at hand and write its rerun record
    (module docstring); return the record's path. With `reuse`, a retraining already finished
    under `checkpoint_root` is reported instead of trained again.

    `device`, `data_root`: where to train and the data (default: those of the results file;
    the data must be the run's, `RerunRefused` otherwise). `results_root`: the committed results
    (default ``experiments/results``), only read. `out_root`: where the record goes (default
    ``experiments/rerun``). `checkpoint_root`: where the retrained run's checkpoints go
    (default: a temporary folder, removed afterwards). One process; the data is checked before
    anything is trained or written.
    """
    from rga.engine.checkpoint import VERIFIED
    from rga.study.train import train_run

    if reuse and checkpoint_root is None:
        raise RerunRefused("reuse: name the folder of the finished retraining (--checkpoint-root)")
    path, committed = committed_run(experiment, run_id, results_root)
    config = _config(committed, path, data_root, device)
    with _checkpoint_folder(checkpoint_root) as checkpoints:
        check_data(config, committed, path, checkpoints / VERIFIED)
        trained = train_run(
            config, checkpoint_root=checkpoints, force=not reuse, progress=progress, write=False
        )
    return write_rerun(rerun_record(experiment, committed, trained), out_root)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.rerun", description=__doc__.split("\n")[0]
    )
    parser.add_argument("experiment", help="a folder of experiments/results, e.g. from_scratch")
    parser.add_argument("run_id", help="a results file's name without .json")
    parser.add_argument("--device", choices=DEVICES, help="default: the run's")
    parser.add_argument("--data-root", help="the data the run was trained on (default: its own)")
    parser.add_argument("--results-root", help="default: experiments/results")
    parser.add_argument("--out-root", help="default: experiments/rerun")
    parser.add_argument("--checkpoint-root", help="default: a temporary folder")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="report the retraining already finished under --checkpoint-root, do not train",
    )
    args = parser.parse_args(argv)
    try:
        path = rerun(
            args.experiment,
            args.run_id,
            device=args.device,
            data_root=args.data_root,
            results_root=args.results_root,
            out_root=args.out_root,
            checkpoint_root=args.checkpoint_root,
            progress=not args.no_progress,
            reuse=args.reuse,
        )
    except RerunRefused as err:  # bad input, named before training: the message, no traceback
        parser.error(str(err))
    difference = json.loads(path.read_text())["difference"]
    shown = ", ".join(f"{k} {'–' if v is None else f'{v:+.4f}'}" for k, v in difference.items())
    print(f"{path}: rerun - committed: {shown}")


if __name__ == "__main__":
    main()
