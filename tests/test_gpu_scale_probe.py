"""benchmarks/gpu_scale_probe.py: the budget planning (epochs and seeds from measured step times)
on hand-computed cases, without training anything."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location(
        "gpu_scale_probe", BENCHMARKS / "gpu_scale_probe.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


# Market-sized: 46 steps an epoch; baseline 0.1 s, RGA-SC 0.2 s a step; 20 s a run besides its
# epochs. One epoch of each: 46 * 0.3 = 13.8 s; a pair's fixed cost 40 s.
STEP_S = {"baseline": 0.1, "rga-sc": 0.2}
OVERHEAD_S = {"baseline": 20.0, "rga-sc": 20.0}


def _plan(probe, budget_s, **options):
    options = {"run_overhead_s": OVERHEAD_S, "min_epochs": 8, **options}
    return probe.plan_runs(budget_s, STEP_S, 46, **options)


def test_one_pair_gets_every_epoch_that_fits(probe):
    # 8 epochs a pair: 40 + 8 * 13.8 = 150.4 s, once in 300 s; then (300 - 40) / 13.8 = 18.8
    plan = _plan(probe, 300.0)
    assert (plan.epochs, plan.pairs) == (18, 1)
    assert plan.pair_s == pytest.approx(40 + 18 * 13.8)


def test_more_budget_buys_a_second_seed_before_more_epochs(probe):
    # 400 / 150.4 = 2.7 pairs at 8 epochs: 2; then (200 - 40) / 13.8 = 11.6 epochs
    plan = _plan(probe, 400.0)
    assert (plan.epochs, plan.pairs) == (11, 2)
    assert plan.pairs * plan.pair_s <= 400.0


def test_pairs_are_capped_and_the_epochs_fill_the_rest(probe):
    # 1000 / 150.4 = 6.6 pairs, capped at 3; (333.3 - 40) / 13.8 = 21.3 epochs
    assert _plan(probe, 1000.0, max_pairs=3)[:2] == (21, 3)


def test_slowdown_scales_the_step_time(probe):
    # with slowdown 1.5 an epoch of each takes 20.7 s; 8 epochs a pair: 205.6 s, once in 300 s;
    # (300 - 40) / 20.7 = 12.6 epochs
    assert _plan(probe, 300.0, slowdown=1.5)[:2] == (12, 1)


def test_max_epochs_caps_and_leaves_room_for_more_pairs(probe):
    # the tiny run: 1 epoch at most; a pair costs 40 + 13.8 = 53.8 s, 5.6 times in 300 s
    plan = _plan(probe, 300.0, min_epochs=1, max_epochs=1, max_pairs=10)
    assert (plan.epochs, plan.pairs) == (1, 5)
    assert plan.why.startswith("5 pair(s) at max_epochs=1")


def test_fewer_epochs_than_the_minimum_when_nothing_more_fits(probe):
    # 8 epochs (150.4 s) do not fit 100 s; (100 - 40) / 13.8 = 4.3 epochs, one pair
    plan = _plan(probe, 100.0)
    assert (plan.epochs, plan.pairs) == (4, 1)
    assert "fewer than min_epochs=8" in plan.why


def test_nothing_when_not_one_epoch_of_each_fits(probe):
    assert _plan(probe, 50.0)[:2] == (0, 0)  # 40 + 13.8 > 50
    assert _plan(probe, 53.8)[:2] == (1, 1)  # exactly one epoch of each


def test_bad_inputs_are_refused(probe):
    with pytest.raises(ValueError, match="must be positive"):
        probe.plan_runs(100.0, {"baseline": 0.0}, 46, run_overhead_s={"baseline": 1.0})
    with pytest.raises(ValueError, match="must be positive"):
        probe.plan_runs(100.0, STEP_S, 0, run_overhead_s=OVERHEAD_S)


def test_the_gpu_settings_are_the_paper_recipe_and_tiny_is_small(probe):
    gpu, tiny = probe.GPU, probe.TINY
    assert (gpu.arch, gpu.height, gpu.width, gpu.batch, gpu.device) == (
        "resnet50",
        256,
        128,
        64,
        "cuda",
    )
    assert gpu.synth_preset == "market" and gpu.budget_s < 600
    assert (tiny.device, tiny.synth_preset, tiny.max_epochs) == ("cpu", "smoke", 1)
