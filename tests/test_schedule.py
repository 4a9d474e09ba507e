import pytest

from rga.engine.config import make_config
from rga.engine.schedule import lr_at_epoch, schedule_of


@pytest.mark.parametrize(
    "epoch, lr",
    [
        (0, 8e-6),
        (1, 8e-6 + (8e-4 - 8e-6) / 20),  # 4.76e-5
        (19, 7.604e-4),
        (20, 8e-4),
        (79, 8e-4),
        (80, 4e-4),
        (119, 4e-4),
        (120, 2e-4),
        (359, 6.25e-6),
        (360, 3.125e-6),
        (599, 3.125e-6),
    ],
)
def test_official_schedule(epoch, lr):
    assert lr_at_epoch(epoch, **schedule_of(make_config("paper"))) == pytest.approx(lr, rel=1e-12)
    assert lr_at_epoch(epoch) == pytest.approx(lr, rel=1e-12)  # the defaults are the official ones


def test_cpu_schedule_has_the_same_shape():
    cpu = make_config("cpu")
    ratio = cpu.epochs / 600
    # warm-up and every halving land at the official epochs scaled (within rounding)
    assert abs(cpu.warmup_epochs - 20 * ratio) <= 0.5
    official_steps = (80, 120, 160, 200, 240, 280, 320, 360)
    assert len(cpu.lr_steps) == len(official_steps)
    assert all(abs(s - o * ratio) <= 0.5 for s, o in zip(cpu.lr_steps, official_steps, strict=True))
    lrs = [lr_at_epoch(e, **schedule_of(cpu)) for e in range(cpu.epochs)]
    official = [lr_at_epoch(e) for e in range(600)]
    # the same LR levels after warm-up, in the same order, and the same share at the floor
    levels = sorted(set(lrs[cpu.warmup_epochs :]), reverse=True)
    assert levels == pytest.approx(sorted(set(official[20:]), reverse=True), rel=1e-12)
    at_floor = sum(lr == min(lrs) for lr in lrs) / cpu.epochs
    assert at_floor == pytest.approx(240 / 600, abs=1 / cpu.epochs)
    assert lrs[0] == 8e-6 and max(lrs) == 8e-4 and lrs[-1] == 3.125e-6


def test_no_warmup_and_negative_epoch():
    assert lr_at_epoch(0, warmup_epochs=0, lr_steps=()) == 8e-4
    with pytest.raises(ValueError, match="epoch=-1"):
        lr_at_epoch(-1)
