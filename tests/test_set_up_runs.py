"""The set-up's runs (the trunk's, the schedule grid's) stay out of the pages that gather every
experiment's runs, so the grid's test metrics stay unseen outside the Regime page."""

import json

from rga.study.report.attention_arrays import find_attention_arrays
from rga.study.report.ranked_lists import find_ranked_lists
from rga.study.report.runs import load_runs


def _fake(root, experiment, run_id, profile="pretrained"):
    folder = root / experiment
    (folder / "attention").mkdir(parents=True)
    (folder / "attention" / f"{run_id}.npz").write_bytes(b"")
    (folder / "attention" / f"{run_id}.ranked.json").write_text("{}")


def test_set_up_experiments_are_left_out_of_all_experiments_listings(tmp_path):
    _fake(tmp_path, "regime", "grid-run")
    _fake(tmp_path, "plugin_position", "table-run")
    assert [p.stem for p in find_attention_arrays(None, tmp_path)] == ["table-run"]
    assert [p.name for p in find_ranked_lists(None, tmp_path)] == ["table-run.ranked.json"]
    assert [p.stem for p in find_attention_arrays("regime", tmp_path)] == ["grid-run"]  # asked for


def test_load_runs_of_every_experiment_leaves_the_grid_out():
    every = load_runs()
    assert not every.empty and "regime" not in set(every["experiment"])
    grid = load_runs("regime")
    assert not grid.empty and set(grid["experiment"]) == {"regime"}
    assert json.dumps(sorted(grid["run_id"]))  # the Regime page reads them by name
