"""The RGA module's reductions (``rga_ratios``) and CBAM's MLP reduction (``cbam_reduction``) as
configuration: validated, left out of the run id at their defaults, filled in for older results
files, and passed to the modules (the default network unchanged)."""

import json

import pytest
import torch
from result_fakes import fake_record

from rga.engine.build import build_model
from rga.engine.config import ADDED_FIELDS, config_from_dict, make_config, run_id
from rga.model import ReIDNet
from rga.study.results import load_results, write_result

FP = "d5feeae32a1b2c3d"


def _meta(**kwargs) -> ReIDNet:
    with torch.device("meta"):
        return ReIDNet(767, **kwargs)


def _shapes(model: ReIDNet) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----- config --------------------------------------------------------------------------------


def test_defaults_are_the_official_ratios_and_leave_run_ids_alone():
    config = make_config("smoke", kind="rga-sc")
    assert (config.rga_ratios, config.cbam_reduction) == ((8, 8, 8), 16)
    assert ADDED_FIELDS["rga_ratios"] == (8, 8, 8) and ADDED_FIELDS["cbam_reduction"] == 16
    wide = make_config("smoke", kind="rga-sc", rga_ratios=(1, 1, 8))
    assert run_id(wide, FP) != run_id(config, FP)
    assert run_id(wide, FP).startswith("synthreid-resnet18-rga-sc-p1234-s0-")
    cbam = make_config("smoke", kind="cbam", cbam_reduction=4)
    assert run_id(cbam, FP) != run_id(make_config("smoke", kind="cbam"), FP)


@pytest.mark.parametrize("spelling", ["1,1,8", "1, 1, 8", [1, 1, 8], (1, 1, 8), [1.0, 1, 8]])
def test_rga_ratios_accept_strings_and_lists(spelling):
    assert make_config("smoke", kind="rga-s", rga_ratios=spelling).rga_ratios == (1, 1, 8)


def test_json_round_trip_gives_the_tuple():
    config = make_config("smoke", kind="rga-sc", rga_ratios=(2, 4, 8))
    values = json.loads(json.dumps(config.to_dict()))
    assert values["rga_ratios"] == [2, 4, 8]
    assert config_from_dict(values) == config
    assert config_from_dict(values).rga_ratios == (2, 4, 8)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"rga_ratios": (8, 8)}, r"rga_ratios=\(8, 8\): give three positive integers"),
        ({"rga_ratios": "8,0,8"}, r"rga_ratios=\(8, 0, 8\): give three positive integers"),
        (
            {"rga_ratios": "8,x,8"},
            r"rga_ratios='8,x,8' is not a list of integers.*rga_ratios=8,8,8",
        ),
        ({"rga_ratios": (1, 1, 8), "kind": "cbam"}, r"rga_ratios=\(1, 1, 8\) applies to RGA kinds"),
        ({"rga_ratios": (1, 1, 8), "kind": None}, r"kind=None has no RGA module: leave it"),
        ({"cbam_reduction": 0, "kind": "cbam"}, r"cbam_reduction=0 is out of range"),
        ({"cbam_reduction": 8, "kind": "cbam-s"}, r"cbam_reduction=8 applies to kinds with CBAM"),
        ({"cbam_reduction": 8, "kind": "rga-sc"}, r"kind='rga-sc' has none: leave it 16"),
    ],
)
def test_bad_values_name_the_field_and_the_fix(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config("smoke", **overrides)


def test_older_results_files_get_the_defaults(tmp_path):
    def record(config):
        metrics = {f: {"R1": 50.0, "mAP": 40.0} for f in ("z", "z_hat")}
        curve = [{"epoch": 0, "loss": 2.0, "images_per_s": 8.0, "seconds": 1.0}]
        return fake_record(config, metrics=metrics, curve=curve, data={"fingerprint": FP})

    wide = make_config("smoke", experiment="exp", kind="rga-sc", rga_ratios="1,1,8")
    write_result(record(wide), tmp_path)
    old = record(make_config("smoke", experiment="exp", kind="cbam", seed=1))
    del old["config"]["rga_ratios"], old["config"]["cbam_reduction"]  # before the fields existed
    write_result(old, tmp_path)
    runs = load_results(tmp_path).set_index("kind")
    assert runs.loc["rga-sc", "rga_ratios"] == (1, 1, 8)
    assert runs.loc["cbam", "rga_ratios"] == (8, 8, 8)
    assert runs.loc["cbam", "cbam_reduction"] == 16
    assert runs.loc["cbam", "run_id"] == run_id(config_from_dict(old["config"]), FP)


# ----- the model -----------------------------------------------------------------------------


def test_default_network_is_unchanged():
    """Spec 1.8's parameter counts of the official modules, and the same state dict whether the
    ratios are left out or given as the defaults (also through build_model)."""
    model = _meta()
    counts = {k: sum(p.numel() for p in m.parameters()) for k, m in model.attention.items()}
    assert counts == {"att1": 2673172, "att2": 329796, "att3": 668908, "att4": 2642220}
    assert sum(p.numel() for p in model.parameters()) == 31_397_040
    assert _shapes(_meta(rga_ratios=(8, 8, 8), cbam_reduction=16)) == _shapes(model)
    with torch.device("meta"):
        built = build_model(make_config("paper", weights=None), num_classes=767)
    assert _shapes(built) == _shapes(model)
    assert list(built.state_dict()) == list(model.state_dict())


def test_wider_ratios_widen_the_layers():
    default, wide = _meta(), _meta(rga_ratios=(1, 1, 8))
    assert list(wide.state_dict()) == list(default.state_dict())  # the same layers, wider
    shapes = _shapes(wide)
    assert shapes["attention.att1.theta_spatial.0.weight"] == (256, 256, 1, 1)  # C' = C
    assert shapes["attention.att1.gg_spatial.0.weight"] == (2048, 4096, 1, 1)  # N' = N
    assert shapes["attention.att1.W_spatial.0.weight"] == (256, 2049, 1, 1)  # (1 + N) // 8
    assert shapes["attention.att4.W_channel.0.weight"] == (256, 2049, 1, 1)  # (1 + C) // 8
    head = _shapes(_meta(rga_ratios=(8, 8, 2)))["attention.att2.W_channel.0.weight"]
    assert head == (32, 65, 1, 1)  # (1 + 64) // 2


def test_wider_model_runs_and_config_reaches_it():
    config = make_config("smoke", kind="rga-sc", rga_ratios=(1, 1, 8), positions=(3,))
    torch.manual_seed(0)
    model = build_model(config, num_classes=4)
    assert model.attention["att3"].theta_spatial[0].out_channels == 256  # resnet18 conv4_x: C
    out = model(torch.randn(2, 3, config.height, config.width))
    assert out.logits.shape == (2, 4) and torch.isfinite(out.z).all()


def test_cbam_reduction_reaches_the_mlp():
    model = _meta(kind="cbam-c", cbam_reduction=4)
    assert model.attention["att1"].mlp[0].out_features == 256 // 4
    assert _meta(kind="cbam").attention["att4"].mlp[0].out_features == 2048 // 16
    with torch.device("meta"):
        built = build_model(make_config("paper", kind="cbam", cbam_reduction=8, weights=None), 10)
    assert built.attention["att2"].mlp[0].out_features == 512 // 8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "se", "rga_ratios": (1, 1, 8)}, r"applies to RGA kinds; kind 'se'"),
        ({"kind": "rga-sc", "rga_ratios": (8, 8)}, r"give three positive integers"),
        ({"kind": "cbam-s", "cbam_reduction": 4}, r"cbam_reduction=4 is the positive r"),
        ({"kind": None, "cbam_reduction": 4}, r"for kind None leave cbam_reduction=16"),
    ],
)
def test_model_refuses_ratios_its_kind_does_not_use(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _meta(**kwargs)
