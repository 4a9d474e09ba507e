import pytest

from rga.config import make_config
from rga.schedule import lr_at_epoch, schedule_of


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
    ratio = 600 // cpu.epochs
    lrs = [lr_at_epoch(e, **schedule_of(cpu)) for e in range(cpu.epochs)]
    paper = [lr_at_epoch(e * ratio) for e in range(cpu.epochs)]
    assert lrs[cpu.warmup_epochs :] == pytest.approx(paper[cpu.warmup_epochs :], rel=1e-12)
    assert lrs[0] == 8e-6 and max(lrs) == 8e-4 and lrs[-1] == 3.125e-6


def test_no_warmup_and_negative_epoch():
    assert lr_at_epoch(0, warmup_epochs=0, lr_steps=()) == 8e-4
    with pytest.raises(ValueError, match="epoch=-1"):
        lr_at_epoch(-1)
