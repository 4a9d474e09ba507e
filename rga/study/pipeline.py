"""The whole study in one command, in the order its rules need.

1. the pretrained trunk (``experiments/pretrain.ipynb``), unless committed;
2. the schedule grid and the rule's choice (``experiments/regime.ipynb``), unless a chosen
   schedule is committed;
3. every ablation table in the ``pretrained`` profile with the study's seeds
   (``plugin_position``, ``attention_variants``, ``attention_designs``, ``embedding_functions``);
4. the scale probes of ``book/scale.md`` (``experiments/scale.ipynb``: ``scale_ratios``, then
   ``scale_positions`` with its 192x96 trunk), with their planned seeds;
5. the from-scratch regime (``from_scratch``, ``cpu`` profile, three seeds).

Each step is what its notebook runs (the notebooks call the same functions); finished runs are
reused, so a killed pipeline resumes. Command line::

    python -m rga.study.pipeline                       # CPU, one run per core
    python -m rga.study.pipeline --device cuda --jobs 12
"""

from __future__ import annotations

import argparse
import time

from rga.engine.config import make_config
from rga.study import pretrain, regime
from rga.study.experiments import run_experiment
from rga.study.report.paths import repo_root

TABLES = ("plugin_position", "attention_variants", "attention_designs", "embedding_functions")
STUDY_PROFILE = "pretrained"  # the profile of every table of the study in the paper's regime
FROM_SCRATCH_SEEDS = "0,1,2"
STEPS = ("pretrain", "regime", "tables", "scale", "from_scratch")


def run_study(
    *,
    device: str | None = None,
    jobs: int | None = None,
    steps: tuple[str, ...] = STEPS,
    experiments: tuple[str, ...] = TABLES,
    progress: bool = True,
) -> None:
    """Run the steps of the study in order (see the module docstring)."""
    fields = {"device": device} if device else {}
    data_root = str(repo_root() / "data")
    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{(time.perf_counter() - started) / 60:6.1f} min] {text}", flush=True)

    if "pretrain" in steps:
        if pretrain.trunk_manifest() is None:
            say("pretraining the trunk")
            config = make_config("pretrain", data_root=data_root, **fields)
            manifest = pretrain.pretrain_trunk(config, progress=progress)
            say(f"trunk {manifest['file']}")
        else:
            say(f"trunk committed: {pretrain.trunk_manifest()['file']}")
    committed = regime.committed_choice()
    if "regime" in steps and committed and committed["schedule"]:
        say(f"schedule committed: {committed['schedule_name']}")
    elif "regime" in steps:
        say("schedule grid")
        runs = run_experiment("regime", STUDY_PROFILE, "0", jobs=jobs, progress=progress, **fields)
        choice = regime.record_choice(runs)
        say(f"the rule chose: {choice['schedule_name']}")
        if choice["schedule"] is None:
            raise SystemExit("no schedule of the grid converged by the rule; the study stops here")
    if "tables" in steps:
        for name in experiments:
            say(f"{name}")
            run_experiment(name, STUDY_PROFILE, "study", jobs=jobs, progress=progress, **fields)
    if "scale" in steps:
        from rga.study.scale import PROBES, run_probes

        say(f"scale probes {', '.join(PROBES)}")
        run_probes(PROBES, seeds="study", jobs=jobs, progress=progress, **fields)
    if "from_scratch" in steps:
        say("from_scratch")
        run_experiment(
            "from_scratch", "cpu", FROM_SCRATCH_SEEDS, jobs=jobs, progress=progress, **fields
        )
    say("done")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the docstring's lines as written
    )
    parser.add_argument("--device", help="cpu or cuda (default: each profile's)")
    parser.add_argument("--jobs", type=int, help="trainings at once (default: one per core)")
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"comma-separated subset of {','.join(STEPS)}",
    )
    parser.add_argument("--experiments", default=",".join(TABLES), help="tables to run")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    steps = tuple(s for s in args.steps.split(",") if s)
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(
            f"--steps {args.steps!r}: unknown step(s) {unknown}; e.g. --steps regime,tables"
        )
    experiments = tuple(e for e in args.experiments.split(",") if e)
    unknown = sorted(set(experiments) - set(TABLES))
    if unknown:
        parser.error(f"--experiments: unknown {unknown}; choose from {', '.join(TABLES)}")
    run_study(
        device=args.device,
        jobs=args.jobs,
        steps=steps,
        experiments=experiments,
        progress=not args.no_progress,
    )


if __name__ == "__main__":
    main()
