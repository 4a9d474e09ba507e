import dataclasses
import json

import pytest

from rga.engine.config import (
    PROFILES,
    RunConfig,
    check_environment,
    config_from_dict,
    make_config,
    model_label,
    run_id,
    scale_schedule,
)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_are_valid_and_json_round_trip(profile):
    config = make_config(profile)
    assert config.profile == profile
    assert config_from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_paper_profile_is_the_official_recipe():
    c = make_config("paper")
    assert (c.arch, c.height, c.width, c.weights, c.epochs) == (
        "resnet50",
        256,
        128,
        "imagenet",
        600,
    )
    assert (c.optimizer, c.base_lr, c.weight_decay, c.warmup_epochs, c.warmup_begin_lr) == (
        "adam",
        8e-4,
        5e-4,
        20,
        8e-6,
    )
    assert c.lr_steps == (80, 120, 160, 200, 240, 280, 320, 360)
    assert (c.ids_per_batch, c.instances_per_id, c.batch_size) == (16, 4, 64)
    assert (c.kind, c.positions, c.margin, c.label_smoothing) == ("rga-sc", (1, 2, 3, 4), 0.3, 0.1)


def test_override_and_normalisation():
    c = make_config("smoke", kind="rga-s", positions="3,1", base_lr=1)
    assert (c.kind, c.positions, c.base_lr) == ("rga-s", (1, 3), 1.0)
    assert make_config("smoke", positions=[2]).positions == (2,)
    baseline = make_config("smoke", kind="none")
    assert (baseline.kind, baseline.positions) == (None, ())
    assert make_config("smoke", positions=()).kind is None


def test_cpu_profile_scales_the_official_schedule():
    cpu = make_config("cpu")
    ratio = cpu.epochs / 600
    assert cpu.warmup_epochs == round(20 * ratio)
    assert cpu.lr_steps == tuple(round(s * ratio) for s in PROFILES["paper"].lr_steps)
    shorter = make_config("cpu", epochs=30)
    assert (shorter.warmup_epochs, shorter.lr_steps) == (1, (4, 6, 8, 10, 12, 14, 16, 18))
    explicit = make_config("cpu", epochs=30, lr_steps=(10,))
    assert explicit.lr_steps == (10,) and explicit.warmup_epochs == cpu.warmup_epochs
    assert scale_schedule(PROFILES["paper"], 600) == PROFILES["paper"]
    assert make_config("paper", epochs=120).lr_steps == (16, 24, 32, 40, 48, 56, 64, 72)
    smoke = make_config("smoke", epochs=3)  # not the official shape: left alone
    assert (smoke.warmup_epochs, smoke.lr_steps) == (1, ())


def test_unknown_profile_lists_names():
    with pytest.raises(KeyError, match="cpu.*paper.*smoke"):
        make_config("laptop")


def test_unknown_field_lists_valid_fields():
    with pytest.raises(TypeError, match="unknown config field.*'lr'.*valid fields.*base_lr"):
        make_config("smoke", lr=0.1)


@pytest.mark.parametrize(
    "override, pattern",
    [
        ({"kind": "rga-x"}, r"kind='rga-x' is not valid; choose one of .*'rga-sc'"),
        ({"positions": (0, 2)}, r"positions=\(0, 2\).*1\.\.4"),
        ({"positions": (5,)}, r"positions=\(5,\)"),
        ({"positions": (2, 2)}, r"distinct"),
        ({"arch": "vgg16"}, r"arch='vgg16'"),
        ({"eval_feature": "feat"}, r"eval_feature='feat'.*'z_hat'"),
        ({"ids_per_batch": 1}, r"ids_per_batch=1 is out of range"),
        ({"epochs": 0}, r"epochs=0 is out of range"),
        ({"epochs": 2.5}, r"epochs=2.5 has the wrong type"),
        ({"amp": "fp8"}, r"amp='fp8'"),
        ({"lr_steps": (40, 20)}, r"lr_steps=\(40, 20\).*increasing"),
        ({"rerank": "yes"}, r"rerank='yes' has the wrong type; expected True or False"),
        ({"weights": "resnet50.bin"}, r"weights='resnet50.bin'"),
    ],
)
def test_invalid_values_are_refused(override, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_config("smoke", **override)


def test_config_is_frozen_and_validated_on_replace():
    config = make_config("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    with pytest.raises(ValueError, match="relation"):
        dataclasses.replace(config, relation="dense")


def test_cuda_without_gpu_is_refused_before_training(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        check_environment(make_config("smoke", device="cuda"))
    with pytest.raises(ValueError, match="fp16"):
        check_environment(make_config("smoke", amp="fp16"))


def test_batch_must_split_over_ranks():
    with pytest.raises(ValueError, match="ids_per_batch=4 cannot be split over 3"):
        check_environment(make_config("smoke"), world_size=3)


FINGERPRINT = "0123456789abcdef"


def test_run_id_is_stable_and_ignores_where_the_run_happens():
    config = make_config("smoke")
    assert run_id(config, FINGERPRINT) == run_id(make_config("smoke"), FINGERPRINT)
    assert run_id(config, FINGERPRINT).startswith("synthreid-resnet18-rga-sc-p1234-s0-")
    same = dataclasses.replace(
        config, experiment="other", device="auto", workers=2, data_root="/elsewhere"
    )
    assert run_id(same, FINGERPRINT) == run_id(config, FINGERPRINT)
    faster = dataclasses.replace(config, compile=True, channels_last=True, fused_optimizer=True)
    assert run_id(faster, FINGERPRINT) == run_id(config, FINGERPRINT)
    for change in ({"seed": 1}, {"positions": (3,)}, {"base_lr": 1e-3}, {"eval_feature": "z_hat"}):
        assert run_id(dataclasses.replace(config, **change), FINGERPRINT) != run_id(
            config, FINGERPRINT
        )


def test_run_id_names_the_data_by_its_fingerprint():
    config = make_config("smoke")
    assert run_id(config, FINGERPRINT).endswith("-d01234567")
    assert run_id(config, "fedcba9876543210") != run_id(config, FINGERPRINT)
    # skip_corrupt acts through the data: the fingerprint of the images kept names the run
    skipping = dataclasses.replace(config, skip_corrupt=True)
    assert run_id(skipping, FINGERPRINT) == run_id(config, FINGERPRINT)
    for bad in (None, "", "0123", "not-hex-at-all", config.data_root):
        with pytest.raises(ValueError, match="dataset_fingerprint"):
            run_id(config, bad)


def test_skip_corrupt_is_a_field_and_off_by_default():
    assert make_config("cpu").skip_corrupt is False
    assert make_config("smoke", skip_corrupt=True).skip_corrupt is True
    with pytest.raises(ValueError, match="skip_corrupt='yes' has the wrong type"):
        make_config("smoke", skip_corrupt="yes")


@pytest.mark.parametrize(
    ("field", "text", "example"),
    [("positions", "abc", "positions=1,2,3,4"), ("lr_steps", "40,x", "lr_steps=40,70")],
)
def test_integer_lists_that_do_not_parse_name_the_field_and_an_example(field, text, example):
    with pytest.raises(ValueError, match=f"{field}='{text}' is not a list of integers") as err:
        make_config("smoke", **{field: text})
    assert example in str(err.value)


@pytest.mark.parametrize(
    "kind, positions, label",
    [
        (None, (), "Baseline"),
        ("rga-sc", (2,), "RGA-SC conv3_x"),
        ("rga-sc", (1, 2, 3, 4), "RGA-SC conv2-5_x"),
        ("cbam", (1, 2, 3, 4), "CBAM conv2-5_x"),
        ("rga-s", (1, 3), "RGA-S conv2,4_x"),
    ],
)
def test_model_label(kind, positions, label):
    assert model_label(RunConfig(kind=kind, positions=positions)) == label


def test_config_archs_exist_in_the_model():
    from rga.engine.config import ARCHS
    from rga.model.backbone import ARCHS as MODEL_ARCHS

    assert set(ARCHS) <= set(MODEL_ARCHS)


@pytest.mark.parametrize(
    "profile, before",
    [
        ("smoke", "synthreid-resnet18-rga-sc-p1234-s0-ceeaea0b-d01234567"),
        ("cpu", "synthreid-resnet18-w0.5-rga-sc-p1234-s0-488c7fef-d01234567"),
    ],
)
def test_speed_fields_leave_run_ids_as_they_were(profile, before):
    """The run ids of issue 14's parent commit: adding `compile`, `channels_last` and
    `fused_optimizer` (and turning them on in a profile) changes none, also for a config saved
    without those keys."""
    config = make_config(profile)
    assert run_id(config, FINGERPRINT) == before
    saved = config.to_dict()
    for name in ("compile", "channels_last", "fused_optimizer"):
        saved.pop(name)
    assert run_id(config_from_dict(saved), FINGERPRINT) == before


def test_the_study_profile_starts_rga_bns_as_the_official_code_and_keeps_gamma_1_as_a_profile():
    assert make_config("pretrained").attention_bn_init == "uniform"
    assert make_config("pretrained-ones").attention_bn_init == "ones"
    assert make_config("pretrained-ones").profile == "pretrained-ones"
    same = {"kind": "rga-sc", "positions": (1, 2, 3, 4)}
    uniform, ones = make_config("pretrained", **same), make_config("pretrained-ones", **same)
    assert dataclasses.replace(uniform, profile="x", attention_bn_init="ones") == (
        dataclasses.replace(ones, profile="x")
    )


@pytest.mark.parametrize("kind", [None, "se", "nonlocal", "cbam", "cbam-s", "cbam-c"])
def test_the_attention_bn_init_leaves_out_of_the_run_id_models_it_cannot_change(kind):
    """One run serves both inits where the init builds the same model: same run id, and the
    same initial weights under the same seed."""
    import torch

    from rga.engine.config import ATTENTION_BN_KINDS
    from rga.model import ReIDNet

    assert kind not in ATTENTION_BN_KINDS
    configs = [make_config("smoke", kind=kind, attention_bn_init=i) for i in ("ones", "uniform")]
    assert run_id(configs[0], FINGERPRINT) == run_id(configs[1], FINGERPRINT)
    states = []
    for config in configs:
        torch.manual_seed(0)
        net = ReIDNet(5, arch="resnet18-w0.25", kind=config.kind, positions=config.positions,
                      height=64, width=32, attention_bn_init=config.attention_bn_init)  # fmt: skip
        states.append(net.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("kind", ["rga-sc", "rga-s-norel", "rga-c-noori", "rga-cs"])
def test_the_attention_bn_init_is_part_of_the_run_id_of_rga_models(kind):
    from rga.engine.config import ATTENTION_BN_KINDS

    assert kind in ATTENTION_BN_KINDS
    ids = {run_id(make_config("smoke", kind=kind, attention_bn_init=i), FINGERPRINT)
           for i in ("ones", "uniform")}  # fmt: skip
    assert len(ids) == 2
