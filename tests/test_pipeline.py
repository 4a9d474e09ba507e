"""The study pipeline runs its steps in the order its rules need, and refuses bad arguments."""

import pandas as pd
import pytest

from rga.study import pipeline


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def run_experiment(name, profile, seeds, **kwargs):
        seen.append(("experiment", name, profile, seeds, kwargs.get("device")))
        return pd.DataFrame()

    def run_probes(names, seeds, **kwargs):
        seen.append(("probes", names, seeds, kwargs.get("device")))
        return []

    monkeypatch.setattr(pipeline, "run_experiment", run_experiment)
    monkeypatch.setattr("rga.study.scale.run_probes", run_probes)
    monkeypatch.setattr(pipeline.pretrain, "trunk_manifest", lambda: None)
    monkeypatch.setattr(pipeline.regime, "committed_choice", lambda: None)
    monkeypatch.setattr(
        pipeline.pretrain,
        "pretrain_trunk",
        lambda config, **kw: (
            seen.append(("pretrain", config.profile, config.device)) or {"file": "trunk.pt"}
        ),
    )
    monkeypatch.setattr(
        pipeline.regime,
        "record_choice",
        lambda runs: (
            seen.append(("choice",))
            or {"schedule_name": "compressed, 70 epochs", "schedule": {"epochs": 70}}
        ),
    )
    return seen


def test_steps_run_in_order_with_the_study_seeds(calls):
    pipeline.run_study(device="cuda", jobs=3, progress=False)
    assert calls == [
        ("pretrain", "pretrain", "cuda"),
        ("experiment", "regime", "pretrained", "0", "cuda"),
        ("choice",),
        *[("experiment", name, "pretrained", "study", "cuda") for name in pipeline.TABLES],
        # after the tables (the study as it stands), both probes in one pool
        ("probes", ("scale_ratios", "scale_positions"), "study", "cuda"),
        ("experiment", "from_scratch", "cpu", "0,1,2", "cuda"),
    ]


def test_a_committed_choice_skips_the_grid(calls, monkeypatch):
    chosen = {"schedule_name": "compressed, 70 epochs", "schedule": {"epochs": 70}}
    monkeypatch.setattr(pipeline.regime, "committed_choice", lambda: chosen)
    pipeline.run_study(steps=("regime", "tables"), progress=False)
    assert [c[1] for c in calls] == list(pipeline.TABLES)  # no grid run, no new choice
    # a committed choice of nothing is no choice: the grid runs again
    monkeypatch.setattr(pipeline.regime, "committed_choice", lambda: {**chosen, "schedule": None})
    calls.clear()
    pipeline.run_study(steps=("regime",), progress=False)
    assert calls == [("experiment", "regime", "pretrained", "0", None), ("choice",)]


def test_no_variant_trains_when_the_rule_chose_nothing(calls, monkeypatch):
    monkeypatch.setattr(
        pipeline.regime, "record_choice", lambda runs: {"schedule_name": None, "schedule": None}
    )
    with pytest.raises(SystemExit, match="no schedule"):
        pipeline.run_study(progress=False)
    assert not any(c[0] == "experiment" and c[1] in pipeline.TABLES for c in calls)


def test_command_line_names_a_bad_step(capsys):
    with pytest.raises(SystemExit):
        pipeline.main(["--steps", "pretrain,train"])
    assert "unknown step(s) ['train']" in capsys.readouterr().err


def test_help_keeps_the_example_commands_on_their_own_lines(capsys):
    with pytest.raises(SystemExit) as exit_:
        pipeline.main(["--help"])
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert exit_.value.code == 0
    assert "python -m rga.study.pipeline                       # CPU, one run per core" in lines
    assert "python -m rga.study.pipeline --device cuda --jobs 12" in lines
