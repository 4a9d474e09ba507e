"""The Regime page's tables: the rule's table per data set and the study's progress."""

import pandas as pd

from rga.engine.config import run_id
from rga.study.experiments import experiment_configs
from rga.study.pages.regime import plot_regime_losses, regime_table
from rga.study.regime import data_where
from rga.study.report.studies import study_progress
from tests.test_regime import flat, run


def test_progress_counts_planned_runs_once_and_finished_ones_on_any_data(tmp_path):
    configs = experiment_configs("plugin_position", "pretrained", "study")
    done = tmp_path / "plugin_position"
    done.mkdir()
    for config in configs[:2]:
        (done / f"{run_id(config, 'ab' * 8)}.json").write_text("{}")
    (done / "not-a-planned-run-s0-12345678-dabababab.json").write_text("{}")
    table = study_progress(tmp_path).set_index("experiment")
    assert table.loc["plugin_position", "runs planned"] == 22  # 6 settings x 3 + 2 x 2 seeds
    assert table.loc["plugin_position", "runs finished"] == 2
    assert table.loc["from_scratch", "runs planned"] == 9
    total = table.loc["all (each run once)"]
    # the baseline and RGA-SC x4 are planned by three tables but counted once
    assert total["runs planned"] < table["runs planned"].iloc[:-1].sum()
    assert total["runs finished"] == 2


def test_regime_table_names_the_data_when_there_are_two():
    rows = []
    for data, device in (("aaaaaaaa", "NVIDIA H200"), ("bbbbbbbb", "Intel Xeon")):
        for kind in (None, "rga-sc"):
            r = run("compressed, 200 epochs", kind, flat(200, 1.1))
            rows.append({**r, "run_id": f"x-s0-1-d{data}", "hardware": device})
    runs = pd.DataFrame(rows)
    assert data_where(runs) == {
        "aaaaaaaa": "data aaaaaaaa (written and trained on NVIDIA H200)",
        "bbbbbbbb": "data bbbbbbbb (written and trained on Intel Xeon)",
    }
    table = regime_table(runs)
    assert table.columns[0] == "data" and len(table) == 4
    assert table["data"].iloc[0].startswith("data aaaaaaaa")
    one = regime_table(runs.iloc[:2])
    assert "data" not in one.columns


def test_the_loss_figure_lists_each_schedule_once_first_data_first():
    rows = []
    for data in ("aaaaaaaa", "bbbbbbbb"):
        for schedule in ("compressed, 200 epochs", "compressed, 70 epochs"):
            for kind in (None, "rga-sc"):
                r = run(schedule, kind, flat(int(schedule.split(", ")[1].split()[0]), 1.1))
                rows.append({**r, "run_id": f"x-s0-1-d{data}"})
    fig = plot_regime_losses(pd.DataFrame(rows))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "compressed, 70 epochs",
        "compressed, 200 epochs",
        "compressed, 70 epochs, data bbbbbbbb",
        "compressed, 200 epochs, data bbbbbbbb",
    ]
    assert [len(ax.lines) for ax in fig.axes] == [4, 4]
