"""Train one run and write its results file; the training command line.

``train_run(config)`` trains (or resumes, or reuses) the run with ``rga.engine.train`` and writes
``<results_root>/<experiment>/<run_id>.json``; ``train_or_reuse`` also says whether it trained.
Command line (also under torchrun, one process per GPU)::

    python -m rga.study.train pretrained kind=rga-sc positions=3 seed=1 experiment=plugin_position
    python -m rga.study.train smoke kind=rga-sc positions=1,2,3,4 --results-root /tmp/scratch
    torchrun --nproc_per_node 2 -m rga.study.train paper dataset=market1501 --results-root runs

It writes where the notebooks do, ``experiments/results/<experiment>/``, the folder the book
reads, so it asks which table the run belongs to: without ``experiment=`` (or with the
config's placeholder ``experiment=default``) it refuses, unless ``--results-root`` names another
folder for a scratch run. Refusing, rather than writing to a default folder, keeps a run tried
by hand out of the committed results and makes the place a run lands a decision of its user.

The machine and the data are checked first (``rga.engine.config.check_environment``, the data
loaded and verified), then a run whose results file is there is finished, as in the notebooks
(``rga.study.reuse``): reused, nothing written, even when its checkpoints are gone (a fresh
clone); ``--force`` retrains it. Otherwise it trains (or reports the run from its checkpoint)
and records it as the experiment notebooks do (``rga.study.recording.record_attention``:
attention scores, saved maps and relations, ranked lists), the results file written last;
``--no-record`` skips the recording. Its last line says which: ``reused <run_id>: <metrics>``
or ``trained <run_id>: <metrics>``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from rga.data import CorruptImageError, DatasetFormatError, DatasetNotFoundError, dataset_summary
from rga.engine.build import load_data
from rga.engine.checkpoint import VERIFIED
from rga.engine.config import (
    PROFILES,
    RunConfig,
    check_environment,
    config_from_dict,
    make_config,
    model_label,
    run_id,
)
from rga.engine.distributed import world_size_hint
from rga.engine.provenance import repo_relative
from rga.engine.train import metrics_line, train
from rga.study.results import make_record, read_result, result_path, write_result
from rga.study.reuse import adopt_finished, code_commit, finished_files

RESULTS_ROOT = "experiments/results"  # the book's; the command line's default
SCRATCH_EXPERIMENT = RunConfig.experiment  # the config's placeholder, read by no notebook


def train_run(config: RunConfig, **options) -> dict | None:
    """Train the run of `config` (see `rga.engine.train.train`) and write its results file;
    return the results record (None on torchrun ranks other than 0). `options` as in
    `train_or_reuse`."""
    return train_or_reuse(config, **options)[0]


def train_or_reuse(
    config: RunConfig,
    *,
    checkpoint_root: str | Path = "checkpoints",
    results_root: str | Path = RESULTS_ROOT,
    force: bool = False,
    on_epoch_end: Callable[[dict], None] | None = None,
    progress: bool = True,
    write: bool = True,
) -> tuple[dict | None, bool]:
    """(the results record of `config`'s run, whether its ``final.pt`` was reused rather than
    trained by this call); `train_run` keeps the record only.

    The record is made from the run's ``final.pt`` alone (its config, with this experiment's
    name; metrics; data; the provenance of its training), so reporting a finished run again
    leaves its results file byte for byte as it was. `write=False` returns the record unwritten.
    """
    trained = train(
        config,
        checkpoint_root=checkpoint_root,
        force=force,
        on_epoch_end=on_epoch_end,
        progress=progress,
    )
    if trained is None:
        return None, False
    # the configuration that trained the run: fields left out of the run id (device, workers,
    # data_root, ...) are those of the training, not of this call
    trained_config = config_from_dict({**trained["config"], "experiment": config.experiment})
    checkpoint = repo_relative(trained["checkpoint"])
    record = make_record(
        trained_config,
        run_id=run_id(trained_config, trained["data"]["fingerprint"]),
        label=model_label(trained_config),
        metrics=trained["metrics"],
        curve=trained["curve"],
        train_time_s=sum(e["seconds"] for e in trained["curve"]),
        eval_time_s=trained["eval_time_s"],
        dataset_statistics=trained["dataset_statistics"],
        data=trained["data"],
        hardware=trained["hardware"],
        versions=trained["versions"],
        git_commit=trained["git_commit"],
        git_dirty=trained["git_dirty"],
        created=trained["created"],
        **({"checkpoint": checkpoint} if checkpoint else {}),
        **({"compile": trained["compile"]} if trained.get("compile") else {}),
    )
    if write:
        write_result(record, results_root)
    return record, trained["reused"]


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    config = _config(parser, args)
    results_root = args.results_root or RESULTS_ROOT
    rid = _checked_run_id(parser, config, args.checkpoint_root)
    if not args.force and _finished(config, rid, results_root):
        _say_reused(config, rid, results_root, recorded=not args.no_record)
        return
    record, reused = train_or_reuse(
        config,
        checkpoint_root=args.checkpoint_root,
        results_root=results_root,
        force=args.force,
        progress=not args.no_progress,
        write=args.no_record,  # else written last, by the recording, as the notebooks do
    )
    if record is None:  # a torchrun rank other than 0
        return
    if not args.no_record:
        from rga.study.recording import record_attention

        record_attention(config, record, results_root, args.checkpoint_root)
    word = "reused" if reused else "trained"
    print(f"{word} {record['run_id']}: {metrics_line(record['metrics'])}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("profile", help=", ".join(PROFILES))
    parser.add_argument(
        "overrides",
        nargs="*",
        help="field=value, e.g. experiment=plugin_position epochs=3 positions=1,2",
    )
    parser.add_argument("--checkpoint-root", default="checkpoints")
    parser.add_argument(
        "--results-root",
        help=f"default {RESULTS_ROOT} (the book's, which needs experiment=); another folder for "
        "a scratch run",
    )
    parser.add_argument("--force", action="store_true", help="retrain a finished run")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--no-record", action="store_true", help="skip the attention scores, maps and ranked lists"
    )
    return parser


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RunConfig:
    """The validated config of the command line; refuses bad fields and, for the book's results
    folder, a run that names no experiment."""
    try:
        config = make_config(args.profile, **dict(_parse_override(o) for o in args.overrides))
    except (KeyError, TypeError, ValueError) as err:  # bad input: the message, no traceback
        _refuse(parser, err.args[0] if err.args else str(err))
    if config.experiment == SCRATCH_EXPERIMENT and args.results_root is None:
        _refuse(
            parser,
            "experiment: give the table this run belongs to, e.g. experiment=plugin_position "
            f"(the book reads {RESULTS_ROOT}/<experiment>/); or --results-root DIR for a "
            "scratch run",
        )
    return config


def _checked_run_id(parser: argparse.ArgumentParser, config: RunConfig, checkpoint_root) -> str:
    """The run id of `config` on its data, once the machine and the data are checked: a
    device=cuda without a GPU or a missing data_root is refused before any run is reused."""
    try:
        check_environment(config, world_size_hint())
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        _refuse(parser, str(err))
    try:
        dataset = load_data(config, cache_dir=Path(checkpoint_root) / VERIFIED, verbose=False)
    except (CorruptImageError, DatasetFormatError, DatasetNotFoundError) as err:
        _refuse(parser, str(err))
    return run_id(config, dataset_summary(dataset)["fingerprint"])


def _finished(config: RunConfig, rid: str, results_root) -> bool:
    """Whether the run's results file is there, or was adopted from another experiment that
    finished it at this commit (`rga.study.reuse.adopt_finished`, as the notebooks do)."""
    if result_path(results_root, config.experiment, rid).is_file():
        return True
    return adopt_finished(results_root, config.experiment, rid, code_commit())


def _say_reused(config: RunConfig, rid: str, results_root, recorded: bool) -> None:
    """Print the reused run's line from its results file, which is left as it is."""
    path = result_path(results_root, config.experiment, rid)
    print(f"reused {rid}: {metrics_line(read_result(path)['metrics'])}")
    if recorded and not finished_files(results_root, config.experiment, rid):
        print(
            f"note: {path} has no attention files beside it (a --no-record run); delete it to "
            "record them from the run's checkpoint, or pass --force to retrain the run"
        )


def _refuse(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """Exit with status 2, `message` on the first line of the error output (argparse's
    ``parser.error`` puts the usage first)."""
    parser.exit(2, f"{parser.prog}: error: {message}\n{parser.format_usage()}")


def _parse_override(text: str) -> tuple[str, object]:
    """'epochs=3' -> ('epochs', 3): the value as a Python literal if it is one, else a string."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like field=value, e.g. epochs=3")
    name, value = text.split("=", 1)
    types = {f.name: f.type for f in dataclasses.fields(RunConfig)}
    if name in types and "str" in str(types[name]) and value not in ("None", "none"):
        return name, value
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


if __name__ == "__main__":
    main()
