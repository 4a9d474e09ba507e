"""The schedule rule of rga.study.regime on hand-made training-loss curves."""

import pandas as pd
import pytest

from rga.study import regime


def run(schedule: str, kind, losses) -> dict:
    s = regime.GRID[schedule]
    assert len(losses) == s["epochs"]
    return {
        "kind": kind,
        "epochs": s["epochs"],
        "warmup_epochs": s["warmup_epochs"],
        "lr_steps": s["lr_steps"],
        "curve": [{"loss": v} for v in losses],
    }


def flat(epochs: int, end: float, drop_at_end: float = 0.0) -> list[float]:
    """Loss falling to `end`, then flat, but for `drop_at_end` lost over the last tenth."""
    tail = round(epochs / 10)
    head = [
        end + drop_at_end + 5.0 * (epochs - tail - 1 - e) / epochs for e in range(epochs - tail)
    ]
    return head + [end + drop_at_end * (tail - 1 - i) / tail for i in range(tail)]


def test_grid_schedules():
    assert regime.GRID["compressed, 70 epochs"] == {
        "epochs": 70,
        "warmup_epochs": 2,
        "lr_steps": (45, 55, 65),
    }
    assert regime.GRID["compressed, 40 epochs"]["lr_steps"] == (26, 32, 37)
    official = regime.GRID["official shape, 70 epochs"]
    assert official["lr_steps"][:2] == (9, 14) and len(official["lr_steps"]) == 8
    assert len(regime.grid_models()) == 2 * len(regime.GRID)


def test_the_shortest_schedule_where_both_models_settle_and_train_enough_is_chosen():
    runs = pd.DataFrame(
        [
            run("official shape, 70 epochs", None, flat(70, 2.0)),  # settled, not enough
            run("official shape, 70 epochs", "rga-sc", flat(70, 3.0)),
            run("compressed, 40 epochs", None, flat(40, 1.22)),  # within 5% of 1.2
            run("compressed, 40 epochs", "rga-sc", flat(40, 1.5, drop_at_end=0.2)),  # not settled
            run("compressed, 70 epochs", None, flat(70, 1.21)),
            run("compressed, 70 epochs", "rga-sc", flat(70, 1.30)),
            run("compressed, 100 epochs", None, flat(100, 1.20)),
            run("compressed, 100 epochs", "rga-sc", flat(100, 1.25)),
        ]
    )
    table = regime.convergence_table(runs)
    by = table.set_index(["schedule", "model"])
    assert not by.loc[("official shape, 70 epochs", "none"), "trained enough"]
    assert by.loc[("official shape, 70 epochs", "none"), "settled"]
    assert not by.loc[("compressed, 40 epochs", "rga-sc"), "settled"]
    assert by.loc[("compressed, 70 epochs", "rga-sc"), "above best"] == pytest.approx(0.04)
    assert regime.choose_schedule(table) == "compressed, 70 epochs"
    # had RGA-SC not come within 5% at 70 epochs, the rule goes on to 100
    runs.at[5, "curve"] = [{"loss": v} for v in flat(70, 1.35)]
    assert regime.choose_schedule(regime.convergence_table(runs)) == "compressed, 100 epochs"


def test_no_schedule_is_chosen_when_a_model_never_settles():
    runs = pd.DataFrame(
        [
            run("compressed, 40 epochs", None, flat(40, 1.0)),
            run("compressed, 40 epochs", "rga-sc", flat(40, 1.0, 0.5)),
        ]
    )
    assert regime.choose_schedule(regime.convergence_table(runs)) is None
    assert regime.choose_schedule(pd.DataFrame()) is None
