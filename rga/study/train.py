"""Train one run and write its results file; the training command line.

``train_run(config)`` trains (or resumes, or reuses) the run with ``rga.engine.train`` and writes
``<results_root>/<experiment>/<run_id>.json``. Command line (also under torchrun, one process
per GPU)::

    python -m rga.study.train cpu kind=rga-sc positions=3 seed=1
    torchrun --nproc_per_node 2 -m rga.study.train paper dataset=market1501 eval_feature=z_hat

The command line then records the run as the experiment notebooks do
(``rga.study.experiments.record_attention``: attention scores, saved maps and relations, ranked
lists); ``--no-record`` skips that.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path

from rga.engine.config import (
    PROFILES,
    RunConfig,
    config_from_dict,
    make_config,
    model_label,
    run_id,
)
from rga.engine.provenance import repo_relative
from rga.engine.train import metrics_line, train
from rga.study.results import make_record, write_result


def train_run(
    config: RunConfig,
    *,
    checkpoint_root: str | Path = "checkpoints",
    results_root: str | Path = "experiments/results",
    force: bool = False,
    on_epoch_end: Callable[[dict], None] | None = None,
    progress: bool = True,
    write: bool = True,
) -> dict | None:
    """Train the run of `config` (see `rga.engine.train.train`) and write its results file;
    return the results record (None on torchrun ranks other than 0).

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
        return None
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
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("profile", help=", ".join(PROFILES))
    parser.add_argument("overrides", nargs="*", help="field=value, e.g. epochs=3 positions=1,2")
    parser.add_argument("--checkpoint-root", default="checkpoints")
    parser.add_argument("--results-root", default="experiments/results")
    parser.add_argument("--force", action="store_true", help="retrain a finished run")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--no-record", action="store_true", help="skip the attention scores, maps and ranked lists"
    )
    args = parser.parse_args(argv)
    try:
        config = make_config(args.profile, **dict(_parse_override(o) for o in args.overrides))
    except (KeyError, TypeError, ValueError) as err:  # bad input: the message, no traceback
        parser.error(err.args[0] if err.args else str(err))
    record = train_run(
        config,
        checkpoint_root=args.checkpoint_root,
        results_root=args.results_root,
        force=args.force,
        progress=not args.no_progress,
    )
    if record is not None:
        print(f"{record['run_id']}: {metrics_line(record['metrics'])}")
        if not args.no_record:
            from rga.study.experiments import record_attention

            record_attention(config, record, args.results_root, args.checkpoint_root)


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
