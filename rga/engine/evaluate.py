"""Evaluate a trained model on its dataset's query and gallery; load finished runs."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from rga.data import ImageDataset, build_transforms, dataset_fingerprint
from rga.engine.build import build_model, load_data
from rga.engine.checkpoint import FINAL, VERIFIED, load_checkpoint
from rga.engine.config import DATA_TAG_LENGTH, RunConfig, config_from_dict, run_id
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


def load_trained(
    config: RunConfig, checkpoint_root: str | Path = "checkpoints", fingerprint: str | None = None
) -> ReIDNet | None:
    """The trained model of `config` on the data of fingerprint `fingerprint` (eval mode, CPU),
    or None when that run has not finished.

    `fingerprint` None: the data at ``config.data_root`` is loaded to take its fingerprint
    (``rga.engine.build.load_data``), so the model is the one trained on that data.
    """
    if fingerprint is None:
        fingerprint = _fingerprint_of(config, checkpoint_root)
    path = Path(checkpoint_root) / run_id(config, fingerprint) / FINAL
    if not path.exists():
        return None
    state = load_checkpoint(path)
    model = build_model(config_from_dict(state["config"]), state["num_classes"])
    model.load_state_dict(state["model"])
    return model.eval()


def trained_fingerprints(config: RunConfig, checkpoint_root: str | Path = "checkpoints") -> list:
    """The data tags (first characters of the fingerprints) of the data `config` has a
    finished run on under `checkpoint_root`, sorted; pass one to `load_trained`."""
    prefix = run_id(config, "0" * DATA_TAG_LENGTH)[:-DATA_TAG_LENGTH]
    return sorted(
        path.parent.name[len(prefix) :] for path in Path(checkpoint_root).glob(f"{prefix}*/{FINAL}")
    )


def evaluate_checkpoint(
    config: RunConfig, checkpoint_root: str | Path = "checkpoints", device: str = "cpu", **options
) -> dict:
    """Evaluate the finished run of `config` on its data again, e.g. with rerank=True or
    ap="trapezoid" (`options` as in `evaluate`); nothing is written."""
    dataset = load_data(config, cache_dir=Path(checkpoint_root) / VERIFIED, verbose=False)
    fingerprint = dataset_fingerprint(dataset)
    model = load_trained(config, checkpoint_root, fingerprint)
    if model is None:
        others = trained_fingerprints(config, checkpoint_root)
        elsewhere = (
            f"; it has finished runs on other data ({', '.join(others)}), which are not results "
            "of this data"
            if others
            else ""
        )
        raise FileNotFoundError(
            f"no finished run {run_id(config, fingerprint)} of this configuration on the data at "
            f"{config.data_root} under {checkpoint_root}{elsewhere}; train(config) first"
        )
    device = torch.device(device)
    with determinism(config, device):
        return evaluate(model.to(device), config, dataset, device, **options)


def _fingerprint_of(config: RunConfig, checkpoint_root) -> str:
    dataset = load_data(config, cache_dir=Path(checkpoint_root) / VERIFIED, verbose=False)
    return dataset_fingerprint(dataset)
