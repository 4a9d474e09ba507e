"""What a run is made of, built from its config: the data loader, the model, the optimiser.

Modules receive explicit arguments here, never the config itself.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from rga.data import (
    DatasetNotFoundError,
    ImageDataset,
    RandomIdentitySampler,
    ReIDDataset,
    build_transforms,
    load_dataset,
    verify_images,
)
from rga.engine.config import RunConfig, resolve_weights
from rga.engine.seeding import SampleSeeds, SeededDataset
from rga.model import ReIDNet

AMP_DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# each real dataset's name and the folder data_root holds it in (torchreid's data-root layout;
# the loaders accept other layouts too, named in their errors)
DATA_ROOT_HOLDS = {
    "market1501": ("Market-1501", "market1501/"),
    "cuhk03-labeled": ("CUHK03", "cuhk03/"),
    "cuhk03-detected": ("CUHK03", "cuhk03/"),
    "msmt17": ("MSMT17", "msmt17/"),
}


def dataset_args(config: RunConfig) -> dict:
    """The `rga.data.load_dataset` arguments of `config` (SynthReID also takes its preset)."""
    args = {"name": config.dataset, "root": config.data_root}
    if config.dataset == "synthreid":
        args["preset"] = config.synth_preset
    return args


def load_data(
    config: RunConfig, *, cache_dir: str | Path | None = None, verbose: bool = True
) -> ReIDDataset:
    """The dataset of `config`, every image decoded once (``rga.data.verify_images``, remembered
    in `cache_dir` by the data's fingerprint): raises naming what is wrong with the data
    (missing folder, empty split, corrupt images) before a run touches any file, or leaves the
    corrupt images out when ``config.skip_corrupt``."""
    try:
        dataset = load_dataset(**dataset_args(config), verbose=verbose)
    except DatasetNotFoundError as err:  # the loader names the folder; say which parameter
        raise DatasetNotFoundError(f"{_data_root_fix(config)}\n{err}") from None
    return verify_images(
        dataset,
        skip=config.skip_corrupt,
        cache_dir=cache_dir,
        workers=config.workers,  # decoding threads: as many as the loader's workers
        verbose=verbose,
    )


def _data_root_fix(config: RunConfig) -> str:
    """The first line of a data-not-found error: the parameter, its value and the fix."""
    name, folder = DATA_ROOT_HOLDS.get(config.dataset, (config.dataset, f"{config.dataset}/"))
    return (
        f"data_root={config.data_root!r}: no {name} dataset found there; pass the folder that "
        f"holds {folder} (a notebook: -p data_root /path/to/datasets; the command line: "
        "data_root=/path/to/datasets)"
    )


def build_train_loader(
    config: RunConfig, train_samples, rank: int = 0, world_size: int = 1, pin_memory: bool = False
) -> tuple[DataLoader, RandomIdentitySampler]:
    """The P x K training loader of this rank and its identity sampler (whose state a
    checkpoint keeps). Each image's augmentation is seeded by (seed, epoch, rank, position):
    the same with any number of workers, and after a resume."""
    train_set = ImageDataset(
        train_samples,
        build_transforms(
            config.height, config.width, train=True, random_erasing=config.random_erasing
        ),
        cache_images=config.cache_images,
    )
    sampler = RandomIdentitySampler(
        train_samples,
        batch_size=config.batch_size,
        num_instances=config.instances_per_id,
        seed=config.seed,
        rank=rank,
        world_size=world_size,
    )
    loader = DataLoader(
        SeededDataset(train_set),
        batch_size=sampler.local_batch_size,
        sampler=SampleSeeds(sampler, config.seed, rank),
        num_workers=config.workers,
        drop_last=True,
        pin_memory=pin_memory,
    )
    return loader, sampler


def build_model(config: RunConfig, num_classes: int) -> ReIDNet:
    """The ReIDNet of `config`."""
    return ReIDNet(
        num_classes,
        arch=config.arch,
        kind=config.kind,
        positions=config.positions,
        height=config.height,
        width=config.width,
        relation=config.relation,
        embedding=config.rga_embedding,
        weights=resolve_weights(config.weights),
        last_stride=config.last_stride,
        attention_bn_init=config.attention_bn_init,
        rga_ratios=config.rga_ratios,
        cbam_reduction=config.cbam_reduction,
    )


def build_optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Adam with coupled L2 (torch Adam weight_decay, not AdamW) on every trainable parameter,
    as the official code; or Nesterov SGD. The LR is set per epoch by the loop.

    ``config.fused_optimizer`` takes torch's fused kernel (all parameters in one pass) instead of
    the per-parameter loop: the same update up to float rounding, several times faster on a CPU.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    fused = config.fused_optimizer or None  # None: torch's default implementation
    if config.optimizer == "adam":
        return torch.optim.Adam(
            params,
            lr=config.base_lr,
            betas=(0.9, 0.999),
            eps=1e-8,
            weight_decay=config.weight_decay,
            fused=fused,
        )
    return torch.optim.SGD(
        params,
        lr=config.base_lr,
        momentum=config.momentum,
        nesterov=True,
        weight_decay=config.weight_decay,
        fused=fused,
    )


def dataset_statistics(dataset) -> dict:
    """{split: {ids, images, cameras}} of a loaded ReIDDataset, with plain ints."""
    table = dataset.statistics()
    return {split: {k: int(v) for k, v in row.items()} for split, row in table.iterrows()}
