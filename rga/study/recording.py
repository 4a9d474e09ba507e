"""What the book reads of a finished run besides its metrics, recorded after training.

``record_attention`` scores the run's spatial attention against SynthReID's person masks and
part maps, saves the maps and relations of a fixed panel of test images and the ranked lists of
a few fixed queries; ``attention_panel`` is that panel. The notebooks (through
``rga.study.experiments``) and the command line (``rga.study.train``) both call it, so it lives
apart from both: neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from rga.engine.config import RunConfig

PANEL_SAVED = 8  # images whose maps are stored for the book's figures
PANEL_SCORED = 128  # images whose maps are scored against the person masks


def record_attention(config: RunConfig, record: dict, results_root, checkpoint_root) -> None:
    """What the book reads of a finished run besides its metrics, written after training.

    * its results file gains ``attention_precision`` (person masks) and ``attention_parts``
      (part maps; ``rga.analysis.parts``), per stage with a spatial map, on the first
      `PANEL_SCORED` panel images; both need SynthReID's masks, so other datasets get neither
      (the results file is left as it is when its content is unchanged);
    * ``<experiment>/attention/<run_id>.npz``: the maps of the first `PANEL_SAVED` panel images,
      with the relation rows and columns at fixed points for models with spatial relations (an
      empty file for the baseline);
    * ``<experiment>/attention/<run_id>.ranked.json``: the ranked lists of the first
      `RANKED_QUERIES` panel queries.

    The model is the one `record` names: this configuration trained on the data of
    ``record["data"]``, the data the panel is drawn from. Runs on the CPU with the run's thread
    count (``config.threads``), like its training: two runs recording at once on two cores
    would otherwise each start a thread per core.
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

    model = load_trained(config, checkpoint_root, record["data"]["fingerprint"])
    panel = attention_panel(config, PANEL_SCORED, checkpoint_root)
    save_run_attention(
        config,
        model,
        panel.images[:PANEL_SAVED],
        run_id=record["run_id"],
        masks=None if panel.masks is None else panel.masks[:PANEL_SAVED],
        pids=panel.pids[:PANEL_SAVED],
        root=results_root,
    )
    save_run_ranked_lists(
        config,
        model,
        panel.dataset,
        panel.indices[:RANKED_QUERIES],
        run_id=record["run_id"],
        root=results_root,
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


def attention_panel(
    config: RunConfig, size: int, checkpoint_root: str | Path | None = None
) -> AttentionPanel:
    """A fixed panel of query images, the same for every run of a dataset.

    One image per identity first (in id order), so the panel shows many different people.
    Masks and part maps (``rga.synth.PARTS``) on SynthReID only, else None.
    The dataset is the one training used (``rga.engine.build.load_data``; its verification is
    remembered under `checkpoint_root`, as training remembers it, or else in the data folder).
    """
    from rga.data import ImageDataset, build_transforms
    from rga.engine.build import load_data
    from rga.engine.checkpoint import VERIFIED

    cache_dir = Path(checkpoint_root) / VERIFIED if checkpoint_root else None
    dataset = load_data(config, cache_dir=cache_dir, verbose=False)
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
