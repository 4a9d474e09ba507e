"""torch.compile in training: same numbers as eager within a stated tolerance, checkpoints that
load both ways, and eager with one warning when compilation fails."""

import warnings

import pytest
import torch
from torch import nn

from rga.engine.checkpoint import FINAL, load_checkpoint
from rga.engine.compile import compile_for_training
from rga.engine.config import make_config, run_id
from rga.engine.evaluate import load_trained
from rga.engine.train import train

# Compiled and eager training differ by float rounding only (inductor fuses and reorders sums);
# over two smoke epochs the loss moves by ~1e-6 relative and the metrics by none or one ranked
# item. The bounds leave an order of magnitude of room.
LOSS_RTOL = 1e-4
METRIC_ATOL = 2.0  # percentage points on the 12-query smoke test set: less than one query


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.bn = nn.Linear(4, 3), nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(self.linear(x))


def test_a_failed_compile_warns_once_and_gives_back_the_eager_module(monkeypatch):
    import torch._inductor.config as inductor_config

    model = _Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    monkeypatch.setattr(inductor_config.cpp, "cxx", ("/nonexistent/c++",))
    torch.compiler.reset()
    x = torch.randn(5, 4)
    rng = torch.get_rng_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compile_for_training(model, model, lambda net: net(x).square().mean())
    torch.compiler.reset()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "training continues eager" in messages[0]
    assert result.net is model and not result.compiled and result.error
    assert "eager (torch.compile failed" in result.describe()
    # the warm-up left nothing behind: BN statistics, gradients, the global RNG
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, before[name], rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.slow
def test_compiled_training_agrees_with_eager(tmp_path):
    """Two smoke epochs of a small RGA-SC model, eager and compiled (with channels_last and the
    fused optimiser, as the cpu profile runs): losses, metrics and weights agree; the checkpoint
    has no ``_orig_mod.`` prefixes and loads into a plain model. The first run of this test
    compiles (about a minute on one free core); later runs read inductor's cache."""
    # One RGA-SC module after conv5_x on the quarter-width trunk: every kind of RGA operation,
    # few kernels to compile.
    base = make_config(
        "smoke", data_root=str(tmp_path / "data"), arch="resnet18-w0.25", positions=(4,)
    )
    fast = make_config(
        "smoke",
        data_root=str(tmp_path / "data"),
        arch="resnet18-w0.25",
        positions=(4,),
        compile=True,
        channels_last=True,
        fused_optimizer=True,
    )
    assert run_id(fast) == run_id(base)
    eager = train(base, checkpoint_root=tmp_path / "eager", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to eager fails the test
        compiled = train(fast, checkpoint_root=tmp_path / "compiled", progress=False)
    log = (tmp_path / "compiled" / run_id(fast) / "train.log").read_text()
    assert "# compiled in" in log

    for a, b in zip(eager["curve"], compiled["curve"], strict=True):
        for key in ("loss", "ce", "triplet"):
            assert b[key] == pytest.approx(a[key], rel=LOSS_RTOL), (a["epoch"], key)
    for feature in ("z", "z_hat"):
        for metric in ("R1", "R5", "mAP", "mINP"):
            assert compiled["metrics"][feature][metric] == pytest.approx(
                eager["metrics"][feature][metric], abs=METRIC_ATOL
            ), (feature, metric)

    saved = load_checkpoint(tmp_path / "compiled" / run_id(fast) / FINAL)["model"]
    assert not any(k.startswith("_orig_mod.") for k in saved)
    plain = load_trained(base, tmp_path / "compiled")  # an eager, NCHW model
    reference = load_trained(base, tmp_path / "eager").state_dict()
    for name, tensor in plain.state_dict().items():
        torch.testing.assert_close(tensor, reference[name], rtol=1e-3, atol=1e-4, msg=name)
