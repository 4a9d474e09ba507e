"""torch.compile in training: the same numbers as eager within a stated tolerance, checkpoints
that load both ways, and eager with one warning when compilation fails."""

import warnings

import pytest
import torch
from torch import nn

from rga.engine.checkpoint import FINAL, load_checkpoint
from rga.engine.compile import compile_for_training
from rga.engine.config import make_config, run_id
from rga.engine.evaluate import evaluate_checkpoint
from rga.engine.train import train

# Compiled (with channels_last and the fused optimiser) and eager training differ by float
# rounding: inductor fuses and reorders sums, oneDNN runs other kernels in channels_last. Over the
# smoke profile's first epoch (6 steps at the warm-up LR) the losses differ by ~2e-6 relative
# and the metrics not at all. The bounds leave room: 1e-4 on the losses, and a metric may move
# by one query of the 24 (a near-tie decided the other way). At the full LR, Adam turns such
# differences into 1e-4..1e-2 after a few steps, as it would any change of rounding (another
# thread count, say); that is not what this test is about.
LOSS_RTOL = 1e-4


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.bn = nn.Linear(4, 3), nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(self.linear(x))


def test_a_failed_compile_warns_once_and_gives_back_the_eager_module():
    """A machine without a C++ compiler, as inductor sees it."""
    import torch._inductor.config as inductor_config

    model = _Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.compiler.reset()
    x = torch.randn(5, 4)
    rng = torch.get_rng_state()
    with (
        inductor_config.patch({"cpp.cxx": ("/nonexistent/c++",)}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        result = compile_for_training(model, model, lambda net: net(x).square().mean())
    torch.compiler.reset()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "training continues eager" in messages[0]
    assert result.net is model and not result.compiled and "C++ compiler" in result.error
    assert "eager (torch.compile failed" in result.describe()
    # the warm-up left nothing behind: BN statistics, gradients, the global RNG
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, before[name], rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.slow
def test_compiled_training_agrees_with_eager(tmp_path):
    """One smoke epoch of a small RGA-SC model, eager and as fast as it goes (compiled,
    channels_last, fused optimiser): losses and metrics agree; the checkpoint has no
    ``_orig_mod.`` prefixes and an eager NCHW model loaded from it evaluates to the same metrics.
    The first run of this test compiles (about 2 minutes on 2 busy cores); later runs read
    inductor's cache (about 20 seconds)."""
    # One RGA-SC module after conv5_x on the quarter-width trunk: every kind of RGA operation,
    # fewer kernels to compile than four modules.
    small = dict(data_root=str(tmp_path / "data"), arch="resnet18-w0.25", positions=(4,), epochs=1)
    base = make_config("smoke", **small)
    fast = make_config("smoke", **small, compile=True, channels_last=True, fused_optimizer=True)
    eager = train(base, checkpoint_root=tmp_path / "eager", progress=False)
    fingerprint = eager["data"]["fingerprint"]
    assert run_id(fast, fingerprint) == run_id(base, fingerprint)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to eager fails the test
        compiled = train(fast, checkpoint_root=tmp_path / "compiled", progress=False)
    log = (tmp_path / "compiled" / run_id(fast, fingerprint) / "train.log").read_text()
    assert "# compiled in" in log and compiled["compile"]["compiled"]

    for a, b in zip(eager["curve"], compiled["curve"], strict=True):
        for key in ("loss", "ce", "triplet"):
            assert b[key] == pytest.approx(a[key], rel=LOSS_RTOL), (a["epoch"], key)
    one_query = 100 / eager["metrics"]["z"]["num_valid_queries"]
    for feature in ("z", "z_hat"):
        for metric in ("R1", "R5", "R10", "mAP", "mINP"):
            assert compiled["metrics"][feature][metric] == pytest.approx(
                eager["metrics"][feature][metric], abs=one_query
            ), (feature, metric)

    saved = load_checkpoint(tmp_path / "compiled" / run_id(fast, fingerprint) / FINAL)["model"]
    assert not any(k.startswith("_orig_mod.") for k in saved)
    again = evaluate_checkpoint(base, tmp_path / "compiled")  # an eager NCHW model
    for feature in ("z", "z_hat"):
        for metric in ("R1", "R5", "R10", "mAP", "mINP"):
            assert again[feature][metric] == pytest.approx(
                compiled["metrics"][feature][metric], abs=one_query
            ), (feature, metric)
