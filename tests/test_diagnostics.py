"""Per-epoch diagnostics: parameter groups, gradient norms, feature and gate statistics."""

import pytest
import torch

from rga.engine.diagnostics import GradientNorms, feature_and_gate_statistics, parameter_groups
from rga.model import ReIDNet


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ReIDNet(5, arch="resnet18-w0.25", kind="rga-sc", positions=(2, 4), height=64, width=32)


def test_every_parameter_is_in_exactly_one_group(model):
    groups = parameter_groups(model)
    assert set(groups) == {"stem", "layer1", "layer2", "layer3", "layer4", "att2", "att4", "head"}
    grouped = [id(p) for params in groups.values() for p in params]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())


def test_gradient_norms_are_the_group_norms_averaged_over_steps(model):
    norms = GradientNorms(model)
    for p in model.parameters():
        p.grad = torch.full_like(p, 2.0)
    norms.add()
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    norms.add()
    for group, params in parameter_groups(model).items():
        expected = 2.0 * sum(p.numel() for p in params) ** 0.5 / 2  # (norm + 0) / 2 steps
        assert norms.means()[f"grad_norm.{group}"] == pytest.approx(expected, rel=1e-5)


def test_feature_and_gate_statistics_leave_the_model_as_it_was(model):
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stats = feature_and_gate_statistics(model, torch.randn(4, 3, 64, 32))
    assert model.training
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)  # BN statistics untouched
    assert stats["z_norm"] > 0
    for stage in (2, 4):
        for part in ("spatial", "channel"):
            assert 0 < stats[f"gate.att{stage}.{part}_mean"] < 1
            assert stats[f"gate.att{stage}.{part}_sd"] >= 0
    assert not any(k.startswith("gate.att1") for k in stats)
