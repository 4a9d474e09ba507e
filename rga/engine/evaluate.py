"""Evaluate a trained model on its dataset's query and gallery; its ranked lists; load
finished runs."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from rga.data import ImageDataset, build_transforms, dataset_fingerprint
from rga.engine.build import build_model, load_data
from rga.engine.checkpoint import FINAL, VERIFIED, load_checkpoint
from rga.engine.config import DATA_TAG_LENGTH, RunConfig, config_from_dict, run_id
from rga.engine.determinism import determinism
from rga.evaluation import compute_distance, evaluate_model, extract_features, top_k_gallery
from rga.evaluation.rerank import re_ranking
from rga.model import ReIDNet


def _loaders(config: RunConfig, dataset) -> tuple[DataLoader, DataLoader]:
    """Query and gallery loaders at the test transform."""
    transform = build_transforms(config.height, config.width, train=False)
    return tuple(
        DataLoader(
            ImageDataset(samples, transform, cache_images=config.cache_images),
            batch_size=config.test_batch_size,
            shuffle=False,
            num_workers=config.workers,
        )
        for samples in (dataset.query, dataset.gallery)
    )


def evaluate(model: ReIDNet, config: RunConfig, dataset, device, **options) -> dict:
    """{"z": {R1, R5, R10, mAP, mINP, ...}, "z_hat": {...}} in percent on query/gallery.

    `options` go to rga.evaluation.evaluate_model and override the config's metric and rerank
    (e.g. protocol="cuhk03-classic", ap="trapezoid" for the sklearn-0.18 AP of the official runs).
    """
    query, gallery = _loaders(config, dataset)
    options = {"metric": config.metric, "rerank": config.rerank, **options}
    return evaluate_model(model, query, gallery, device=device, **options)


class RankedGallery(NamedTuple):
    """Every query's k nearest valid gallery items: (Q, k) gallery indices (-1: none left),
    whether each has the query's identity, and its distance (inf for -1)."""

    indices: np.ndarray
    hits: np.ndarray
    distances: np.ndarray


def rank_gallery(
    model: ReIDNet, config: RunConfig, dataset, k: int = 10, device="cpu"
) -> RankedGallery:
    """The ranked lists of every query as the run's evaluation ranks them: the feature
    ``config.eval_feature``, the distance ``config.metric``, re-ranked when ``config.rerank``,
    gallery items of the query's identity and camera left out (``rga.evaluation.top_k_gallery``).
    """
    query_loader, gallery_loader = _loaders(config, dataset)
    query = extract_features(model, query_loader, device)
    gallery = extract_features(model, gallery_loader, device)
    qf, gf = getattr(query, config.eval_feature), getattr(gallery, config.eval_feature)
    if config.rerank:
        distmat = re_ranking(qf, gf, metric=config.metric)
    else:
        distmat = compute_distance(qf, gf, metric=config.metric)
    distmat = np.asarray(distmat)  # (Q, G)
    indices, hits = top_k_gallery(
        distmat, query.pids, gallery.pids, query.camids, gallery.camids, k=k
    )
    rows = np.arange(len(indices))[:, None]
    distances = np.where(indices >= 0, distmat[rows, np.maximum(indices, 0)], np.inf)
    return RankedGallery(indices, hits, distances)


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
