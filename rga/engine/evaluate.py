"""Evaluate a trained model on its dataset's query and gallery; load finished runs."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from rga.data import ImageDataset, build_transforms, load_dataset
from rga.engine.build import build_model, dataset_args
from rga.engine.checkpoint import FINAL, load_checkpoint
from rga.engine.config import RunConfig, config_from_dict, run_id
from rga.engine.determinism import determinism
from rga.evaluation import evaluate_model
from rga.model import ReIDNet


def evaluate(model: ReIDNet, config: RunConfig, dataset, device, **options) -> dict:
    """{"z": {R1, R5, R10, mAP, mINP, ...}, "z_hat": {...}} in percent on query/gallery.

    `options` go to rga.evaluation.evaluate_model and override the config's metric and rerank
    (e.g. protocol="cuhk03-classic", ap="trapezoid" for the sklearn-0.18 AP of the official runs).
    """
    transform = build_transforms(config.height, config.width, train=False)
    query, gallery = (
        DataLoader(
            ImageDataset(samples, transform, cache_images=config.cache_images),
            batch_size=config.test_batch_size,
            shuffle=False,
            num_workers=config.workers,
        )
        for samples in (dataset.query, dataset.gallery)
    )
    options = {"metric": config.metric, "rerank": config.rerank, **options}
    return evaluate_model(model, query, gallery, device=device, **options)


def load_trained(config: RunConfig, checkpoint_root: str | Path = "checkpoints") -> ReIDNet | None:
    """The trained model of `config` (eval mode, CPU), or None when its run has not finished."""
    path = Path(checkpoint_root) / run_id(config) / FINAL
    if not path.exists():
        return None
    state = load_checkpoint(path)
    model = build_model(config_from_dict(state["config"]), state["num_classes"])
    model.load_state_dict(state["model"])
    return model.eval()


def evaluate_checkpoint(
    config: RunConfig, checkpoint_root: str | Path = "checkpoints", device: str = "cpu", **options
) -> dict:
    """Evaluate the finished run of `config` again, e.g. with rerank=True or ap="trapezoid"
    (`options` as in `evaluate`); nothing is written."""
    model = load_trained(config, checkpoint_root)
    if model is None:
        raise FileNotFoundError(
            f"no finished run {run_id(config)} under {checkpoint_root}; train(config) first"
        )
    dataset = load_dataset(**dataset_args(config), verbose=False)
    device = torch.device(device)
    with determinism(config, device):
        return evaluate(model.to(device), config, dataset, device, **options)
