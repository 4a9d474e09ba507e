"""Train one re-id model: the official recipe (spec section 2), resumable, on CPU, GPU or torchrun.

``train(make_config("smoke"))`` loads and checks the data, locks the run folder
``<checkpoint_root>/<run_id>/`` (the run id names the config and the data's fingerprint), builds
the model and the optimiser, resumes from ``last.pt`` if a killed run left one, compiles the
training step when ``config.compile`` asks for it (``rga.engine.compile``), then for each
epoch sets the LR, runs the P x K batches (forward, label-smoothed CE on the logits + batch-hard
triplet on z, backward, step), logs one line and writes a checkpoint. The last epoch's model is
evaluated (no model selection, as in the official code) and kept, with its metrics, as ``final.pt``.

This module writes checkpoints only; results files are the study's (``rga.study.train``, also
the command line).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from rga.data import (
    RandomIdentitySampler,
    ReIDDataset,
    dataset_summary,
    format_summary,
    summary_changes,
)
from rga.engine import distributed
from rga.engine.build import (
    AMP_DTYPES,
    build_model,
    build_optimizer,
    build_train_loader,
    dataset_statistics,
    load_data,
)
from rga.engine.checkpoint import (
    FINAL,
    LAST,
    LOG,
    VERIFIED,
    all_finite,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from rga.engine.compile import compile_for_training
from rga.engine.config import (
    RUN_ID_EXCLUDED,
    RunConfig,
    check_environment,
    config_from_dict,
    run_id,
)
from rga.engine.determinism import determinism
from rga.engine.diagnostics import GradientNorms, feature_and_gate_statistics, probe_batch
from rga.engine.evaluate import evaluate
from rga.engine.lock import RunLock
from rga.engine.provenance import git_state, hardware_info, library_versions
from rga.engine.schedule import lr_at_epoch, schedule_of
from rga.engine.seeding import epoch_seed, rng_states, seed_everything, set_rng_states
from rga.losses import cross_entropy_label_smooth, triplet_hard
from rga.model import ReIDNet


def train(
    config: RunConfig,
    *,
    checkpoint_root: str | Path = "checkpoints",
    force: bool = False,
    on_epoch_end: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> dict | None:
    """Train (or resume, or just report) the run of `config`; return its summary (`summary`)
    with ``reused``: True when a finished run was reported, not trained, by this call.

    The data is loaded and checked first (`rga.engine.build.load_data`), so that bad data fails
    before any file is touched. The run folder is ``<checkpoint_root>/<run_id>`` with the run id
    of the config and the data's fingerprint: the same config on other data is another run. One
    process at a time works on a run folder (`rga.engine.lock`); a second one waits for it.
    A run whose ``final.pt`` exists is not retrained unless `force`. `on_epoch_end(entry)` gets
    each epoch's curve entry {epoch, lr, loss, ce, triplet, images_per_s, seconds} (rank 0
    only). Under torchrun ranks other than 0 return None.
    """
    check_environment(config, distributed.world_size_hint())
    with distributed.session(config.device) as ctx, determinism(config, ctx.device):
        # the data first: a bad data_root fails here, before any file of the run is touched
        dataset = _load_data(config, checkpoint_root, ctx)
        data = dataset_summary(dataset)
        run_dir = Path(checkpoint_root) / run_id(config, data["fingerprint"])
        with _exclusive(run_dir, ctx):
            if _finished(run_dir, ctx) and not force:
                return _report_finished(config, data, run_dir) if ctx.is_main else None
            if force:
                _discard_checkpoints(run_dir, ctx)
            run = _set_up(config, dataset, data, run_dir, ctx)
            _resume(run)
            _compile(run)
            for epoch in range(run.start_epoch, config.epochs):
                entry = _train_epoch(run, epoch, progress)
                run.curve.append(entry)
                if ctx.is_main:
                    _log(run_dir, _epoch_line(entry, config.epochs), echo=progress)
                    if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
                        _save_last(run, epochs_done=epoch + 1)
                    if on_epoch_end is not None:
                        on_epoch_end(dict(entry))
            return _finish(run) if ctx.is_main else None


@dataclass
class _Run:
    """Everything one training process holds between epochs."""

    config: RunConfig
    run_dir: Path
    ctx: distributed.Context
    dataset: ReIDDataset
    data: dict  # rga.data.dataset_summary of `dataset`: its fingerprint and split sizes
    loader: DataLoader
    sampler: RandomIdentitySampler
    model: ReIDNet
    net: nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    probe: torch.Tensor  # fixed images for the per-epoch diagnostics
    grad_norms: GradientNorms | None = None  # this epoch's
    start_epoch: int = 0
    curve: list[dict] = field(default_factory=list)
    compiled: dict | None = None  # {compiled, seconds, error} of this session, with config.compile
    # (commit, dirty) of the code this process trains with, read when it starts: the repository's
    # HEAD may move while a run trains
    code: tuple[str, bool | None] = ("unknown", None)


def _load_data(config: RunConfig, checkpoint_root, ctx: distributed.Context) -> ReIDDataset:
    """The verified dataset (rank 0 first, so a synthetic set is generated and its images
    decoded once); the verification is remembered under ``<checkpoint_root>/.verified``."""
    if not ctx.is_main:
        distributed.barrier(ctx)
    cache_dir = Path(checkpoint_root) / VERIFIED
    dataset = load_data(config, cache_dir=cache_dir, verbose=ctx.is_main)
    if ctx.is_main:
        distributed.barrier(ctx)
    return dataset


@contextmanager
def _exclusive(run_dir: Path, ctx: distributed.Context):
    """Hold the run folder's lock (rank 0, for the whole job); clear killed writes' leftovers."""
    if not ctx.is_main:
        yield
        return
    with RunLock(run_dir, say=tqdm.write):
        for tmp in remove_stale_temporaries(run_dir):
            _log(run_dir, f"# removed {tmp.name}, left by a killed write")
        yield


def _set_up(
    config: RunConfig, dataset: ReIDDataset, data: dict, run_dir: Path, ctx: distributed.Context
) -> _Run:
    """Loader, model, optimiser, scaler for the loaded `dataset`."""
    loader, sampler = build_train_loader(
        config, dataset.train, ctx.rank, ctx.world_size, pin_memory=ctx.device.type == "cuda"
    )
    seed_everything(config.seed)
    model = build_model(config, dataset.num_train_pids).to(ctx.device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if config.sync_bn and ctx.world_size > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _Run(
        config=config,
        run_dir=run_dir,
        ctx=ctx,
        dataset=dataset,
        data=data,
        loader=loader,
        sampler=sampler,
        model=model,
        net=model,
        optimizer=build_optimizer(config, model),
        scaler=torch.amp.GradScaler(ctx.device.type, enabled=config.amp == "fp16"),
        probe=probe_batch(dataset.train, config.height, config.width).to(ctx.device),
        code=git_state(),
    )


def _resume(run: _Run) -> None:
    """Continue from ``last.pt`` when a killed run left one; then wrap the model for DDP."""
    path = run.run_dir / LAST
    if path.exists():
        state = load_checkpoint(path)
        _check_same_run(state["config"], run.config, path)
        _check_same_data(state, run.data, path)
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        for group in run.optimizer.param_groups:  # the saved run may have used another kernel
            group["fused"] = run.config.fused_optimizer or None
        run.scaler.load_state_dict(state["scaler"])
        if state["sampler"]["world_size"] != run.ctx.world_size:
            n = state["sampler"]["world_size"]
            raise ValueError(
                f"{path} was written by a run on {n} process(es), this one has "
                f"{run.ctx.world_size}; resume with the same number (torchrun --nproc_per_node "
                f"{n}) or train with force=True"
            )
        run.sampler.load_state_dict(state["sampler"])
        set_rng_states(state["rng"])
        run.start_epoch, run.curve = state["epoch"], state["curve"]
    if run.ctx.is_main:
        what = "resume at" if run.curve else "start"
        _log(run.run_dir, f"# {run.run_dir.name}: {what} epoch {run.start_epoch}")
    if run.ctx.world_size > 1:
        device = run.ctx.device
        run.net = DistributedDataParallel(
            run.model, device_ids=[device.index] if device.type == "cuda" else None
        )


def _compile(run: _Run) -> None:
    """With ``config.compile``: compile the training step now, on a random batch of the training
    shape (nothing of the run changes; see rga.engine.compile), and log how long it took."""
    if not run.config.compile:
        return
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(
        run.sampler.local_batch_size, 3, run.config.height, run.config.width, generator=generator
    )
    pids = torch.arange(run.sampler.local_batch_size) // run.config.instances_per_id

    def warm_up(net: nn.Module) -> torch.Tensor:
        return _losses(run, net, images, pids)[0]

    result = compile_for_training(run.net, run.model, warm_up)
    run.net = result.net
    run.compiled = {"compiled": result.compiled, "seconds": result.seconds, "error": result.error}
    if run.ctx.is_main:
        _log(run.run_dir, f"# {result.describe()}")


def _train_epoch(run: _Run, epoch: int, progress: bool) -> dict:
    """One pass over the P x K batches at this epoch's LR; the epoch's curve entry."""
    config, ctx = run.config, run.ctx
    lr = lr_at_epoch(epoch, **schedule_of(config))
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    # each epoch starts from (seed, epoch, rank): a resumed run draws what a straight one does
    seed_everything(epoch_seed(config.seed, epoch, ctx.rank))
    run.loader.sampler.set_epoch(epoch)
    run.net.train()
    run.grad_norms = GradientNorms(run.model)
    totals, images_seen, start = torch.zeros(3, dtype=torch.float64), 0, time.perf_counter()
    bar = tqdm(
        run.loader,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        disable=not (progress and ctx.is_main),
        leave=False,
    )
    for step, (images, pids, *_) in enumerate(bar):
        losses = _train_step(run, images, pids)
        if not torch.isfinite(losses).all():
            raise FloatingPointError(_nan_message(epoch, step, losses, lr, run))
        totals += losses.double().cpu()
        images_seen += images.shape[0] * ctx.world_size
        speed = images_seen / (time.perf_counter() - start)
        bar.set_postfix(loss=f"{totals[0] / (step + 1):.4f}", lr=f"{lr:.2e}", img_s=f"{speed:.1f}")
    seconds = time.perf_counter() - start
    steps = max(len(run.loader), 1)
    if not all_finite(run.model):
        raise FloatingPointError(_nan_message(epoch, steps - 1, None, lr, run))
    return {
        "epoch": epoch,
        "lr": lr,
        "loss": float(totals[0] / steps),
        "ce": float(totals[1] / steps),
        "triplet": float(totals[2] / steps),
        "images_per_s": images_seen / seconds,
        "seconds": seconds,
        **feature_and_gate_statistics(run.model, run.probe),
        **run.grad_norms.means(),
    }


def _train_step(run: _Run, images: torch.Tensor, pids: torch.Tensor) -> torch.Tensor:
    """Forward, CE + triplet, backward, optimiser step; (loss, ce, triplet) averaged over ranks.

    Nothing is updated when the loss is not finite: the caller stops the run.
    """
    loss, ce, triplet = _losses(run, run.net, images, pids)
    losses = distributed.mean_over_ranks(torch.stack([loss, ce, triplet]).detach())
    if not torch.isfinite(losses).all():
        return losses
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.grad_norms.add(scale=run.scaler.get_scale() if run.scaler.is_enabled() else 1.0)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    return losses


def _losses(
    run: _Run, net: nn.Module, images: torch.Tensor, pids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward `images` through `net` and return (CE + triplet, CE, triplet) of this rank."""
    config, device = run.config, run.ctx.device
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    images = images.to(device, memory_format=memory_format, non_blocking=True)
    pids = pids.to(device, non_blocking=True)
    amp_dtype = AMP_DTYPES[config.amp]
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        out = net(images)
    ce = cross_entropy_label_smooth(out.logits.float(), pids, epsilon=config.label_smoothing)
    z, targets = out.z.float(), pids
    if config.triplet_scope == "global":  # mine over the whole P x K batch of all ranks
        z, targets = distributed.gather_with_grad(z), distributed.gather(targets)
    triplet = triplet_hard(z, targets, margin=config.margin)
    return ce + triplet, ce, triplet


def _save_last(run: _Run, epochs_done: int) -> None:
    """Everything needed to continue after `epochs_done` epochs, as ``last.pt``."""
    save_checkpoint(
        {
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scaler": run.scaler.state_dict(),
            "sampler": run.sampler.state_dict(),
            "rng": rng_states(),
            "epoch": epochs_done,
            "curve": run.curve,
            "config": run.config.to_dict(),
            "num_classes": run.dataset.num_train_pids,
            "data": run.data,
        },
        run.run_dir / LAST,
    )


def _finish(run: _Run) -> dict:
    """Evaluate the last epoch's model and keep it, with its metrics, as ``final.pt``."""
    start = time.perf_counter()
    metrics = evaluate(run.model, run.config, run.dataset, run.ctx.device)
    commit, dirty = run.code
    save_checkpoint(
        {
            "model": run.model.state_dict(),
            "config": run.config.to_dict(),
            "num_classes": run.dataset.num_train_pids,
            "curve": run.curve,
            "metrics": metrics,
            "eval_time_s": time.perf_counter() - start,
            "dataset_statistics": dataset_statistics(run.dataset),
            "data": run.data,
            "hardware": hardware_info(run.ctx.device, run.ctx.world_size),
            "versions": library_versions(),
            # the code of the process that finished the run, read when it started (a resumed
            # run may have started under another)
            "git_commit": commit,
            "git_dirty": dirty,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "compile": run.compiled,
            "finished": True,
        },
        run.run_dir / FINAL,
    )
    (run.run_dir / LAST).unlink(missing_ok=True)  # final.pt holds the weights; the rest is spent
    _log(run.run_dir, "# finished: " + metrics_line(metrics))
    return {**summary(run.run_dir), "reused": False}


def summary(run_dir: Path) -> dict:
    """What a finished run's ``final.pt`` holds besides the weights: config, num_classes, curve,
    metrics, eval_time_s, dataset_statistics, data (the dataset summary with its fingerprint),
    hardware, versions, git_commit, git_dirty, created (when it finished), compile (None unless
    config.compile: the last session's {compiled, seconds, error}), and the checkpoint's path."""
    state = load_checkpoint(run_dir / FINAL)
    state.pop("model")
    return {**state, "checkpoint": str(run_dir / FINAL)}


def _finished(run_dir: Path, ctx: distributed.Context) -> bool:
    finished = (run_dir / FINAL).exists()
    distributed.barrier(ctx)
    return finished


def _discard_checkpoints(run_dir: Path, ctx: distributed.Context) -> None:
    if ctx.is_main:
        for name in (FINAL, LAST):
            (run_dir / name).unlink(missing_ok=True)
    distributed.barrier(ctx)


def _report_finished(config: RunConfig, data: dict, run_dir: Path) -> dict:
    """The summary of a run trained before, once its final.pt says it was trained with `config`
    on `data`."""
    path = run_dir / FINAL
    state = load_checkpoint(path)
    _check_same_run(state["config"], config, path)
    _check_same_data(state, data, path)
    state.pop("model")
    return {**state, "checkpoint": str(path), "reused": True}


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


def _check_same_data(state: dict, data: dict, path: Path) -> None:
    """Refuse a checkpoint of other data than `data` (a run folder copied or renamed by hand)."""
    stored = state.get("data")
    if stored is None:
        raise ValueError(
            f"{path} does not say which data it was trained on (written before dataset "
            "fingerprints were stored), so it is not reported as the result of this data "
            f"({format_summary(data)}); delete {path.parent} or train with force=True"
        )
    if stored["fingerprint"] != data["fingerprint"]:
        changes = "; ".join(summary_changes(stored, data)) or "other content"
        raise ValueError(
            f"{path} was trained on other data than the data now given: {changes} "
            f"(trained on {format_summary(stored)}; now {format_summary(data)}); delete "
            f"{path.parent} or train with force=True"
        )


def _log(run_dir: Path, line: str, echo: bool = False) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOG, "a") as f:
        f.write(line + "\n")
    if echo:
        tqdm.write(line)


def _epoch_line(entry: dict, epochs: int) -> str:
    return (
        f"epoch {entry['epoch'] + 1}/{epochs} lr {entry['lr']:.3e} loss {entry['loss']:.4f} "
        f"ce {entry['ce']:.4f} triplet {entry['triplet']:.4f} "
        f"images/s {entry['images_per_s']:.1f} time {entry['seconds']:.1f}s"
    )


def metrics_line(metrics: dict) -> str:
    """One line of the headline metrics: "z R1 71.20 R5 ... | z_hat R1 ..."."""
    return " | ".join(
        f"{feature} " + " ".join(f"{k} {values[k]:.2f}" for k in ("R1", "R5", "R10", "mAP", "mINP"))
        for feature, values in metrics.items()
    )


def _nan_message(epoch, step, losses, lr, run: _Run) -> str:
    what = (
        f"loss {losses[0].item()} (ce {losses[1].item()}, triplet {losses[2].item()})"
        if losses is not None
        else "the model parameters"
    )
    last = run.run_dir / LAST
    kept = (
        f"the last good checkpoint {last} (epoch {len(run.curve)}) is kept"
        if last.exists()
        else "no checkpoint was written yet"
    )
    return (
        f"non-finite {what} at epoch {epoch} step {step} with lr {lr:.3e}; training stopped and "
        f"{kept}. Lower base_lr, set amp='off', or check the input data."
    )
