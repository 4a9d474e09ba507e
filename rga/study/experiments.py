"""The study's experiments: which models each notebook trains, and how a notebook runs them.

`EXPERIMENTS` names the models of each ablation; `run_experiment` trains them (resuming, or
reusing a finished run another notebook trained), scores their spatial attention against the
SynthReID person masks and part maps, saves the attention maps and relations of a fixed panel of
test images and the ranked lists of a few fixed queries for the book, and returns the results as
a DataFrame. Notebooks call this and nothing else of the training
machinery, so no logic is copied between them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from rga.engine.config import RunConfig, check_environment, make_config, model_label, run_id
from rga.study.recording import (  # noqa: F401  (names callers read from here)
    PANEL_SAVED,
    PANEL_SCORED,
    AttentionPanel,
    attention_panel,
    record_attention,
)
from rga.study.regime import grid_models
from rga.study.report.paths import checkpoints_dir, repo_root, results_dir

ALL_STAGES = (1, 2, 3, 4)
BASELINE = {"kind": None, "positions": ()}
# The official module's internal sizes at our scale (book/scale.md, probe 1): channel and spatial
# reductions 1 and head reduction 8 give the half-width ResNet-18 at 96x48 the gate heads and
# affinity widths of the official module at 256x128; CBAM's MLP at r = 2 has the hidden widths
# of r = 16 on the paper's ResNet-50.
OFFICIAL_RATIOS = (1, 1, 8)
OFFICIAL_SIZES_RGA_SC = {"kind": "rga-sc", "positions": ALL_STAGES, "rga_ratios": OFFICIAL_RATIOS}
OFFICIAL_SIZES_RGA_SC_NOREL = {**OFFICIAL_SIZES_RGA_SC, "kind": "rga-sc-norel"}
OFFICIAL_SIZES_CBAM = {"kind": "cbam", "positions": ALL_STAGES, "cbam_reduction": 2}

EXPERIMENTS: dict[str, tuple[dict, ...]] = {
    # Supplementary Table 2: one RGA-SC module after conv2_x .. conv5_x alone, and after all four.
    "plugin_position": (
        BASELINE,
        {"kind": "rga-sc", "positions": (1,)},
        {"kind": "rga-sc", "positions": (2,)},
        {"kind": "rga-sc", "positions": (3,)},
        {"kind": "rga-sc", "positions": (4,)},
        {"kind": "rga-sc", "positions": ALL_STAGES},
    ),
    # The main paper's Table 1 (RGA's own ablation) and supplementary Figure 1 (CBAM, RGA-SC
    # w/o Rel.), all at the four positions.
    "attention_variants": (
        BASELINE,
        *(
            {"kind": kind, "positions": ALL_STAGES}
            for kind in (
                "rga-s-norel",
                "rga-s-noori",
                "rga-s",
                "rga-c-norel",
                "rga-c-noori",
                "rga-c",
                "rga-sc-parallel",
                "rga-cs",
                "rga-sc",
                "rga-sc-norel",
                "cbam",
            )
        ),
    ),
    # The main paper's Table 2: other attention designs on the same baseline, beside RGA.
    "attention_designs": (
        BASELINE,
        *(
            {"kind": kind, "positions": ALL_STAGES}
            for kind in ("cbam-s", "cbam-c", "cbam", "se", "nonlocal", "rga-s", "rga-c", "rga-sc")
        ),
    ),
    # The main paper's Table 4: the embedding functions of the relation in RGA-SC.
    "embedding_functions": tuple(
        {"kind": "rga-sc", "positions": ALL_STAGES, "rga_embedding": embedding}
        for embedding in ("none", "symmetric", "asymmetric")
    ),
    # The first study's regime kept as a finding: from scratch, the `cpu` profile.
    "from_scratch": (
        BASELINE,
        {"kind": "rga-sc", "positions": ALL_STAGES},
        {"kind": "cbam", "positions": ALL_STAGES},
    ),
    # The schedule grid of rga.study.regime: the baseline and RGA-SC x4 under each schedule.
    "regime": grid_models(),
    # Scale probe 1 (book/scale.md): the modules at the official internal sizes, in the study's
    # profile; the baseline is the study's (nothing but the module changes).
    "scale_ratios": (OFFICIAL_SIZES_RGA_SC, OFFICIAL_SIZES_RGA_SC_NOREL, OFFICIAL_SIZES_CBAM),
    # Scale probe 2: the study at 192x96 (profile "pretrained-192x96", `PROBE_PROFILES`).
    "scale_positions": (
        BASELINE,
        {"kind": "rga-sc", "positions": ALL_STAGES},
        {"kind": "rga-sc-norel", "positions": ALL_STAGES},
    ),
}
# Settings run with five seeds (the others with three): in the study's tables the baseline and
# the three attention models every claim leans on; in scale probe 1 RGA-SC x4, the side of its
# headline pair the probe trains; none in probe 2 (a 192x96 run costs about five 96x48 ones).
FIVE_SEEDS = (
    BASELINE,
    {"kind": "rga-sc", "positions": ALL_STAGES},
    {"kind": "rga-sc-norel", "positions": ALL_STAGES},
    {"kind": "cbam", "positions": ALL_STAGES},
)
FIVE_SEEDS_BY_EXPERIMENT = {"scale_ratios": (OFFICIAL_SIZES_RGA_SC,), "scale_positions": ()}
# The profile each scale probe runs in (its notebook's default): the study's regime as it stands.
PROBE_PROFILES = {"scale_ratios": "pretrained", "scale_positions": "pretrained-192x96"}
STUDY_SEEDS = (0, 1, 2)
EXTRA_SEEDS = (3, 4)
# Fields an experiment sets per model; a notebook override of them would change the ablation.
_OWNED_FIELDS = {"experiment", "kind", "positions", "seed"}


def experiment_configs(
    experiment: str, profile: str = "cpu", seeds=(0,), overrides=None, **fields
) -> list[RunConfig]:
    """The validated configs of every (model, seed) of `experiment`, seeds outermost.

    `seeds`: an int, a sequence, text like "0,1,2", or "study": seeds `STUDY_SEEDS` for every
    model and `EXTRA_SEEDS` too for the five-seed models (`FIVE_SEEDS`, or the experiment's in
    `FIVE_SEEDS_BY_EXPERIMENT`). `fields` are RunConfig fields; those
    set to None keep the profile's value (so a notebook's parameters can default to None).
    `overrides`: more fields as a dict or JSON text, e.g. '{"epochs": 120}'.
    """
    if experiment not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {experiment!r}; choose one of {sorted(EXPERIMENTS)}")
    fields = notebook_fields(overrides, **fields)
    models = EXPERIMENTS[experiment]
    owned = sorted((_OWNED_FIELDS | {name for model in models for name in model}) & set(fields))
    if owned:
        raise ValueError(
            f"{owned} are set by the experiment {experiment!r} itself; "
            "pass seeds=... for seeds, and change the model list in rga.study.experiments.EXPERIMENTS"
        )
    if seeds == "study":
        five = FIVE_SEEDS_BY_EXPERIMENT.get(experiment, FIVE_SEEDS)
        pairs = [(seed, model) for seed in STUDY_SEEDS for model in models]
        pairs += [(seed, model) for seed in EXTRA_SEEDS for model in models if model in five]
    else:
        pairs = [(seed, model) for seed in parse_seeds(seeds) for model in models]
    return [
        make_config(profile, experiment=experiment, seed=seed, **model, **fields)
        for seed, model in pairs
    ]


def notebook_fields(overrides=None, **fields) -> dict:
    """A notebook's parameters as RunConfig fields: those set to None dropped (the profile's value
    stays), `overrides` (a dict or JSON text) added, a relative data_root taken under the
    repository."""
    fields = {k: v for k, v in fields.items() if v is not None}
    fields.update(parse_overrides(overrides))
    return _resolve_data_root(fields)


def parse_seeds(seeds) -> tuple[int, ...]:
    """0 -> (0,); "0,1,2" -> (0, 1, 2); [0, 1] -> (0, 1)."""
    given = seeds
    if isinstance(seeds, str):
        seeds = [s for s in seeds.replace(" ", "").split(",") if s]
    elif isinstance(seeds, int):
        seeds = [seeds]
    try:
        parsed = tuple(_seed(s) for s in seeds)
    except (TypeError, ValueError):
        raise ValueError(
            f"seeds={given!r}: seeds are integers separated by commas, e.g. 0 or '0,1,2'"
        ) from None
    if not parsed:
        raise ValueError(f"seeds={given!r}: give at least one seed, e.g. 0 or '0,1,2'")
    return parsed


def _seed(value) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def parse_overrides(overrides) -> dict:
    """RunConfig fields from a dict or from JSON text of an object ('{"epochs": 120}'); None or
    "" is no override. Anything else raises a ValueError naming the parameter and an example."""
    example = 'e.g. \'{"epochs": 120, "skip_corrupt": true}\''
    if overrides is None or overrides == "":
        return {}
    parsed = overrides
    if isinstance(overrides, str):
        try:
            parsed = json.loads(overrides)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"overrides={overrides!r} is not valid JSON ({err}); give a JSON object of "
                f"RunConfig fields, {example}"
            ) from None
    if not isinstance(parsed, dict):
        raise ValueError(
            f"overrides={overrides!r} is not a JSON object; give RunConfig fields by name, "
            f"{example}"
        )
    return dict(parsed)


def run_experiment(
    experiment: str,
    profile: str = "cpu",
    seeds=(0,),
    overrides=None,
    *,
    jobs: int | None = None,
    force: bool = False,
    results_root: str | Path | None = None,
    checkpoint_root: str | Path | None = None,
    progress: bool = True,
    **fields,
) -> pd.DataFrame:
    """Train (or resume, or reuse) every run of `experiment`; one DataFrame row per run.

    Results go to ``experiments/results/<experiment>/`` and checkpoints to ``checkpoints/``
    (both under the repository unless given). A run that was killed resumes; a finished run is
    not retrained unless `force`. The machine (`rga.engine.config.check_environment`) and the
    data are checked before any run is reused. `seeds`, `overrides` and `fields` as in
    `experiment_configs`.
    `jobs` runs that many trainings at once in separate processes (None: `default_jobs`);
    with jobs > 1 the per-epoch lines go to each run's ``train.log`` instead of the output.
    """
    from rga.study.report.runs import load_runs

    configs = experiment_configs(experiment, profile, seeds, overrides, **fields)
    results = Path(results_root) if results_root else results_dir()
    ids = run_configs(
        configs,
        results_root=results,
        checkpoint_root=checkpoint_root,
        jobs=jobs,
        force=force,
        progress=progress,
    )
    runs = load_runs(experiment, results, profiles=None)
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True) if ids else runs.iloc[:0]


def run_configs(
    configs: list[RunConfig],
    *,
    results_root: str | Path | None = None,
    checkpoint_root: str | Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[str]:
    """Train (or resume, or reuse) every run of `configs`, each into its own experiment's results
    folder; the run ids, the reused ones first. What `run_experiment` does once it has its
    configs (arguments as there)."""
    results = Path(results_root) if results_root else results_dir()
    checkpoints = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    # everything a run needs is checked before any is reused: a device=cuda without a GPU
    # fails here, not only once some run has to train
    for config in configs:
        check_environment(config)
    fingerprints = _prepare_data(configs, checkpoints)
    finished = [] if force else _finished_runs(configs, fingerprints, results)
    if finished:
        print(
            f"reused {len(finished)} of {len(configs)} runs: their results files are there "
            "(force=True retrains them)",
            flush=True,
        )
    configs = [c for c in configs if run_id(c, fingerprints[_data_key(c)]) not in finished]
    jobs = default_jobs(configs) if jobs is None else jobs
    tasks = [(config, checkpoints, results, force) for config in configs]
    outcomes = []
    if jobs <= 1:
        for task in tasks:
            outcomes.append(_run_one(*task, progress=progress))
            _say_outcome(outcomes[-1])
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded torch process
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_one, *task, progress=False): task[0] for task in tasks}
            for done, future in enumerate(as_completed(futures), 1):
                outcomes.append(future.result())
                _say_outcome(outcomes[-1], f"[{done}/{len(tasks)}] ")
    return finished + [outcome[0] for outcome in outcomes if outcome is not None]


def default_jobs(configs: list[RunConfig]) -> int:
    """Trainings to run at once: one per `threads` CPU cores for CPU runs, one on a GPU."""
    if any(c.device != "cpu" for c in configs) or any(c.threads == 0 for c in configs):
        return 1
    threads = max((c.threads for c in configs), default=1)
    return max(1, min(len(configs), (os.cpu_count() or 1) // threads))


def _run_one(config: RunConfig, checkpoints: Path, results: Path, force: bool, progress: bool):
    """Train one run (or report it from its checkpoint) and record its attention; (its run id,
    whether it was reused), or None off the main process."""
    from rga.study.train import train_or_reuse

    if progress:
        print(f"=> {model_label(config)}, seed {config.seed}", flush=True)
    record, reused = train_or_reuse(
        config,
        checkpoint_root=checkpoints,
        results_root=results,
        force=force,
        progress=progress,
        write=False,  # written once, with its attention precision
    )
    if record is None:  # not the main process of a distributed run
        return None
    record_attention(config, record, results, checkpoints)
    return record["run_id"], reused


def _say_outcome(outcome: tuple[str, bool] | None, prefix: str = "") -> None:
    """Print "trained <run_id>" or "reused <run_id> (its checkpoint)" for a `_run_one` result."""
    if outcome is not None:
        rid, reused = outcome
        what = f"reused {rid} (its checkpoint)" if reused else f"trained {rid}"
        print(prefix + what, flush=True)


def _data_key(c: RunConfig) -> tuple:
    return (c.dataset, c.data_root, c.synth_preset, c.skip_corrupt)


def _prepare_data(configs: list[RunConfig], checkpoints: Path) -> dict[tuple, str]:
    """Load and check each dataset once, before any run starts: a bad data_root or a corrupt
    image is named before anything is written, a SynthReID set is generated once (parallel
    runs would race to write it) and the images are decoded once. Returns each dataset's
    fingerprint by `_data_key`."""
    from rga.data import dataset_summary
    from rga.engine.build import load_data
    from rga.engine.checkpoint import VERIFIED

    distinct = {}
    for c in configs:
        distinct.setdefault(_data_key(c), c)
    return {
        key: dataset_summary(load_data(c, cache_dir=checkpoints / VERIFIED, verbose=False))[
            "fingerprint"
        ]
        for key, c in distinct.items()
    }


def _finished_runs(configs: list[RunConfig], fingerprints: dict, results: Path) -> list[str]:
    """The run ids of `configs` whose results files say they are finished (`rga.study.reuse`:
    found in their experiment, or adopted from another comparison that trained them at this
    clean commit); they are not retrained, even when their checkpoints are gone."""
    from rga.study.reuse import adopt_finished, code_commit

    commit = code_commit()
    ids = (run_id(c, fingerprints[_data_key(c)]) for c in configs)
    return [
        i
        for c, i in zip(configs, ids, strict=True)
        if adopt_finished(results, c.experiment, i, commit)
    ]


def _resolve_data_root(overrides: dict) -> dict:
    """A relative data_root (the default "data") is taken under the repository, so the notebooks
    find the same SynthReID cache from any working directory."""
    root = Path(overrides.get("data_root", "data"))
    if not root.is_absolute():
        root = repo_root() / root
    return {**overrides, "data_root": str(root)}
