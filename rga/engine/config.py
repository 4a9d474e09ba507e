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
SYNTH_PRESETS = ("smoke", "cpu", "pretrain", "market", "cpu-192x96", "pretrain-192x96")
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet18-w0.5", "resnet18-w0.25")
KINDS = (
    "rga-sc",
    "rga-s",
    "rga-c",
    "rga-sc-norel",
    "rga-s-norel",
    "rga-c-norel",
    "rga-s-noori",
    "rga-c-noori",
    "rga-sc-parallel",
    "rga-cs",
    "cbam",
    "cbam-s",
    "cbam-c",
    "se",
    "nonlocal",
    None,
)
# The kinds with relations, the ones `rga_embedding` applies to (rga.model.has_relations).
EMBEDDING_KINDS = (
    "rga-sc",
    "rga-s",
    "rga-c",
    "rga-s-noori",
    "rga-c-noori",
    "rga-sc-parallel",
    "rga-cs",
)
RELATIONS = ("factorised", "materialised")
RGA_EMBEDDINGS = ("asymmetric", "symmetric", "none")
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
    # The data is identified by its content instead: run_id takes the dataset fingerprint, taken
    # after corrupt images are left out, so skip_corrupt changes the id exactly when it changes
    # the data (it does nothing on a dataset without corrupt files).
    "skip_corrupt",
    "checkpoint_every",
    "test_batch_size",
    "deterministic",
    "compile",
    "channels_last",
    "fused_optimizer",
)

# Fields added after results files were committed, with the value every earlier run had. At that
# value they are left out of the run id, so the ids (and results file names) of earlier runs stay
# the same; `rga.study.results.load_results` fills them in for files written before they existed.
ADDED_FIELDS = {"rga_embedding": "asymmetric", "rga_ratios": (8, 8, 8), "cbam_reduction": 16}

# The kinds whose modules create BatchNorm layers that `attention_bn_init` draws: RGA's gate heads
# and embeddings. The baseline, SE (no BN), the non-local block (its BN starts at zero, as in its
# own paper) and CBAM (no BN after the spatial conv, the CBAM paper's Eq. 3) are built the same
# under either init, so their run id takes the field at its default: one run serves both.
ATTENTION_BN_KINDS = tuple(k for k in KINDS if k is not None and k.startswith("rga-"))
# The kinds with CBAM's shared channel MLP, the ones `cbam_reduction` applies to.
CBAM_MLP_KINDS = ("cbam", "cbam-c")


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
    # Leave out images that do not decode (rga.data.verify_images names them) instead of refusing
    # to train; the data's fingerprint, and so the run id, is that of the images kept.
    skip_corrupt: bool = False
    # model
    arch: str = "resnet50"
    kind: str | None = "rga-sc"
    positions: tuple[int, ...] = (1, 2, 3, 4)
    relation: str = "factorised"
    # relation embeddings of RGA kinds with relations (main paper Table 4): "asymmetric" (the
    # official theta != phi), "symmetric" (one shared embedding) or "none" (raw features)
    rga_embedding: str = "asymmetric"
    # reductions of the RGA module (RGA kinds): channel (C' = C // cha_ratio), spatial
    # (N' = N // spa_ratio) and gate head (hidden = input // down_ratio); (8, 8, 8) is the official
    # code's (spec 1.2), the sizes it was written for at 256x128
    rga_ratios: tuple[int, ...] = (8, 8, 8)
    # r of CBAM's shared channel MLP (C -> C // r -> C; kinds "cbam", "cbam-c"); 16 in its paper
    cbam_reduction: int = 16
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
            "rga_embedding": RGA_EMBEDDINGS,
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
        if self.rga_embedding != "asymmetric" and self.kind not in EMBEDDING_KINDS:
            raise ValueError(
                f"rga_embedding={self.rga_embedding!r} applies to kinds with relations "
                f"{list(EMBEDDING_KINDS)}; kind={self.kind!r} has none: leave it 'asymmetric'"
            )
        if len(self.rga_ratios) != 3 or any(r < 1 for r in self.rga_ratios):
            raise ValueError(
                f"rga_ratios={self.rga_ratios!r}: give three positive integers, the channel, "
                "spatial and gate-head reductions (cha_ratio, spa_ratio, down_ratio), e.g. "
                "rga_ratios=8,8,8 (the official code) or rga_ratios=1,1,8"
            )
        if self.rga_ratios != ADDED_FIELDS["rga_ratios"] and self.kind not in ATTENTION_BN_KINDS:
            raise ValueError(
                f"rga_ratios={self.rga_ratios!r} applies to RGA kinds {list(ATTENTION_BN_KINDS)}; "
                f"kind={self.kind!r} has no RGA module: leave it (8, 8, 8)"
            )
        _check_range("cbam_reduction", self.cbam_reduction, 1)
        if (
            self.cbam_reduction != ADDED_FIELDS["cbam_reduction"]
            and self.kind not in CBAM_MLP_KINDS
        ):
            raise ValueError(
                f"cbam_reduction={self.cbam_reduction!r} applies to kinds with CBAM's channel MLP "
                f"{list(CBAM_MLP_KINDS)}; kind={self.kind!r} has none: leave it 16"
            )
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

    for name in ("positions", "lr_steps", "rga_ratios"):
        value = getattr(config, name)
        if isinstance(value, str):
            value = _integers(name, value)
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


def _integers(name: str, text: str) -> tuple[int, ...]:
    """ "1, 2,3" -> (1, 2, 3); anything else raises a ValueError naming the field and an example."""
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        example = {
            "positions": "positions=1,2,3,4 or positions=3",
            "rga_ratios": "rga_ratios=8,8,8",
        }.get(name, f"{name}=40,70")
        raise ValueError(
            f"{name}={text!r} is not a list of integers; write them separated by commas, "
            f"e.g. {example}"
        ) from None


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

_REPO = Path(__file__).resolve().parents[2]


def resolve_weights(weights: str | None) -> str | None:
    """``weights`` as a readable path: None and "imagenet" unchanged; a relative path is taken
    from the working directory, else from the repository root (where the study's pretrained
    trunks are committed), so that configs keep a machine-independent relative path."""
    if weights in (None, "imagenet") or Path(weights).is_absolute() or Path(weights).exists():
        return weights
    in_repo = _REPO / weights
    return str(in_repo) if in_repo.exists() else weights


def committed_trunk(manifest: str = "trunk.json") -> str:
    """The relative path of a pretrained trunk, named in ``experiments/pretrained/<manifest>``
    (``trunk.json``: the study's; ``trunk-192x96.json``: the scale probe's); a path that does not
    exist (so that training says how to make it) when the trunk has not been made."""
    path = _REPO / "experiments" / "pretrained" / manifest
    if path.is_file():
        return json.loads(path.read_text())["file"]
    return f"experiments/pretrained/not-made-yet-{Path(manifest).stem}.pt"


def committed_schedule() -> dict:
    """The schedule (epochs, warmup_epochs, lr_steps) the rule of rga.study.regime chose, as
    written in ``experiments/regime/choice.json``; before the choice is made, the pilot's
    (70 epochs, LR halved at 45, 55 and 65)."""
    choice = _REPO / "experiments" / "regime" / "choice.json"
    if choice.is_file():
        schedule = json.loads(choice.read_text()).get("schedule")
        if schedule:
            return {**schedule, "lr_steps": tuple(schedule["lr_steps"])}
    return {"epochs": 70, "warmup_epochs": 2, "lr_steps": (45, 55, 65)}


# The first study on a 2-core machine without a GPU, from scratch (now experiments/from_scratch):
# the official schedule shape over fewer epochs.
_CPU = scale_schedule(
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
)


def pretrained_profile(profile: str = "pretrained") -> RunConfig:
    """The study in the paper's regime: the cpu profile's network and data, the trunk pretrained
    by the `pretrain` profile (named in experiments/pretrained/trunk.json), the attention modules
    fresh, their BN gamma drawn from U(0, 1) as under the official code's torch 0.4.0 (spec 1.7).
    Its schedule is the one the rule of rga.study.regime chose on the baseline and RGA-SC x4
    (training loss only) before any variant was trained (experiments/regime/choice.json, written
    by experiments/regime.ipynb). Read afresh by every `make_config("pretrained")`, so a process
    that has just made the trunk or the choice uses them.

    ``"pretrained-ones"`` is the recorded deviation: the same with gamma = 1 (modern PyTorch),
    the init of the study's first tables. ``"pretrained-192x96"`` is the study at 192x96 (the
    scale probe of book/scale.md): SynthReID drawn natively at that size and the trunk the
    ``pretrain-192x96`` profile pretrained at that size, the rest unchanged."""
    if profile == LARGE_PROFILE:
        return dataclasses.replace(
            pretrained_profile(),
            profile=profile,
            synth_preset="cpu-192x96",
            height=192,
            width=96,
            weights=committed_trunk(LARGE_TRUNK_MANIFEST),
        )
    return dataclasses.replace(
        _CPU,
        profile=profile,
        weights=committed_trunk(),
        attention_bn_init=STUDY_BN_INITS[profile],
        **committed_schedule(),
    )


# The attention BN init of the study's profile and of its recorded deviation.
STUDY_BN_INITS = {"pretrained": "uniform", "pretrained-ones": "ones"}
# The study at 192x96 (book/scale.md, probe 2) and the manifest of its trunk.
LARGE_PROFILE = "pretrained-192x96"
LARGE_TRUNK_MANIFEST = "trunk-192x96.json"
# Profiles built afresh by every make_config: they name committed files (trunk, schedule).
READ_AFRESH = (*STUDY_BN_INITS, LARGE_PROFILE)


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
    "cpu": _CPU,
    # The stand-in for ImageNet (experiments/pretrain.ipynb): the cpu profile's baseline trained
    # on SynthReID's pretraining population, disjoint from the study's people; only its trunk is
    # kept. 30 epochs with the LR held until epoch 20 (about 17 minutes on 2 cores).
    "pretrain": dataclasses.replace(
        scale_schedule(
            RunConfig(
                profile="pretrain",
                experiment="pretrain",
                dataset="synthreid",
                synth_preset="pretrain",
                height=96,
                width=48,
                arch="resnet18-w0.5",
                weights=None,
                kind=None,
                positions=(),
                threads=2,
                cache_images=True,
            ),
            epochs=30,
        ),
        lr_steps=(20, 25),
    ),
    "pretrained": pretrained_profile(),
    "pretrained-ones": pretrained_profile("pretrained-ones"),
    LARGE_PROFILE: pretrained_profile(LARGE_PROFILE),
    "paper": _PAPER,
}
# The trunk of the study at 192x96: the `pretrain` recipe on the pretraining population drawn at
# that size (experiments/pretrained/trunk-192x96.json).
PROFILES["pretrain-192x96"] = dataclasses.replace(
    PROFILES["pretrain"],
    profile="pretrain-192x96",
    synth_preset="pretrain-192x96",
    height=192,
    width=96,
)


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
    base = pretrained_profile(profile) if profile in READ_AFRESH else PROFILES[profile]
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


DATA_TAG_LENGTH = 8  # hex characters of the dataset fingerprint in a run id


def run_id(config: RunConfig, fingerprint: str) -> str:
    """Readable name + short hash of every field that changes what the run computes + the data.

    `fingerprint` is the trained-on data's ``rga.data.dataset_fingerprint`` (at least its first
    8 hex characters): the same configuration on other data is another run. Example:
    ``synthreid-resnet18-rga-sc-p1234-s0-1a2b3c4d-d0f1e2d3c``.
    """
    if not (
        isinstance(fingerprint, str)
        and len(fingerprint) >= DATA_TAG_LENGTH
        and all(c in "0123456789abcdef" for c in fingerprint)
    ):
        raise ValueError(
            f"fingerprint={fingerprint!r}: give the data's rga.data.dataset_fingerprint "
            f"(at least {DATA_TAG_LENGTH} lowercase hex characters)"
        )
    values = {
        k: v
        for k, v in config.to_dict().items()
        if k not in RUN_ID_EXCLUDED and not (k in ADDED_FIELDS and v == ADDED_FIELDS[k])
    }
    if config.kind not in ATTENTION_BN_KINDS:  # a field that cannot change the model
        values["attention_bn_init"] = RunConfig.attention_bn_init
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]
    kind = config.kind or "baseline"
    positions = f"-p{''.join(map(str, config.positions))}" if config.positions else ""
    name = f"{config.dataset}-{config.arch}-{kind}{positions}-s{config.seed}-{digest}"
    return f"{name}-d{fingerprint[:DATA_TAG_LENGTH]}"


# Names of kinds whose upper-cased key is not the paper's name (main paper Tables 1 and 2).
KIND_NAMES = {
    "rga-sc-norel": "RGA-SC (no relation)",
    "rga-s-norel": "RGA-S w/o Rel.",
    "rga-c-norel": "RGA-C w/o Rel.",
    "rga-s-noori": "RGA-S w/o Ori.",
    "rga-c-noori": "RGA-C w/o Ori.",
    "rga-sc-parallel": "RGA-S//C",
    "nonlocal": "NL",
}


def model_label(config: RunConfig) -> str:
    """Human-readable model name: "Baseline", "RGA-SC conv3_x", "CBAM conv2-5_x"."""
    if config.kind is None:
        return "Baseline"
    name = KIND_NAMES.get(config.kind, config.kind.upper())
    if config.rga_embedding != "asymmetric":
        name += {"symmetric": " (symmetric embedding)", "none": " (w/o embedding)"}[
            config.rga_embedding
        ]
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
    if (
        config.weights not in (None, "imagenet")
        and not Path(resolve_weights(config.weights)).is_file()
    ):
        make = "papermill experiments/pretrain.ipynb out.ipynb"
        if config.profile == LARGE_PROFILE:
            make += " -p profile pretrain-192x96"
        raise FileNotFoundError(
            f"weights={config.weights!r}: no such file (relative paths are read from the working "
            f"directory or the repository root); for the {config.profile!r} profile's pretrained "
            f"trunk run `{make}`"
        )
    if config.ids_per_batch % world_size:
        raise ValueError(
            f"ids_per_batch={config.ids_per_batch} cannot be split over {world_size} processes; "
            f"use a multiple of {world_size} so every rank gets whole identities"
        )
