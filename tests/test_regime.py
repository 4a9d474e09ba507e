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
    assert regime.GRID["compressed, 200 epochs"]["lr_steps"] == (128, 158, 186)
    official = regime.GRID["official shape, 70 epochs"]
    assert official["lr_steps"][:2] == (9, 14) and len(official["lr_steps"]) == 8
    assert len(regime.grid_models()) == 2 * len(regime.GRID)


def test_the_shortest_schedule_within_5_percent_of_the_next_longer_is_chosen():
    ends = {  # final losses (baseline, RGA-SC) by schedule
        "official shape, 70 epochs": (2.0, 3.0),
        "compressed, 40 epochs": (1.40, 1.60),
        "compressed, 70 epochs": (1.30, 1.36),
        "compressed, 100 epochs": (1.20, 1.26),  # within 5% of 140 for both
        "compressed, 140 epochs": (1.18, 1.21),
        "compressed, 200 epochs": (1.17, 1.20),
    }
    runs = pd.DataFrame(
        [
            run(name, kind, flat(regime.GRID[name]["epochs"], end))
            for name, pair in ends.items()
            for kind, end in zip((None, "rga-sc"), pair, strict=True)
        ]
    )
    table = regime.convergence_table(runs)
    by = table.set_index(["schedule", "model"])
    assert by.loc[("compressed, 70 epochs", "rga-sc"), "final loss"] == pytest.approx(1.36)
    assert by.loc[("compressed, 70 epochs", "rga-sc"), "above next longer"] == pytest.approx(
        1.36 / 1.26 - 1
    )
    assert not by.loc[("official shape, 70 epochs", "none"), "trained enough"]  # no longer one
    assert not by.loc[("compressed, 200 epochs", "none"), "trained enough"]  # the longest
    assert regime.choose_schedule(table) == "compressed, 100 epochs"
    # had RGA-SC kept falling by more than 5% at every step, nothing is chosen
    slow = runs.copy()
    for i, row in slow.iterrows():
        if row["kind"] == "rga-sc" and row["epochs"] >= 100:
            end = {100: 1.40, 140: 1.30, 200: 1.20}[row["epochs"]]
            slow.at[i, "curve"] = [{"loss": v} for v in flat(row["epochs"], end)]
    assert regime.choose_schedule(regime.convergence_table(slow)) is None


def test_one_epoch_of_noise_does_not_decide():
    noisy = flat(140, 1.18)
    noisy[-1] = 1.0  # one low epoch: the mean over the last tenth moves by about 1%
    runs = pd.DataFrame([run("compressed, 140 epochs", None, noisy)])
    table = regime.convergence_table(runs)
    assert table["final loss"].iloc[0] == pytest.approx((1.18 * 13 + 1.0) / 14)
    assert regime.choose_schedule(pd.DataFrame()) is None


def test_grid_findings_are_computed_from_the_table():
    runs = pd.DataFrame(
        [
            run("official shape, 70 epochs", None, flat(70, 2.0)),
            run("official shape, 70 epochs", "rga-sc", flat(70, 2.6)),
            run("compressed, 70 epochs", None, flat(70, 1.0)),
            run("compressed, 70 epochs", "rga-sc", flat(70, 1.3)),
            run("compressed, 100 epochs", None, flat(100, 0.9)),
            run("compressed, 100 epochs", "rga-sc", flat(100, 1.0)),
        ]
    )
    text = regime.grid_findings(regime.convergence_table(runs))
    assert "100% (baseline) and 100% (RGA-SC)" in text
    assert "for 43 epochs after the warm-up instead of 7" in text
    assert "11.1% to 30.0% above the baseline's" in text
    assert "+11.1% at 70 epochs" in text and "+30.0% at 70 epochs" in text


def test_the_recorded_choice_is_read_back(tmp_path):
    assert regime.committed_choice(tmp_path) is None
    ends = {"compressed, 40 epochs": 1.30, "compressed, 70 epochs": 1.29}
    runs = pd.DataFrame(
        [
            {**run(name, kind, flat(regime.GRID[name]["epochs"], end)), "run_id": f"{name}{kind}"}
            for name, end in ends.items()
            for kind in (None, "rga-sc")
        ]
    )
    written = regime.record_choice(runs, tmp_path)
    assert written["schedule_name"] == "compressed, 40 epochs"
    assert regime.committed_choice(tmp_path) == written


def test_losses_are_compared_on_the_same_data_only():
    """Data "a" has the grid up to 200 epochs, data "b" the 200- and 280-epoch schedules: 200 is
    judged against 280 on "b" alone, never against a run on other data."""

    def on(data, name, kind, end):
        return {**run(name, kind, flat(regime.GRID[name]["epochs"], end)), "run_id": f"x-d{data}"}

    runs = pd.DataFrame(
        [
            on("a", "compressed, 140 epochs", None, 1.30),
            on("a", "compressed, 140 epochs", "rga-sc", 1.40),  # +12% over 200 on "a"
            on("a", "compressed, 200 epochs", None, 1.25),
            on("a", "compressed, 200 epochs", "rga-sc", 1.25),
            on("b", "compressed, 200 epochs", None, 1.30),
            on("b", "compressed, 200 epochs", "rga-sc", 1.31),
            on("b", "compressed, 280 epochs", None, 1.27),
            on("b", "compressed, 280 epochs", "rga-sc", 1.27),
        ]
    )
    table = regime.convergence_table(runs)
    by = table.set_index(["data", "schedule", "model"])
    assert pd.isna(by.loc[("a", "compressed, 200 epochs", "none"), "above next longer"])
    assert by.loc[("b", "compressed, 200 epochs", "rga-sc"), "above next longer"] == pytest.approx(
        1.31 / 1.27 - 1
    )
    assert regime.choose_schedule(table) == "compressed, 200 epochs"
    text = regime.grid_findings(table, {"a": "the GPU's data", "b": "the CPU's data"})
    assert "**On the GPU's data:**" in text and "**On the CPU's data:**" in text
    assert "(compressed, 200 epochs): the final loss on the CPU's data differs by +4.0%" in text
    # RGA-SC 4% above at 200 on "b" but 12% at 140 on "a": without "b", nothing is chosen
    assert regime.choose_schedule(regime.convergence_table(runs.iloc[:4])) is None


def _loss_run(run_id, epochs, final, *, profile="pretrained", kind="rga-sc", seed=0):
    """A results row whose loss falls linearly to `final` over a compressed schedule."""
    schedule = regime.GRID[f"compressed, {epochs} epochs"]
    curve = [{"loss": final + (epochs - e) * 0.01} for e in range(1, epochs + 1)]
    return {"run_id": f"{run_id}-d5feeae32", "kind": kind, "positions": (1, 2, 3, 4),
            "seed": seed, "profile": profile, "curve": curve, **schedule}  # fmt: skip


def test_the_rule_judges_rga_sc_under_the_official_init_on_its_own_runs():
    regime_runs = pd.DataFrame([
        _loss_run("a", 280, 1.00),
        _loss_run("b", 280, 0.50, profile="pretrained-ones"),  # the gamma = 1 run: not judged
        _loss_run("c", 280, 0.50, seed=1),
    ])  # fmt: skip
    tables = pd.DataFrame([_loss_run("d", 200, 1.06), _loss_run("e", 200, 0.2, kind="rga-s")])
    runs = regime.init_check_runs(regime_runs, tables)
    assert sorted(runs["run_id"]) == ["a-d5feeae32", "d-d5feeae32"]
    table = regime.convergence_table(runs)
    text = regime.init_check_text(table, "compressed, 200 epochs")
    excess = table.set_index("schedule").loc["compressed, 200 epochs", "above next longer"]
    assert 0 < excess <= regime.ENOUGH and f"{excess:+.1%}" in text
    assert "chosen schedule stands" in text
    slow = regime.convergence_table(
        regime.init_check_runs(regime_runs, pd.DataFrame([_loss_run("d", 200, 1.2)]))
    )
    assert "asks for a longer schedule" in regime.init_check_text(slow, "compressed, 200 epochs")
    alone = regime.convergence_table(regime.init_check_runs(regime_runs.iloc[:0], tables))
    assert regime.init_check_text(alone, "compressed, 200 epochs").startswith("Pending")


def test_the_same_check_reads_the_192x96_runs_of_the_scale_probe():
    regime_runs = pd.DataFrame([_loss_run("a", 280, 1.00),
                                _loss_run("f", 280, 1.00, profile="pretrained-192x96")])  # fmt: skip
    tables = pd.DataFrame([_loss_run("g", 200, 1.10, profile="pretrained-192x96")])
    runs = regime.init_check_runs(regime_runs, tables, profile="pretrained-192x96")
    assert sorted(runs["run_id"]) == ["f-d5feeae32", "g-d5feeae32"]
    table = regime.convergence_table(runs)
    text = regime.init_check_text(table, "compressed, 200 epochs", where="at 192x96")
    assert text.startswith("At 192x96, RGA-SC x4's final training loss (seed 0)")
    # final losses: the means over the last tenth, 1.10 + 0.095 against 1.00 + 0.135
    excess = table.set_index("schedule").loc["compressed, 200 epochs", "above next longer"]
    assert excess == pytest.approx(1.195 / 1.135 - 1)
    assert f"{excess:+.1%}" in text and "asks for a longer schedule" in text
    none = regime.convergence_table(regime.init_check_runs(tables.iloc[:0], tables.iloc[:0]))
    assert regime.init_check_text(none, "compressed, 200 epochs", where="at 192x96").startswith(
        "Pending: RGA-SC x4 at 192x96"
    )
