import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rga.engine.config import make_config, model_label, run_id
from rga.study.results import (
    REQUIRED_KEYS,
    git_state,
    load_results,
    make_record,
    portable_config,
    write_result,
)

REPO = Path(__file__).resolve().parents[1]


SPLIT = {"images": 40, "ids": 8, "cameras": 2, "fingerprint": "00112233aabbccdd"}
DATA = {"fingerprint": "0123456789abcdef", "train": SPLIT, "query": SPLIT, "gallery": SPLIT}


def _record(experiment="exp", **overrides):
    config = make_config("smoke", experiment=experiment, **overrides)
    metrics = {
        f: {"R1": 50.0, "R5": 70.0, "R10": 80.0, "mAP": 40.0, "mINP": 20.0} for f in ("z", "z_hat")
    }
    metrics["z_hat"]["mAP"] = 41.0
    curve = [
        {
            "epoch": 0,
            "lr": 1e-4,
            "loss": 3.0,
            "ce": 2.0,
            "triplet": 1.0,
            "images_per_s": 10.0,
            "seconds": 2.0,
        },
        {
            "epoch": 1,
            "lr": 1e-4,
            "loss": 2.0,
            "ce": 1.5,
            "triplet": 0.5,
            "images_per_s": 30.0,
            "seconds": 2.0,
        },
    ]
    return make_record(
        config,
        run_id=run_id(config, DATA["fingerprint"]),
        label=model_label(config),
        metrics=metrics,
        curve=curve,
        train_time_s=4.0,
        eval_time_s=1.0,
        dataset_statistics={"train": {"ids": 8, "images": 40, "cameras": 2}},
        data=DATA,
        hardware={"device_name": "cpu-x"},
    )


def test_record_has_the_contract_keys():
    record = _record()
    assert set(REQUIRED_KEYS) <= set(record)
    assert record["wall_time_s"] == 5.0
    assert record["images_per_s"] == pytest.approx((20 + 60) / 4)
    assert record["versions"]["torch"]


def test_write_is_atomic_and_named_by_run(tmp_path):
    a, b = _record(), _record(seed=1)
    path_a, path_b = write_result(a, tmp_path), write_result(b, tmp_path)
    assert path_a == tmp_path / "exp" / f"{a['run_id']}.json" and path_a != path_b
    assert json.loads(path_a.read_text())["metrics"] == a["metrics"]
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == sorted(
        [path_a.name, path_b.name]
    )


def test_write_refuses_incomplete_records(tmp_path):
    record = _record()
    del record["metrics"]
    with pytest.raises(ValueError, match="metrics"):
        write_result(record, tmp_path)


def test_load_results_flattens_to_one_row_per_run(tmp_path):
    write_result(_record(), tmp_path)
    write_result(_record(kind=None), tmp_path)
    write_result(_record(experiment="other", eval_feature="z_hat"), tmp_path)
    frame = load_results(tmp_path)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    for column in (
        "z.mAP",
        "z_hat.R1",
        "mAP",
        "kind",
        "positions",
        "seed",
        "label",
        "run_id",
        "experiment",
    ):
        assert column in frame
    baseline = frame[frame["label"] == "Baseline"].iloc[0]
    assert baseline["positions"] == () and baseline["kind"] == "none"
    rga = frame[(frame["label"] == "RGA-SC conv2-5_x") & (frame["experiment"] == "exp")].iloc[0]
    assert rga["positions"] == (1, 2, 3, 4) and rga["mAP"] == 40.0  # headline = eval_feature z
    assert frame[frame["experiment"] == "other"].iloc[0]["mAP"] == 41.0  # z_hat
    assert frame["final_loss"].tolist() == [2.0, 2.0, 2.0]
    assert set(frame["data_fingerprint"]) == {DATA["fingerprint"]}
    one = load_results([next((tmp_path / "other").iterdir())])
    assert len(one) == 1


def test_git_state_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("RGA_SOURCE_COMMIT", raising=False)
    assert git_state(tmp_path) == ("unknown", None)
    monkeypatch.setenv("RGA_SOURCE_COMMIT", "0123abcd")  # a tree copied elsewhere
    assert git_state(tmp_path) == ("0123abcd", False)
    assert git_state()[0] == "0123abcd"  # named, it wins over the repository's own HEAD


def test_an_unchanged_record_leaves_its_file_untouched(tmp_path):
    record = _record()
    path = write_result(record, tmp_path)
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert write_result(json.loads(path.read_text()), tmp_path) == path
    assert path.stat().st_mtime_ns == before
    record["metrics"]["z"]["mAP"] = 1.0
    write_result(record, tmp_path)
    assert json.loads(path.read_text())["metrics"]["z"]["mAP"] == 1.0


def test_killed_writes_leave_no_temporary_behind(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "exp"
    folder.mkdir()
    stale = folder / f".x.json.{dead.pid}.tmp"
    live = folder / f".y.json.{os.getpid()}.tmp"  # a write in progress: not ours to remove
    stale.write_text("{")
    live.write_text("{")
    write_result(_record(), tmp_path)
    assert not stale.exists() and live.exists()


def test_records_hold_the_training_provenance_and_no_machine_paths(tmp_path):
    inside = make_config("smoke", data_root=str(REPO / "data"))
    outside = make_config("smoke", data_root=str(tmp_path))
    assert portable_config(inside.to_dict())["data_root"] == "data"
    assert "data_root" not in portable_config(outside.to_dict())
    assert list(portable_config(inside.to_dict())) == list(inside.to_dict())  # order kept
    record = make_record(
        outside, run_id="r", label="l", metrics={}, curve=[], train_time_s=0.0, eval_time_s=0.0,
        dataset_statistics={}, data=DATA, hardware={}, versions={"torch": "old"},
        git_commit="a" * 40, git_dirty=False, created="2020-01-01T00:00:00+00:00",
    )  # fmt: skip
    assert (record["git_commit"], record["created"]) == ("a" * 40, "2020-01-01T00:00:00+00:00")
    assert record["versions"] == {"torch": "old"} and record["data"] == DATA
    assert "data_root" not in record["config"]


def test_one_run_id_names_one_result(tmp_path):
    """The same run in two experiments' folders is one result; two files of one run id with
    other numbers (another commit's code) are refused, naming both files."""
    from rga.study.results import DuplicateRunError

    shared = _record("plugin_position")
    write_result(shared, tmp_path)
    again = {**shared, "config": {**shared["config"], "experiment": "attention_variants"}}
    again["curve"] = [{**e, "seconds": 9.0} for e in shared["curve"]]  # retrained elsewhere
    write_result({**again, "git_commit": "another"}, tmp_path)
    assert len(load_results(tmp_path)) == 2  # the same result twice: fine
    other = {**shared, "config": {**shared["config"], "experiment": "from_scratch"}}
    other["metrics"] = {**shared["metrics"], "z": {**shared["metrics"]["z"], "mAP": 21.9}}
    write_result(other, tmp_path)
    with pytest.raises(DuplicateRunError) as error:
        load_results(tmp_path)
    message = str(error.value)
    assert message.startswith(f"run id {shared['run_id']}: ")
    assert "from_scratch/" in message and "attention_variants/" in message and "metrics" in message


def test_the_committed_results_hold_one_result_per_run_id():
    paths = [
        p
        for p in (REPO / "experiments" / "results").rglob("*.json")
        if p.parent.name != "attention"
    ]
    assert len(load_results(paths)) == len(paths) > 100
