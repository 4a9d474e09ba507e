"""The scale probes of ``book/scale.md``, run in the study's regime as it stands.

* ``scale_ratios`` (probe 1): RGA-SC x4, RGA-SC w/o Rel. x4 and CBAM-CS x4 with the modules at
  the official internal sizes, in the study's profile; the baseline is the study's.
* ``scale_positions`` (probe 2): the baseline, RGA-SC x4 and RGA-SC w/o Rel. x4 at 192x96
  (profile ``pretrained-192x96``). Its trunk is pretrained first when it is missing (profile
  ``pretrain-192x96``, ``experiments/pretrained/trunk-192x96.json``), and with the study's seeds
  it also trains the run the rule's convergence measure needs there: RGA-SC x4, seed 0, under the
  grid's schedule next longer than the chosen one (the check the official-init study made at
  96x48).

``run_probe`` is what ``experiments/scale.ipynb`` calls; the pipeline's ``scale`` step runs both
probes in one pool (``run_probes``), so that no core waits between them.
"""

from __future__ import annotations

import pandas as pd

from rga.engine.config import LARGE_PROFILE, LARGE_TRUNK_MANIFEST, RunConfig, make_config
from rga.study.experiments import (
    ALL_STAGES,
    PROBE_PROFILES,
    experiment_configs,
    notebook_fields,
    run_configs,
)
from rga.study.report.paths import results_dir

__all__ = ["PROBES", "run_probe", "run_probes", "schedule_check_config"]

PROBES = tuple(PROBE_PROFILES)


def schedule_check_config(profile: str = LARGE_PROFILE, **fields) -> RunConfig:
    """RGA-SC x4, seed 0, in ``profile`` under the grid's compressed schedule next longer than the
    chosen one (``rga.study.regime``), filed under the ``regime`` experiment; ``fields`` other
    than the schedule's apply to it."""
    from rga.study.regime import GRID, committed_choice, next_longer

    choice = committed_choice()
    longer = next_longer(choice["schedule_name"]) if choice and choice["schedule"] else None
    if longer is None:
        raise ValueError(
            "the schedule check needs a chosen schedule with a longer one in the grid "
            "(experiments/regime/choice.json); run experiments/regime.ipynb first"
        )
    fields = {k: v for k, v in fields.items() if k not in GRID[longer]}  # the check's schedule
    return make_config(
        profile, experiment="regime", kind="rga-sc", positions=ALL_STAGES, seed=0,
        **GRID[longer], **fields,
    )  # fmt: skip


def run_probe(
    probe: str,
    profile: str | None = None,
    seeds="study",
    overrides=None,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
    **fields,
) -> pd.DataFrame:
    """Train (or reuse) every run of one probe; its runs as ``run_experiment`` returns them.

    ``profile``: None for the probe's own (``PROBE_PROFILES``); e.g. "smoke" to try it in a
    minute. ``seeds``, ``overrides`` and ``fields`` as in ``experiment_configs``. With the
    192x96 profile the trunk is pretrained first when missing, and ``seeds="study"`` adds the
    schedule check (module docstring).
    """
    from rga.study.report.runs import load_runs

    ids = run_probes((probe,), profile, seeds, overrides, jobs=jobs, force=force,
                     progress=progress, **fields)  # fmt: skip
    if not ids:
        return pd.DataFrame()
    runs = load_runs(probe, results_dir(), profiles=None)
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True)


def run_probes(
    probes=PROBES,
    profile: str | None = None,
    seeds="study",
    overrides=None,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
    **fields,
) -> list[str]:
    """Train (or reuse) every run of ``probes`` in one pool of ``jobs`` workers, in the probes'
    order (no core waits at the end of one probe); their run ids. Arguments as in
    :func:`run_probe`; every probe is checked before anything trains."""
    unknown = [p for p in probes if p not in PROBE_PROFILES]
    if unknown:
        raise ValueError(f"probe={unknown[0]!r} is not a scale probe; choose one of {list(PROBES)}")
    profiles = {p: profile or PROBE_PROFILES[p] for p in probes}
    for probe in probes:  # bad seeds, overrides or fields fail here, before the trunk
        experiment_configs(probe, profiles[probe], seeds, overrides, **fields)
    if LARGE_PROFILE in profiles.values():
        _ensure_large_trunk(notebook_fields(None, **fields), progress)
    configs = []
    for probe in probes:  # built after the trunk: the 192x96 runs name its file
        configs += experiment_configs(probe, profiles[probe], seeds, overrides, **fields)
        if profiles[probe] == LARGE_PROFILE and seeds == "study":
            configs.append(
                schedule_check_config(LARGE_PROFILE, **notebook_fields(overrides, **fields))
            )
    return run_configs(configs, jobs=jobs, force=force, progress=progress)


def _ensure_large_trunk(fields: dict, progress: bool) -> None:
    """Pretrain the 192x96 trunk unless its manifest is committed."""
    from rga.study.pretrain import pretrain_trunk, trunk_manifest

    if trunk_manifest(name=LARGE_TRUNK_MANIFEST) is not None:
        return
    keep = {k: v for k, v in fields.items() if k in ("data_root", "device")}
    print("pretraining the 192x96 trunk (profile pretrain-192x96) first", flush=True)
    pretrain_trunk(make_config("pretrain-192x96", experiment="pretrain", **keep), progress=progress)
