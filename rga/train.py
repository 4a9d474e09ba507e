"""Train one re-id model: the official recipe (spec section 2), resumable, on CPU, GPU or torchrun.

``train(make_config("smoke"))`` builds the data, the model and the optimiser, resumes from
``<checkpoint_root>/<run_id>/last.pt`` if a killed run left one, then for each epoch sets the LR,
runs the P x K batches (forward, label-smoothed CE on the logits + batch-hard triplet on z,
backward, step), logs one line and writes a checkpoint. The last epoch's model is evaluated
(no model selection, as in the official code) and one results JSON is written.

Command line (also under torchrun, one process per GPU)::

    python -m rga.train smoke epochs=3 kind=rga-s positions=3
    torchrun --nproc_per_node 2 -m rga.train paper dataset=market1501 eval_feature=z_hat
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from rga import distributed
from rga.checkpoint import FINAL, LAST, LOG, all_finite, load_checkpoint, save_checkpoint
from rga.config import (
    RUN_ID_EXCLUDED,
    RunConfig,
    check_environment,
    config_from_dict,
    make_config,
    model_label,
    run_id,
)
from rga.data import ImageDataset, RandomIdentitySampler, build_transforms, load_dataset
from rga.evaluation import evaluate_model
from rga.losses import cross_entropy_label_smooth, triplet_hard
from rga.model import ReIDNet
from rga.results import hardware_info, make_record, write_result
from rga.schedule import lr_at_epoch, schedule_of
from rga.seeding import (
    SampleSeeds,
    SeededDataset,
    epoch_seed,
    rng_states,
    seed_everything,
    set_rng_states,
)

AMP_DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def train(
    config: RunConfig,
    *,
    checkpoint_root: str | Path = "checkpoints",
    results_root: str | Path = "experiments/results",
    force: bool = False,
    on_epoch_end: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> dict | None:
    """Train (or resume, or just report) the run of `config`; return its results record.

    A run whose ``final.pt`` exists is not retrained unless `force`: its stored metrics are
    written as this experiment's results file. `on_epoch_end(entry)` gets each epoch's curve
    entry {epoch, lr, loss, ce, triplet, images_per_s, seconds} (rank 0 only). Under torchrun
    ranks other than 0 return None.
    """
    check_environment(config, distributed.world_size_hint())
    run_dir = Path(checkpoint_root) / run_id(config)
    with distributed.session(config.device) as ctx, _determinism(config, ctx.device):
        device, is_main = ctx.device, ctx.is_main
        finished = (run_dir / FINAL).exists()
        distributed.barrier(ctx)
        if finished and not force:
            return _report_finished(config, run_dir, results_root, ctx) if is_main else None
        if force and is_main:
            for name in (FINAL, LAST):
                (run_dir / name).unlink(missing_ok=True)
        distributed.barrier(ctx)

        # data: rank 0 first, so a synthetic set is generated once
        dataset = _load_dataset(config, ctx)
        train_set = ImageDataset(
            dataset.train,
            build_transforms(
                config.height, config.width, train=True, random_erasing=config.random_erasing
            ),
            cache_images=config.cache_images,
        )
        sampler = RandomIdentitySampler(
            dataset.train,
            batch_size=config.batch_size,
            num_instances=config.instances_per_id,
            seed=config.seed,
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
        # each image's augmentation is seeded by (seed, epoch, rank, position): the same with
        # any number of workers, and after a resume
        loader = DataLoader(
            SeededDataset(train_set),
            batch_size=sampler.local_batch_size,
            sampler=SampleSeeds(sampler, config.seed, ctx.rank),
            num_workers=config.workers,
            drop_last=True,
            pin_memory=device.type == "cuda",
        )

        # model, optimiser, grad scaler
        seed_everything(config.seed)
        model = build_model(config, dataset.num_train_pids).to(device)
        if config.sync_bn and ctx.world_size > 1:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        optimizer = build_optimizer(config, model)
        scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")

        # resume
        start_epoch, curve = 0, []
        if (run_dir / LAST).exists():
            state = load_checkpoint(run_dir / LAST)
            _check_same_run(state["config"], config, run_dir / LAST)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scaler.load_state_dict(state["scaler"])
            if state["sampler"]["world_size"] != ctx.world_size:
                n = state["sampler"]["world_size"]
                raise ValueError(
                    f"{run_dir / LAST} was written by a run on {n} process(es), this one has "
                    f"{ctx.world_size}; resume with the same number (torchrun --nproc_per_node "
                    f"{n}) or train with force=True"
                )
            sampler.load_state_dict(state["sampler"])
            set_rng_states(state["rng"])
            start_epoch, curve = state["epoch"], state["curve"]
        if is_main:
            _log(
                run_dir,
                f"# {run_id(config)}: {'resume at' if curve else 'start'} epoch {start_epoch}",
            )
        net = model
        if ctx.world_size > 1:
            net = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )

        amp_dtype = AMP_DTYPES[config.amp]
        for epoch in range(start_epoch, config.epochs):
            lr = lr_at_epoch(epoch, **schedule_of(config))
            for group in optimizer.param_groups:
                group["lr"] = lr
            # each epoch starts from (seed, epoch, rank): a resumed run draws what a straight one does
            seed_everything(epoch_seed(config.seed, epoch, ctx.rank))
            loader.sampler.set_epoch(epoch)
            net.train()
            totals, images_seen, start = torch.zeros(3, dtype=torch.float64), 0, time.perf_counter()
            bar = tqdm(
                loader,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                disable=not (progress and is_main),
                leave=False,
            )
            for step, (images, pids, *_) in enumerate(bar):
                images = images.to(device, non_blocking=True)
                pids = pids.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    out = net(images)
                ce = cross_entropy_label_smooth(
                    out.logits.float(), pids, epsilon=config.label_smoothing
                )
                z, targets = out.z.float(), pids
                if config.triplet_scope == "global":  # mine over the whole P x K batch of all ranks
                    z, targets = distributed.gather_with_grad(z), distributed.gather(targets)
                triplet = triplet_hard(z, targets, margin=config.margin)
                loss = ce + triplet
                losses = distributed.mean_over_ranks(torch.stack([loss, ce, triplet]).detach())
                if not torch.isfinite(losses).all():
                    raise FloatingPointError(_nan_message(epoch, step, losses, lr, run_dir, curve))

                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

                totals += losses.double().cpu()
                images_seen += images.shape[0] * ctx.world_size
                speed = images_seen / (time.perf_counter() - start)
                bar.set_postfix(
                    loss=f"{totals[0] / (step + 1):.4f}", lr=f"{lr:.2e}", img_s=f"{speed:.1f}"
                )

            seconds = time.perf_counter() - start
            steps = max(len(loader), 1)
            entry = {
                "epoch": epoch,
                "lr": lr,
                "loss": float(totals[0] / steps),
                "ce": float(totals[1] / steps),
                "triplet": float(totals[2] / steps),
                "images_per_s": images_seen / seconds,
                "seconds": seconds,
            }
            if not all_finite(model):
                raise FloatingPointError(_nan_message(epoch, steps - 1, None, lr, run_dir, curve))
            curve.append(entry)
            if is_main:
                _log(run_dir, _epoch_line(entry, config.epochs))
                if progress:
                    tqdm.write(_epoch_line(entry, config.epochs))
                if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
                    save_checkpoint(
                        {
                            "model": model.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "scaler": scaler.state_dict(),
                            "sampler": sampler.state_dict(),
                            "rng": rng_states(),
                            "epoch": epoch + 1,  # epochs completed
                            "curve": curve,
                            "config": config.to_dict(),
                            "num_classes": dataset.num_train_pids,
                        },
                        run_dir / LAST,
                    )
                if on_epoch_end is not None:
                    on_epoch_end(dict(entry))

        if not is_main:
            return None

        # evaluate the last epoch's model, keep it as final.pt, write the results file
        start = time.perf_counter()
        metrics = evaluate(model, config, dataset, device)
        eval_seconds = time.perf_counter() - start
        statistics = _statistics(dataset)
        save_checkpoint(
            {
                "model": model.state_dict(),
                "config": config.to_dict(),
                "num_classes": dataset.num_train_pids,
                "curve": curve,
                "metrics": metrics,
                "eval_time_s": eval_seconds,
                "dataset_statistics": statistics,
                "hardware": hardware_info(device, ctx.world_size),
                "finished": True,
            },
            run_dir / FINAL,
        )
        (run_dir / LAST).unlink(missing_ok=True)  # final.pt holds the weights; the rest is spent
        _log(run_dir, "# finished: " + _metrics_line(metrics))
        return _write_results(config, run_dir, results_root)


def build_model(config: RunConfig, num_classes: int) -> ReIDNet:
    """The ReIDNet of `config` (explicit arguments, never the config itself)."""
    return ReIDNet(
        num_classes,
        arch=config.arch,
        kind=config.kind,
        positions=config.positions,
        height=config.height,
        width=config.width,
        relation=config.relation,
        embedding=config.rga_embedding,
        weights=config.weights,
        last_stride=config.last_stride,
        attention_bn_init=config.attention_bn_init,
    )


def build_optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Adam with coupled L2 (torch Adam weight_decay, not AdamW) on every trainable parameter,
    as the official code; or Nesterov SGD. The LR is set per epoch by the loop."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(
            params,
            lr=config.base_lr,
            betas=(0.9, 0.999),
            eps=1e-8,
            weight_decay=config.weight_decay,
        )
    return torch.optim.SGD(
        params,
        lr=config.base_lr,
        momentum=config.momentum,
        nesterov=True,
        weight_decay=config.weight_decay,
    )


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
    with _determinism(config, device):
        return evaluate(model.to(device), config, dataset, device, **options)


def _report_finished(config, run_dir: Path, results_root, ctx) -> dict:
    """Write this experiment's results file for a run trained before (evaluate if needed)."""
    state = load_checkpoint(run_dir / FINAL)
    if "metrics" not in state:
        model = load_trained(config, run_dir.parent).to(ctx.device)
        dataset = load_dataset(**dataset_args(config))
        start = time.perf_counter()
        state["metrics"] = evaluate(model, config, dataset, ctx.device)
        state["eval_time_s"] = time.perf_counter() - start
        state["dataset_statistics"] = _statistics(dataset)
        save_checkpoint(state, run_dir / FINAL)
    return _write_results(config, run_dir, results_root)


def _write_results(config, run_dir: Path, results_root) -> dict:
    state = load_checkpoint(run_dir / FINAL)
    record = make_record(
        config,
        run_id=run_id(config),
        label=model_label(config),
        metrics=state["metrics"],
        curve=state["curve"],
        train_time_s=sum(e["seconds"] for e in state["curve"]),
        eval_time_s=state["eval_time_s"],
        dataset_statistics=state["dataset_statistics"],
        hardware=state["hardware"],
        checkpoint=str(run_dir / FINAL),
    )
    write_result(record, results_root)
    return record


def _load_dataset(config: RunConfig, ctx: distributed.Context):
    if not ctx.is_main:
        distributed.barrier(ctx)
    dataset = load_dataset(**dataset_args(config), verbose=ctx.is_main)
    if ctx.is_main:
        distributed.barrier(ctx)
    return dataset


def dataset_args(config: RunConfig) -> dict:
    """The `load_dataset` arguments of `config` (SynthReID also takes its preset)."""
    args = {"name": config.dataset, "root": config.data_root}
    if config.dataset == "synthreid":
        args["preset"] = config.synth_preset
    return args


def _statistics(dataset) -> dict:
    """{split: {ids, images, cameras}} with plain ints."""
    table = dataset.statistics()
    return {split: {k: int(v) for k, v in row.items()} for split, row in table.iterrows()}


def _check_same_run(saved: dict, config: RunConfig, path: Path) -> None:
    ours = config.to_dict()
    differ = [
        k
        for k in ours
        if k not in RUN_ID_EXCLUDED and config_from_dict(saved).to_dict()[k] != ours[k]
    ]
    if differ:
        raise ValueError(
            f"{path} was written by a different configuration ({', '.join(differ)} differ); "
            "delete that folder or train with force=True"
        )


@contextlib.contextmanager
def _determinism(config: RunConfig, device: torch.device):
    """Deterministic kernels on the CPU, deterministic cuDNN on GPUs, the CPU thread count;
    all restored afterwards."""
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.get_num_threads(),
    )
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.deterministic and device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = config.deterministic
    torch.backends.cudnn.benchmark = not config.deterministic
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2:4]
        torch.set_num_threads(saved[4])


def _log(run_dir: Path, line: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOG, "a") as f:
        f.write(line + "\n")


def _epoch_line(entry: dict, epochs: int) -> str:
    return (
        f"epoch {entry['epoch'] + 1}/{epochs} lr {entry['lr']:.3e} loss {entry['loss']:.4f} "
        f"ce {entry['ce']:.4f} triplet {entry['triplet']:.4f} "
        f"images/s {entry['images_per_s']:.1f} time {entry['seconds']:.1f}s"
    )


def _metrics_line(metrics: dict) -> str:
    return " | ".join(
        f"{feature} " + " ".join(f"{k} {values[k]:.2f}" for k in ("R1", "R5", "R10", "mAP", "mINP"))
        for feature, values in metrics.items()
    )


def _nan_message(epoch, step, losses, lr, run_dir: Path, curve) -> str:
    what = (
        f"loss {losses[0].item()} (ce {losses[1].item()}, triplet {losses[2].item()})"
        if losses is not None
        else "the model parameters"
    )
    kept = (
        f"the last good checkpoint {run_dir / LAST} (epoch {len(curve)}) is kept"
        if (run_dir / LAST).exists()
        else "no checkpoint was written yet"
    )
    return (
        f"non-finite {what} at epoch {epoch} step {step} with lr {lr:.3e}; training stopped and "
        f"{kept}. Lower base_lr, set amp='off', or check the input data."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rga.train", description=__doc__.split("\n")[0])
    parser.add_argument("profile", help="smoke, cpu or paper")
    parser.add_argument("overrides", nargs="*", help="field=value, e.g. epochs=3 positions=1,2")
    parser.add_argument("--checkpoint-root", default="checkpoints")
    parser.add_argument("--results-root", default="experiments/results")
    parser.add_argument("--force", action="store_true", help="retrain a finished run")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    config = make_config(args.profile, **dict(_parse_override(o) for o in args.overrides))
    record = train(
        config,
        checkpoint_root=args.checkpoint_root,
        results_root=args.results_root,
        force=args.force,
        progress=not args.no_progress,
    )
    if record is not None:
        print(f"{record['run_id']}: {_metrics_line(record['metrics'])}")


def _parse_override(text: str) -> tuple[str, object]:
    """'epochs=3' -> ('epochs', 3): the value as a Python literal if it is one, else a string."""
    import ast

    if "=" not in text:
        raise SystemExit(f"override {text!r} must look like field=value")
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
