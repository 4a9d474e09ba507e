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
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from rga.engine.config import RunConfig, make_config, run_id
from rga.study.report.paths import checkpoints_dir, repo_root, results_dir

ALL_STAGES = (1, 2, 3, 4)
BASELINE = {"kind": None, "positions": ()}

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
    # Supplementary Figure 1 (CBAM, RGA-SC w/o Rel., RGA-SC) and the main paper's
    # spatial-versus-channel ablation (RGA-S, RGA-C, RGA-SC), all at the four positions.
    "attention_variants": (
        BASELINE,
        {"kind": "cbam", "positions": ALL_STAGES},
        {"kind": "rga-sc-norel", "positions": ALL_STAGES},
        {"kind": "rga-s", "positions": ALL_STAGES},
        {"kind": "rga-c", "positions": ALL_STAGES},
        {"kind": "rga-sc", "positions": ALL_STAGES},
    ),
}
# Fields an experiment sets per model; a notebook override of them would change the ablation.
_OWNED_FIELDS = {"experiment", "kind", "positions", "seed"}
PANEL_SAVED = 8  # images whose maps are stored for the book's figures
PANEL_SCORED = 128  # images whose maps are scored against the person masks


def experiment_configs(
    experiment: str, profile: str = "cpu", seeds=(0,), overrides=None, **fields
) -> list[RunConfig]:
    """The validated configs of every (model, seed) of `experiment`, seeds outermost.

    `seeds`: an int, a sequence, or text like "0,1,2". `fields` are RunConfig fields; those
    set to None keep the profile's value (so a notebook's parameters can default to None).
    `overrides`: more fields as a dict or JSON text, e.g. '{"epochs": 120}'.
    """
    if experiment not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {experiment!r}; choose one of {sorted(EXPERIMENTS)}")
    fields = {k: v for k, v in fields.items() if v is not None}
    if isinstance(overrides, str):
        overrides = json.loads(overrides or "{}")
    fields.update(overrides or {})
    owned = sorted(_OWNED_FIELDS & set(fields))
    if owned:
        raise ValueError(
            f"{owned} are set by the experiment {experiment!r} itself; "
            "pass seeds=... for seeds, and change the model list in rga.study.experiments.EXPERIMENTS"
        )
    fields = _resolve_data_root(fields)
    return [
        make_config(profile, experiment=experiment, seed=seed, **model, **fields)
        for seed in parse_seeds(seeds)
        for model in EXPERIMENTS[experiment]
    ]


def parse_seeds(seeds) -> tuple[int, ...]:
    """0 -> (0,); "0,1,2" -> (0, 1, 2); [0, 1] -> (0, 1)."""
    if isinstance(seeds, str):
        seeds = [s for s in seeds.replace(" ", "").split(",") if s]
    elif isinstance(seeds, int):
        seeds = [seeds]
    parsed = tuple(int(s) for s in seeds)
    if not parsed:
        raise ValueError(f"seeds={seeds!r}: give at least one seed, e.g. 0 or '0,1,2'")
    return parsed


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
    not retrained unless `force`. `seeds`, `overrides` and `fields` as in `experiment_configs`.
    `jobs` runs that many trainings at once in separate processes (None: `default_jobs`);
    with jobs > 1 the per-epoch lines go to each run's ``train.log`` instead of the output.
    """
    from rga.study.report.runs import load_runs

    configs = experiment_configs(experiment, profile, seeds, overrides, **fields)
    results = Path(results_root) if results_root else results_dir()
    checkpoints = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    jobs = default_jobs(configs) if jobs is None else jobs
    _prepare_data(configs)
    tasks = [(config, checkpoints, results, force) for config in configs]
    if jobs <= 1:
        ids = [_run_one(*task, progress=progress) for task in tasks]
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded torch process
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_one, *task, progress=False): task[0] for task in tasks}
            ids = []
            for done, future in enumerate(as_completed(futures), 1):
                ids.append(future.result())
                print(f"[{done}/{len(tasks)}] finished {ids[-1]}", flush=True)
    ids = [i for i in ids if i is not None]
    runs = load_runs(experiment, results)
    return runs[runs["run_id"].isin(ids)].reset_index(drop=True) if ids else runs.iloc[:0]


def default_jobs(configs: list[RunConfig]) -> int:
    """Trainings to run at once: one per `threads` CPU cores for CPU runs, one on a GPU."""
    if any(c.device != "cpu" for c in configs) or any(c.threads == 0 for c in configs):
        return 1
    threads = max(c.threads for c in configs)
    return max(1, min(len(configs), (os.cpu_count() or 1) // threads))


def _run_one(config: RunConfig, checkpoints: Path, results: Path, force: bool, progress: bool):
    """Train one run and record its attention; its run id (None off the main process)."""
    from rga.study.train import train_run

    if progress:
        print(f"=> {run_id(config)}", flush=True)
    record = train_run(
        config, checkpoint_root=checkpoints, results_root=results, force=force, progress=progress
    )
    if record is None:  # not the main process of a distributed run
        return None
    record_attention(config, record, results, checkpoints)
    return record["run_id"]


def _prepare_data(configs: list[RunConfig]) -> None:
    """Generate each SynthReID set once, before parallel runs would race to write it."""
    from rga.synth import ensure_synthreid

    for root, preset in {
        (c.data_root, c.synth_preset) for c in configs if c.dataset == "synthreid"
    }:
        ensure_synthreid(root, preset)


def record_attention(config: RunConfig, record: dict, results_root, checkpoint_root) -> None:
    """What the book reads of a finished run besides its metrics, written after training.

    * its results file gains ``attention_precision`` (person masks) and ``attention_parts``
      (part maps; ``rga.analysis.parts``), per stage with a spatial map, on the first
      `PANEL_SCORED` panel images; both need SynthReID's masks, so other datasets get neither;
    * ``<experiment>/attention/<run_id>.npz``: the maps of the first `PANEL_SAVED` panel images,
      with the relation rows and columns at fixed points for models with spatial relations (an
      empty file for the baseline);
    * ``<experiment>/attention/<run_id>.ranked.json``: the ranked lists of the first
      `RANKED_QUERIES` panel queries.

    Runs on the CPU with the run's thread count (``config.threads``), like its training: two
    runs recording at once on two cores would otherwise each start a thread per core.
    """
    from rga.engine.determinism import determinism

    with determinism(config, torch.device("cpu")):
        _record(config, record, results_root, checkpoint_root)


def _record(config: RunConfig, record: dict, results_root, checkpoint_root) -> None:
    from rga.analysis.probe import score_model_attention, score_model_parts
    from rga.engine.evaluate import load_trained
    from rga.study.report.attention_arrays import save_run_attention
    from rga.study.report.ranked_lists import RANKED_QUERIES, save_run_ranked_lists
    from rga.study.results import write_result

    model = load_trained(config, checkpoint_root)
    panel = attention_panel(config, PANEL_SCORED)
    save_run_attention(
        config,
        model,
        panel.images[:PANEL_SAVED],
        masks=None if panel.masks is None else panel.masks[:PANEL_SAVED],
        pids=panel.pids[:PANEL_SAVED],
        root=results_root,
    )
    save_run_ranked_lists(
        config, model, panel.dataset, panel.indices[:RANKED_QUERIES], root=results_root
    )
    if panel.masks is not None and config.kind is not None:
        scores = score_model_attention(model, panel.images, torch.as_tensor(panel.masks))
        record["attention_precision"] = {str(stage): s for stage, s in scores.items()}
        parts = score_model_parts(model, panel.images, panel.parts)
        record["attention_parts"] = {str(stage): s for stage, s in parts.items()}
        write_result(record, results_root)


class AttentionPanel(NamedTuple):
    """The fixed panel of query images of a dataset (see ``attention_panel``)."""

    images: torch.Tensor  # (B, 3, H, W) normalised as at test time
    masks: np.ndarray | None  # (B, H, W) bool person masks at the input size (SynthReID)
    pids: np.ndarray  # (B,)
    parts: np.ndarray | None  # (B, H, W) uint8 part maps at the input size (SynthReID)
    indices: list[int]  # into dataset.query
    dataset: object  # the ReIDDataset they come from


def attention_panel(config: RunConfig, size: int) -> AttentionPanel:
    """A fixed panel of query images, the same for every run of a dataset.

    One image per identity first (in id order), so the panel shows many different people.
    Masks and part maps (``rga.synth.PARTS``) on SynthReID only, else None.
    """
    from rga.data import ImageDataset, build_transforms, load_dataset
    from rga.engine.build import dataset_args

    dataset = load_dataset(**dataset_args(config), verbose=False)
    order = sorted(range(len(dataset.query)), key=lambda i: Path(dataset.query[i].path).name)
    first_of_id, rest, seen = [], [], set()
    for i in order:
        (rest if dataset.query[i].pid in seen else first_of_id).append(i)
        seen.add(dataset.query[i].pid)
    chosen = (first_of_id + rest)[:size]
    samples = [dataset.query[i] for i in chosen]
    data = ImageDataset(samples, build_transforms(config.height, config.width, train=False))
    images = torch.stack([data[i][0] for i in range(len(samples))])
    pids = np.array([s.pid for s in samples])
    masks = parts = None
    if config.dataset == "synthreid":
        from rga.synth import load_mask, load_part_mask

        masks = np.stack([_resize_labels(load_mask(s.path), config) for s in samples])
        parts = np.stack([_resize_labels(load_part_mask(s.path), config) for s in samples])
    return AttentionPanel(images, masks, pids, parts, chosen, dataset)


def _resize_labels(labels: np.ndarray, config: RunConfig) -> np.ndarray:
    """A person mask (bool) or part map (uint8) at the network's input size (nearest
    neighbour, like the image resize); same dtype."""
    if labels.shape == (config.height, config.width):
        return labels
    from PIL import Image

    image = Image.fromarray(labels.astype(np.uint8))
    resized = np.asarray(image.resize((config.width, config.height), Image.NEAREST))
    return resized.astype(labels.dtype)


def _resolve_data_root(overrides: dict) -> dict:
    """A relative data_root (the default "data") is taken under the repository, so the notebooks
    find the same SynthReID cache from any working directory."""
    root = Path(overrides.get("data_root", "data"))
    if not root.is_absolute():
        root = repo_root() / root
    return {**overrides, "data_root": str(root)}
