"""rga.study: which models each experiment trains, the fixed attention panel, and what the
recording step writes for the book."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rga.data import dataset_summary
from rga.engine.build import build_model, load_data
from rga.engine.checkpoint import FINAL, save_checkpoint
from rga.engine.config import make_config, run_id
from rga.study import experiments as study
from rga.study.report.attention_arrays import RELATION_POINTS, load_attention_arrays
from rga.study.report.ranked_lists import load_ranked_lists, select_ranked_lists
from rga.study.report.runs import load_runs
from rga.study.results import make_record, read_result, write_result
from rga.synth import PARTS

FP = "0123456789abcdef"


def test_plugin_position_is_table2():
    configs = study.experiment_configs("plugin_position", "smoke")
    assert [(c.kind, c.positions) for c in configs] == [
        (None, ()),
        ("rga-sc", (1,)),
        ("rga-sc", (2,)),
        ("rga-sc", (3,)),
        ("rga-sc", (4,)),
        ("rga-sc", (1, 2, 3, 4)),
    ]
    assert {c.experiment for c in configs} == {"plugin_position"}


def test_attention_variants_share_baseline_and_rga_sc_with_plugin_position():
    plugin = {run_id(c, FP) for c in study.experiment_configs("plugin_position", "smoke")}
    variants = study.experiment_configs("attention_variants", "smoke")
    assert [c.kind for c in variants] == [
        None,
        "rga-s-norel",
        "rga-s-noori",
        "rga-s",
        "rga-c-norel",
        "rga-c-noori",
        "rga-c",
        "rga-sc-parallel",
        "rga-cs",
        "rga-sc",
        "rga-sc-norel",
        "cbam",
    ]
    shared = plugin & {run_id(c, FP) for c in variants}
    assert len(shared) == 2  # the baseline and RGA-SC at all four positions train once


def test_every_study_experiment_builds_and_shares_its_runs():
    ids = {
        name: {run_id(c, FP) for c in study.experiment_configs(name, "smoke", seeds="study")}
        for name in ("plugin_position", "attention_variants", "attention_designs")
    }
    embedding = study.experiment_configs("embedding_functions", "smoke")
    assert [c.rga_embedding for c in embedding] == ["none", "symmetric", "asymmetric"]
    assert run_id(embedding[-1], FP) in ids["plugin_position"]  # the default is RGA-SC itself
    five = [c for c in study.experiment_configs("attention_variants", "smoke", seeds="study")]
    seeds = {}
    for c in five:
        seeds.setdefault((c.kind, c.positions), set()).add(c.seed)
    assert seeds[(None, ())] == seeds[("rga-sc", (1, 2, 3, 4))] == {0, 1, 2, 3, 4}
    assert seeds[("rga-sc-norel", (1, 2, 3, 4))] == seeds[("cbam", (1, 2, 3, 4))] == {0, 1, 2, 3, 4}
    assert seeds[("rga-s", (1, 2, 3, 4))] == {0, 1, 2}
    with pytest.raises(ValueError, match="set by the experiment"):
        study.experiment_configs("regime", "smoke", overrides='{"epochs": 3}')


def test_seeds_outermost_and_parsed_from_text():
    configs = study.experiment_configs("plugin_position", "smoke", seeds="0, 2")
    assert [c.seed for c in configs] == [0] * 6 + [2] * 6
    assert study.parse_seeds(3) == (3,)
    assert study.parse_seeds([1, 2]) == (1, 2)
    with pytest.raises(ValueError, match="at least one seed"):
        study.parse_seeds("")


@pytest.mark.parametrize("seeds", ["a,b", "0,x", [1.5], "1.5", [True]])
def test_bad_seeds_name_the_parameter_the_value_and_an_example(seeds):
    with pytest.raises(ValueError) as err:
        study.experiment_configs("plugin_position", "smoke", seeds=seeds)
    message = str(err.value)
    assert message.startswith(f"seeds={seeds!r}") and "e.g. 0 or '0,1,2'" in message


@pytest.mark.parametrize(
    ("overrides", "why"),
    [("{bad json", "is not valid JSON"), ("[1, 2]", "is not a JSON object"), (3, "JSON object")],
)
def test_bad_overrides_name_the_parameter_the_value_and_an_example(overrides, why):
    with pytest.raises(ValueError) as err:
        study.experiment_configs("plugin_position", "smoke", overrides=overrides)
    message = str(err.value)
    assert message.startswith(f"overrides={overrides!r}") and why in message
    assert """e.g. '{"epochs": 120""" in message


def test_overrides_set_skip_corrupt_from_a_notebook():
    (config, *_) = study.experiment_configs(
        "plugin_position", "smoke", overrides='{"skip_corrupt": true}'
    )
    assert config.skip_corrupt is True
    assert study.parse_overrides("") == {} and study.parse_overrides(None) == {}


def test_none_fields_keep_the_profile_and_json_overrides_apply():
    (config, *_) = study.experiment_configs(
        "plugin_position", "smoke", overrides='{"epochs": 3}', dataset=None, device=None
    )
    assert config.epochs == 3
    assert config.dataset == make_config("smoke").dataset
    assert Path(config.data_root).is_absolute()


def test_refuses_fields_the_experiment_sets_and_unknown_names():
    with pytest.raises(ValueError, match="kind"):
        study.experiment_configs("plugin_position", "smoke", kind="cbam")
    with pytest.raises(KeyError, match="plugin_position"):
        study.experiment_configs("no_such_experiment")
    with pytest.raises(TypeError, match="unknown config field"):
        study.experiment_configs("plugin_position", "smoke", overrides={"epoch": 3})


def test_default_jobs_one_per_core_on_cpu_and_one_on_gpu(monkeypatch):
    monkeypatch.setattr(study.os, "cpu_count", lambda: 4)
    cpu = study.experiment_configs("plugin_position", "smoke")  # threads=1
    assert study.default_jobs(cpu) == 4
    assert study.default_jobs(cpu[:3]) == 3
    two_threads = [c.__class__(**{**c.to_dict(), "threads": 2}) for c in cpu]
    assert study.default_jobs(two_threads) == 2
    gpu = [c.__class__(**{**c.to_dict(), "device": "cuda"}) for c in cpu]
    assert study.default_jobs(gpu) == 1
    assert study.default_jobs([]) == 1  # an experiment whose runs have all finished


def test_attention_panel_is_fixed_with_masks_at_input_size(tmp_path):
    config = make_config("smoke", data_root=str(tmp_path), height=96, width=48)
    images, masks, pids, parts, indices, dataset = study.attention_panel(config, 16)
    assert images.shape == (16, 3, config.height, config.width)
    assert masks.shape == (16, config.height, config.width) and masks.dtype == bool
    assert parts.shape == masks.shape and parts.dtype == np.uint8
    np.testing.assert_array_equal(parts > 0, masks)  # resized alike (nearest neighbour)
    assert set(np.unique(parts).tolist()) <= set(range(len(PARTS)))
    assert 0.02 < masks.mean() < 0.8
    assert [dataset.query[i].pid for i in indices] == pids.tolist()
    n_ids = len(set(pids.tolist()))
    assert len(set(pids[:n_ids].tolist())) == n_ids  # one image per identity first
    again = study.attention_panel(config, 16)
    torch.testing.assert_close(images, again.images, rtol=0, atol=0)
    np.testing.assert_array_equal(pids, again.pids)


def _finished_run(config, checkpoints: Path, results: Path) -> dict:
    """A results file and a final checkpoint of an untrained model, as training leaves them."""
    data = dataset_summary(load_data(config, verbose=False))
    rid = run_id(config, data["fingerprint"])
    torch.manual_seed(config.seed)
    model = build_model(config, num_classes=12)
    save_checkpoint(
        {"config": config.to_dict(), "num_classes": 12, "model": model.state_dict()},
        checkpoints / rid / FINAL,
    )
    record = make_record(
        config, run_id=rid, label="test", metrics={}, curve=[], train_time_s=0.0,
        eval_time_s=0.0, dataset_statistics={}, data=data, hardware={},
    )  # fmt: skip
    write_result(record, results)
    return record


@pytest.mark.parametrize("kind", ["rga-sc", None])
def test_recording_writes_scores_maps_relations_and_ranked_lists(tmp_path, kind):
    data, checkpoints, results = tmp_path / "data", tmp_path / "ck", tmp_path / "res"
    config = make_config(
        "smoke", experiment="attention_variants", kind=kind, data_root=str(data)
    )  # fmt: skip
    record = _finished_run(config, checkpoints, results)
    study.record_attention(config, record, results, checkpoints)

    saved = read_result(results / "attention_variants" / f"{record['run_id']}.json")
    arrays = load_attention_arrays(
        results / "attention_variants" / "attention" / f"{record['run_id']}.npz"
    )
    if kind is None:
        assert "attention_parts" not in saved and arrays.spatial == {} and arrays.relations == {}
    else:
        assert sorted(saved["attention_parts"]) == ["1", "2", "3", "4"]
        scores = saved["attention_parts"]["2"]
        assert {"explained", "explained_person"} | {f"mean_{p}" for p in PARTS} == set(scores)
        assert 0 <= scores["explained_person"] <= scores["explained"] <= 1
        assert sorted(arrays.relations) == [1, 2, 3, 4]
        np.testing.assert_allclose(arrays.points, RELATION_POINTS, rtol=0, atol=1e-6)
        for stage, rel in arrays.relations.items():
            h, w = arrays.spatial[stage].shape[1:]
            assert rel.row.shape == rel.col.shape == (study.PANEL_SAVED, 3, h, w)
            assert np.isfinite(rel.row).all() and rel.cells.shape == (3, 2)
        path = results / "attention_variants" / "attention" / f"{record['run_id']}.npz"
        assert path.stat().st_size < 200_000

    lists = load_ranked_lists(
        results / "attention_variants" / "attention" / f"{record['run_id']}.ranked.json"
    )
    assert lists["meta"]["kind"] == kind and lists["meta"]["feature"] == config.eval_feature
    assert len(lists["queries"]) == 4
    for query in lists["queries"]:
        assert query["path"].startswith("query/") and len(query["gallery"]) == 10
        distances = [g["distance"] for g in query["gallery"]]
        assert distances == sorted(distances)
        for item in query["gallery"]:
            assert item["path"].startswith("bounding_box_test/")
            assert item["hit"] == (item["pid"] == query["pid"])
            assert not (item["pid"] == query["pid"] and item["camid"] == query["camid"])
            assert (data.glob(f"*/{item['path']}")).__next__().is_file()
    assert select_ranked_lists(kind, root=results)["meta"]["run_id"] == record["run_id"]
    json.dumps(lists)  # plain JSON
    runs = load_runs("attention_variants", root=results, profiles=None)  # not a results file
    assert runs["run_id"].tolist() == [record["run_id"]]


def test_finished_runs_are_found_by_their_results_files_without_checkpoints(tmp_path, monkeypatch):
    """A fresh checkout has results files but no checkpoints: run_experiment must not retrain
    what they hold, and adopts a run another comparison finished (renaming the experiment)."""
    data, checkpoints, results = tmp_path / "data", tmp_path / "ck", tmp_path / "res"
    shared = make_config("smoke", experiment="plugin_position", kind=None, data_root=str(data))
    record = _finished_run(shared, checkpoints, results)
    study.record_attention(shared, record, results, checkpoints)
    rid = record["run_id"]
    shutil.rmtree(checkpoints / rid)  # a fresh checkout: no checkpoints
    monkeypatch.setitem(study.EXPERIMENTS, "from_scratch", (study.BASELINE,))
    monkeypatch.setattr(
        "rga.engine.provenance.git_state", lambda: (record["git_commit"], False)
    )  # the code at hand is the commit that trained the run
    trained = []
    monkeypatch.setattr(study, "_run_one", lambda config, *a, **k: trained.append(config))

    # default jobs: an experiment with nothing left to schedule is not an error
    runs = study.run_experiment(
        "from_scratch", "smoke", "0", data_root=str(data),
        results_root=results, checkpoint_root=checkpoints,
    )  # fmt: skip
    assert trained == [] and runs["run_id"].tolist() == [rid]
    adopted = read_result(results / "from_scratch" / f"{rid}.json")
    source = read_result(results / "plugin_position" / f"{rid}.json")
    assert adopted["config"]["experiment"] == "from_scratch"
    assert {**adopted, "config": None} == {**source, "config": None}
    arrays = load_attention_arrays(results / "from_scratch" / "attention" / f"{rid}.npz")
    assert arrays.meta["experiment"] == "from_scratch" and arrays.meta["run_id"] == rid
    lists = load_ranked_lists(results / "from_scratch" / "attention" / f"{rid}.ranked.json")
    assert lists["meta"]["experiment"] == "from_scratch"

    # a run with a missing file is not finished; forced runs are retrained
    (results / "from_scratch" / "attention" / f"{rid}.ranked.json").unlink()
    (results / "plugin_position" / "attention" / f"{rid}.ranked.json").unlink()
    study.run_experiment(
        "from_scratch", "smoke", "0", data_root=str(data), jobs=1,
        results_root=results, checkpoint_root=checkpoints,
    )  # fmt: skip
    assert [c.experiment for c in trained] == ["from_scratch"]


def test_set_up_runs_are_never_adopted(tmp_path):
    from rga.study.reuse import adopt_finished, run_files

    for path in run_files(tmp_path, "regime", "r1"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert not adopt_finished(tmp_path, "plugin_position", "r1", "abc")
    assert not (tmp_path / "plugin_position").exists()


def test_only_runs_of_the_code_at_hand_are_adopted(tmp_path):
    from rga.study.reuse import adopt_finished, run_files

    for path in run_files(tmp_path, "plugin_position", "r1"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"git_commit": "old"}))
    assert not adopt_finished(tmp_path, "from_scratch", "r1", "new")  # another commit
    assert not adopt_finished(tmp_path, "from_scratch", "r1", None)  # a dirty tree
    assert not (tmp_path / "from_scratch").exists()
