"""Run configuration: one frozen dataclass, three named profiles, validated overrides.

`make_config("cpu", kind="rga-s", positions=(3,))` is the whole interface. Every field is a
scalar, a string or a tuple, so a config round-trips through JSON (checkpoints, results files).
The defaults are the official recipe (``shared/reference/official-spec.md`` section 2); the
profiles `smoke` and `cpu` shrink it, `paper` is the recipe on real data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path

DATASETS = ("market1501", "cuhk03-labeled", "cuhk03-detected", "msmt17", "synthreid")
SYNTH_PRESETS = ("smoke", "cpu", "market")
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet18-w0.5", "resnet18-w0.25")
KINDS = ("rga-sc", "rga-s", "rga-c", "rga-sc-norel", "cbam", None)
RELATIONS = ("factorised", "materialised")
ATTENTION_BN_INITS = ("ones", "uniform")
OPTIMIZERS = ("adam", "sgd")
EVAL_FEATURES = ("z", "z_hat")
METRICS = ("cosine", "euclidean")
DEVICES = ("cpu", "cuda", "auto")
AMP_MODES = ("off", "bf16", "fp16")
TRIPLET_SCOPES = ("global", "local")

# The official schedule is written for 600 epochs; shorter profiles scale it (see scale_schedule).
OFFICIAL_EPOCHS = 600
OFFICIAL_WARMUP_EPOCHS = 20
OFFICIAL_LR_STEPS = (80, 120, 160, 200, 240, 280, 320, 360)

SCHEDULE_FIELDS = ("warmup_epochs", "lr_steps")

# Fields that say where or how fast a run happens, not what it computes: two notebooks asking for
# the same model (on another device, with other worker counts, in another experiment) share
# one checkpoint folder and one run id.
RUN_ID_EXCLUDED = (
    "experiment",
    "profile",
    "device",
    "workers",
    "threads",
    "data_root",
    "checkpoint_every",
    "test_batch_size",
    "deterministic",
    "compile",
    "channels_last",
    "fused_optimizer",
)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run; validated at construction.

    Stage numbers in `positions` are 1..4 = after ResNet `layer1..layer4` (conv2_x..conv5_x).
    `kind=None` or `positions=()` is the baseline; both are normalised to (None, ()).
    """

    experiment: str = "default"
    profile: str = "custom"
    # data
    dataset: str = "synthreid"
    data_root: str = "data"
    synth_preset: str = "cpu"
    height: int = 256
    width: int = 128
    random_erasing: bool = True
    cache_images: bool = False
    # model
    arch: str = "resnet50"
    kind: str | None = "rga-sc"
    positions: tuple[int, ...] = (1, 2, 3, 4)
    relation: str = "factorised"
    weights: str | None = "imagenet"
    last_stride: int = 1
    # "ones": the modern PyTorch BN init (gamma = 1); "uniform": gamma ~ U(0, 1) in the attention
    # modules, as under the torch 0.4.0 the official code pinned (spec section 1.7).
    attention_bn_init: str = "ones"
    # optimisation (official: Adam, coupled L2 5e-4, warm-up 20 epochs, x0.5 at 80..360, 600 epochs)
    epochs: int = OFFICIAL_EPOCHS
    ids_per_batch: int = 16
    instances_per_id: int = 4
    optimizer: str = "adam"
    base_lr: float = 8e-4
    momentum: float = 0.9  # SGD only (Nesterov, as the official argparse default)
    weight_decay: float = 5e-4
    warmup_epochs: int = OFFICIAL_WARMUP_EPOCHS
    warmup_begin_lr: float = 8e-6
    lr_steps: tuple[int, ...] = OFFICIAL_LR_STEPS
    lr_factor: float = 0.5
    margin: float = 0.3
    label_smoothing: float = 0.1
    # With several processes: "global" gathers z from every rank so batch-hard mining sees the
    # whole P x K batch, as the official DataParallel run did; "local" mines within each rank.
    triplet_scope: str = "global"
    # evaluation (both z and z_hat are always evaluated; eval_feature picks the headline)
    eval_feature: str = "z"
    metric: str = "cosine"
    rerank: bool = False
    test_batch_size: int = 128
    # runtime
    seed: int = 0
    device: str = "cpu"
    amp: str = "off"
    workers: int = 0
    threads: int = 0  # torch CPU threads while training; 0 keeps torch's default
    sync_bn: bool = False
    deterministic: bool = True
    checkpoint_every: int = 1
    # Speed only, excluded from the run id: the numbers agree with the plain eager run up to
    # float rounding (tests/test_compile.py). torch.compile the training step (inductor, see
    # rga.engine.compile; evaluation stays eager); weights and activations in channels_last
    # memory format; the optimiser's fused kernel instead of its per-parameter loop.
    compile: bool = False
    channels_last: bool = False
    fused_optimizer: bool = False

    def __post_init__(self):
        _normalise(self)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field, the value and the valid choices."""
        hints = typing.get_type_hints(RunConfig)
        for field in dataclasses.fields(self):
            _check_type(field.name, getattr(self, field.name), hints[field.name])
        choices = {
            "dataset": DATASETS,
            "synth_preset": SYNTH_PRESETS,
            "arch": ARCHS,
            "kind": KINDS,
            "relation": RELATIONS,
            "attention_bn_init": ATTENTION_BN_INITS,
            "optimizer": OPTIMIZERS,
            "eval_feature": EVAL_FEATURES,
            "metric": METRICS,
            "device": DEVICES,
            "amp": AMP_MODES,
            "triplet_scope": TRIPLET_SCOPES,
        }
        for name, valid in choices.items():
            value = getattr(self, name)
            if value not in valid:
                raise ValueError(f"{name}={value!r} is not valid; choose one of {list(valid)}")
        bad = [p for p in self.positions if not 1 <= p <= 4]
        if bad or len(set(self.positions)) != len(self.positions):
            raise ValueError(
                f"positions={self.positions!r}: stage numbers must be distinct integers in 1..4 "
                "(1 = after layer1/conv2_x, ..., 4 = after layer4/conv5_x)"
            )
        _check_range("height", self.height, 16)
        _check_range("width", self.width, 16)
        _check_range("last_stride", self.last_stride, 1, 2)
        _check_range("epochs", self.epochs, 1)
        _check_range("ids_per_batch", self.ids_per_batch, 2)
        _check_range("instances_per_id", self.instances_per_id, 1)
        _check_range("base_lr", self.base_lr, 0.0, exclusive_low=True)
        _check_range("momentum", self.momentum, 0.0, 1.0)
        _check_range("weight_decay", self.weight_decay, 0.0)
        _check_range("warmup_epochs", self.warmup_epochs, 0)
        _check_range("warmup_begin_lr", self.warmup_begin_lr, 0.0)
        _check_range("lr_factor", self.lr_factor, 0.0, 1.0, exclusive_low=True)
        _check_range("margin", self.margin, 0.0)
        _check_range("label_smoothing", self.label_smoothing, 0.0, 1.0)
        _check_range("test_batch_size", self.test_batch_size, 1)
        _check_range("seed", self.seed, 0)
        _check_range("workers", self.workers, 0)
        _check_range("threads", self.threads, 0)
        _check_range("checkpoint_every", self.checkpoint_every, 1)
        if any(s < 0 for s in self.lr_steps) or list(self.lr_steps) != sorted(self.lr_steps):
            raise ValueError(
                f"lr_steps={self.lr_steps!r} must be non-negative epochs in increasing order"
            )
        if self.weights not in (None, "imagenet") and not self.weights.endswith((".pth", ".pt")):
            raise ValueError(
                f"weights={self.weights!r}: use None, 'imagenet' or the path of a .pth/.pt file "
                "holding a torchvision ResNet state dict"
            )

    @property
    def batch_size(self) -> int:
        """Images per optimiser step over all processes: P x K."""
        return self.ids_per_batch * self.instances_per_id

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _normalise(config: RunConfig) -> None:
    """Accept notebook-friendly spellings ("1,2,3,4", lists, "none") and canonicalise them."""

    def put(name, value):
        object.__setattr__(config, name, value)  # the documented way to fix up a frozen dataclass

    for name in ("positions", "lr_steps"):
        value = getattr(config, name)
        if isinstance(value, str):
            value = tuple(int(v) for v in value.replace(" ", "").split(",") if v)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        if isinstance(value, tuple):
            value = tuple(int(v) if isinstance(v, float) and v.is_integer() else v for v in value)
        put(name, value)
    for name in ("kind", "weights"):
        if isinstance(getattr(config, name), str) and getattr(config, name).lower() == "none":
            put(name, None)
    if isinstance(config.positions, tuple) and all(isinstance(p, int) for p in config.positions):
        put("positions", tuple(sorted(config.positions)))
    if config.kind is None or config.positions == ():
        put("kind", None)
        put("positions", ())
    for name in ("base_lr", "momentum", "weight_decay", "warmup_begin_lr", "lr_factor", "margin"):
        value = getattr(config, name)
        if isinstance(value, int) and not isinstance(value, bool):
            put(name, float(value))
    if isinstance(config.label_smoothing, int) and not isinstance(config.label_smoothing, bool):
        put("label_smoothing", float(config.label_smoothing))


def _check_type(name: str, value, hint) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        ok = isinstance(value, tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        expected = "a tuple of integers"
    elif origin in (typing.Union, types.UnionType):
        ok = value is None or isinstance(value, args[0])
        expected = f"{args[0].__name__} or None"
    elif hint is bool:
        ok = isinstance(value, bool)
        expected = "True or False"
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif hint is float:
        ok = isinstance(value, float)
        expected = "a number"
    else:
        ok = isinstance(value, hint)
        expected = hint.__name__
    if not ok:
        raise ValueError(f"{name}={value!r} has the wrong type; expected {expected}")


def _check_range(name, value, low=None, high=None, exclusive_low=False) -> None:
    too_low = low is not None and (value <= low if exclusive_low else value < low)
    if too_low or (high is not None and value > high):
        bounds = f"{'>' if exclusive_low else '>='} {low}" + (f" and <= {high}" if high else "")
        raise ValueError(f"{name}={value!r} is out of range; it must be {bounds}")


def scale_schedule(config: RunConfig, epochs: int) -> RunConfig:
    """The same schedule shape over `epochs`: warm-up and LR steps scaled from the official 600.

    600 -> 60 epochs: warm-up 20 -> 2, steps 80, 120, ..., 360 -> 8, 12, ..., 36.
    """
    ratio = epochs / OFFICIAL_EPOCHS
    scale = lambda e: int(math.floor(e * ratio + 0.5))  # noqa: E731  (round half up, not to even)
    return dataclasses.replace(
        config,
        epochs=epochs,
        warmup_epochs=scale(OFFICIAL_WARMUP_EPOCHS),
        lr_steps=tuple(scale(s) for s in OFFICIAL_LR_STEPS),
    )


_PAPER = RunConfig(
    profile="paper",
    # The official runs had no init code and torch 0.4.0, whose BN gamma starts as U(0, 1)
    # (spec 1.7); book/results.md measures that this matters for training the RGA modules.
    attention_bn_init="uniform",
    dataset="cuhk03-labeled",
    data_root="data",
    height=256,
    width=128,
    arch="resnet50",
    weights="imagenet",
    device="cuda",
    workers=8,
)

PROFILES: dict[str, RunConfig] = {
    # seconds, for tests: a tiny synthetic set, a tiny net, two epochs, constant LR after 1 warm-up
    "smoke": RunConfig(
        profile="smoke",
        dataset="synthreid",
        synth_preset="smoke",
        height=64,
        width=32,
        arch="resnet18",
        weights=None,
        epochs=2,
        ids_per_batch=4,
        instances_per_id=2,
        warmup_epochs=1,
        lr_steps=(),
        test_batch_size=64,
        threads=1,  # tiny tensors: a second thread only adds overhead on a shared machine
    ),
    # the study on a 2-core machine without a GPU: the official schedule shape over fewer epochs
    "cpu": scale_schedule(
        RunConfig(
            profile="cpu",
            dataset="synthreid",
            synth_preset="cpu",
            height=96,
            width=48,
            # Chosen on the baseline alone, before comparing variants. From scratch on SynthReID
            # with the official schedule's shape, a half-width ResNet-18 reached mAP 4.5% at
            # 128x64 in 30 epochs, 10.3% at 96x48 in 50 epochs and 14.8% at 64x32 in 80 epochs,
            # (4 to 10 minutes a run on one core). 96x48 keeps attention maps of 24x12 .. 6x3
            # (64x32 would leave 4x2 at the fourth module); 70 epochs of 800 images keep both
            # notebooks (10 models, two at a time) near 45 minutes on 2 cores.
            arch="resnet18-w0.5",
            weights=None,  # no network here to fetch ImageNet weights
            # one thread per run, one run per core (rga.study runs two at once on 2 cores)
            threads=1,
            cache_images=True,
            # Speed only (issue 14, benchmarks/bench_training.py): with the cheaper per-image
            # seeding and no NaN-filling of new tensors, a whole run 1.3x as fast as before.
            # compile stays off: on one core it is slower than these eager settings (the
            # convolutions, two thirds of a step, run in oneDNN either way) and costs minutes
            # of compiling for each new model.
            channels_last=True,
            fused_optimizer=True,
        ),
        epochs=70,
    ),
    "paper": _PAPER,
}


def make_config(profile: str = "cpu", **overrides) -> RunConfig:
    """A profile with `overrides` applied and validated.

    Overriding `epochs` alone in a profile with the official schedule shape (cpu, paper)
    rescales the warm-up and LR steps (see `scale_schedule`); pass `warmup_epochs`/`lr_steps`
    too to set them yourself. The smoke profile's schedule is kept as it is.
    """
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    names = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown config field(s) {unknown}; valid fields are {sorted(names)}")
    base = PROFILES[profile]
    epochs = overrides.get("epochs", base.epochs)
    official_shape = scale_schedule(base, base.epochs) == base  # cpu, paper; not smoke
    if official_shape and epochs != base.epochs and not set(SCHEDULE_FIELDS) & set(overrides):
        _check_type("epochs", epochs, int)
        _check_range("epochs", epochs, 1)
        base = scale_schedule(base, epochs)
    return dataclasses.replace(base, **overrides)


def config_from_dict(values: dict) -> RunConfig:
    """Rebuild a config stored in a checkpoint or results file (lists become tuples)."""
    names = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"unknown config field(s) {unknown}; valid fields are {sorted(names)}")
    return RunConfig(**values)


def run_id(config: RunConfig) -> str:
    """Readable name + short hash of every field that changes what the run computes.

    Example: ``synthreid-resnet18-rga-sc-p1234-s0-1a2b3c4d``.
    """
    values = {k: v for k, v in config.to_dict().items() if k not in RUN_ID_EXCLUDED}
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]
    kind = config.kind or "baseline"
    positions = f"-p{''.join(map(str, config.positions))}" if config.positions else ""
    return f"{config.dataset}-{config.arch}-{kind}{positions}-s{config.seed}-{digest}"


def model_label(config: RunConfig) -> str:
    """Human-readable model name: "Baseline", "RGA-SC conv3_x", "CBAM conv2-5_x"."""
    if config.kind is None:
        return "Baseline"
    name = {"rga-sc-norel": "RGA-SC (no relation)"}.get(config.kind, config.kind.upper())
    stages = [p + 1 for p in config.positions]  # stage 1 = layer1 = conv2_x
    contiguous = stages == list(range(stages[0], stages[-1] + 1))
    if len(stages) == 1:
        where = f"conv{stages[0]}_x"
    elif contiguous:
        where = f"conv{stages[0]}-{stages[-1]}_x"
    else:
        where = f"conv{','.join(map(str, stages))}_x"
    return f"{name} {where}"


def check_environment(config: RunConfig, world_size: int = 1) -> None:
    """Checks that need the machine, not just the values: run by `train` before anything else."""
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device='cuda' but CUDA is not available on this machine; "
            "use device='cpu' (or 'auto') or run where a GPU is visible"
        )
    on_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if config.amp == "fp16" and not on_cuda:
        raise ValueError("amp='fp16' needs a CUDA device; use amp='bf16' or 'off' on the CPU")
    if config.weights not in (None, "imagenet") and not Path(config.weights).is_file():
        raise FileNotFoundError(f"weights={config.weights!r}: no such file")
    if config.ids_per_batch % world_size:
        raise ValueError(
            f"ids_per_batch={config.ids_per_batch} cannot be split over {world_size} processes; "
            f"use a multiple of {world_size} so every rank gets whole identities"
        )
