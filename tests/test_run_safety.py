"""Results are never silently wrong or rewritten by a failure; bad input is named before any work.

Tried as a new user would: the smoke profile on small fake Market-1501 trees (`data_fakes`).
One run on tree A is trained once (`trained`); each test copies its folders before changing them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from data_fakes import make_market

import rga.engine.build as build_module
import rga.engine.lock as lock_module
from rga.data import CorruptImageError, DatasetFormatError, DatasetNotFoundError
from rga.engine.build import load_data
from rga.engine.checkpoint import (
    FINAL,
    LAST,
    LOG,
    IncompleteCheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from rga.engine.config import make_config
from rga.engine.evaluate import evaluate_checkpoint, load_trained, trained_fingerprints
from rga.engine.lock import LOCK, RunLock, RunLockedError
from rga.study.experiments import record_attention, run_experiment
from rga.study.results import read_result, result_path
from rga.study.train import main, train_run

pytestmark = pytest.mark.xdist_group("train")

A_TRAIN, B_TRAIN = (2, 7, 9, 11, 13, 15), (2, 4, 6, 8, 10)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """A and B: two different Market-1501 trees; C: a copy of A under another path."""
    base = tmp_path_factory.mktemp("trees")
    a = make_market(base / "A", train_ids=A_TRAIN)
    b = make_market(base / "B", train_ids=B_TRAIN, test_ids=(1, 3, 5))
    c = shutil.copytree(a, base / "C" / "market1501")
    return a, b, c


def _config(root, **fields):
    return make_config(
        "smoke", dataset="market1501", data_root=str(root), experiment="exp", **fields
    )


@pytest.fixture(scope="module")
def trained(trees, tmp_path_factory):
    """Run A, finished: (config, checkpoint root, results root, record)."""
    base = tmp_path_factory.mktemp("trained")
    config = _config(trees[0])
    with pytest.warns(UserWarning, match="published counts"):
        record = train_run(
            config, checkpoint_root=base / "ck", results_root=base / "res", progress=False
        )
    return config, base / "ck", base / "res", record


@pytest.fixture
def copy(trained, tmp_path):
    """Fresh copies of run A's checkpoint and results folders: (config, ck, res, record)."""
    config, ck, res, record = trained
    shutil.copytree(ck, tmp_path / "ck")
    shutil.copytree(res, tmp_path / "res")
    return config, tmp_path / "ck", tmp_path / "res", record


def _snapshot(*folders: Path) -> dict:
    """Every file under `folders` with its bytes and modification time."""
    return {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _starts(log: Path) -> list[str]:
    return [
        line for line in log.read_text().splitlines() if line.startswith("# ") and "start" in line
    ]


def _no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a finished run must not build a training loader")

    monkeypatch.setattr(build_module, "RandomIdentitySampler", refuse)


# 1. A finished run is never reported for other data.


def test_other_data_trains_under_its_own_id_and_leaves_the_first_results_alone(copy, trees):
    config, ck, res, record_a = copy
    before = _snapshot(res)
    config_b = replace(config, data_root=str(trees[1]))
    with pytest.warns(UserWarning, match="published counts"):
        record_b = train_run(config_b, checkpoint_root=ck, results_root=res, progress=False)

    assert record_b["run_id"] != record_a["run_id"]
    assert record_b["run_id"].rsplit("-", 1)[0] == record_a["run_id"].rsplit("-", 1)[0]
    assert record_b["data"]["fingerprint"] != record_a["data"]["fingerprint"]
    assert record_b["data"]["query"]["ids"] == 3 and record_a["data"]["query"]["ids"] == 2
    assert len(_starts(ck / record_b["run_id"] / LOG)) == 1  # trained, not reused
    assert {p: v for p, v in _snapshot(res).items() if p in before} == before
    assert len(list((res / "exp").glob("*.json"))) == 2

    # the attention maps of B come from B's model, on B's panel
    with pytest.warns(UserWarning, match="published counts"):
        model_b = load_trained(config_b, ck)  # the model trained on the data at data_root
    classes_a = load_checkpoint(ck / record_a["run_id"] / FINAL)["num_classes"]
    assert (classes_a, model_b.classifier.out_features) == (6, 5)
    with pytest.warns(UserWarning, match="published counts"):
        record_attention(config_b, record_b, res, ck)
    saved = list((res / "exp" / "attention").glob("*.npz"))
    assert [p.stem for p in saved] == [record_b["run_id"]]


def test_evaluating_a_configuration_on_other_data_names_the_data_it_was_trained_on(copy, trees):
    config, ck, _, record = copy
    with pytest.raises(FileNotFoundError) as err:
        with pytest.warns(UserWarning, match="published counts"):
            evaluate_checkpoint(replace(config, data_root=str(trees[1])), ck)
    tag = record["data"]["fingerprint"][:8]
    assert f"finished runs on other data ({tag})" in str(err.value)
    assert str(trees[1]) in str(err.value) and "train(config) first" in str(err.value)
    assert trained_fingerprints(config, ck) == [tag]


def test_the_same_data_under_another_path_is_the_same_run(copy, trees, monkeypatch):
    config, ck, res, record_a = copy
    before = _snapshot(ck, res)
    _no_training(monkeypatch)
    config_c = replace(config, data_root=str(trees[2].parent))  # torchreid's root: C/market1501
    with pytest.warns(UserWarning, match="published counts"):
        again = train_run(config_c, checkpoint_root=ck, results_root=res, progress=False)
    assert again == record_a
    assert _snapshot(ck, res) == before  # nothing rewritten: not the results, not the log
    saved = read_result(result_path(res, "exp", record_a["run_id"]))
    assert "data_root" not in saved["config"]  # outside the repository: no machine path


# 2. A failure touches nothing; the data is checked first.


def _empty_train_split(trees, tmp_path):
    root = shutil.copytree(trees[0], tmp_path / "empty")
    for image in (root / "bounding_box_train").iterdir():
        image.unlink()
    return root


@pytest.mark.parametrize(
    ("make_root", "error", "match"),
    [
        (lambda trees, tmp: tmp / "no-such-folder", DatasetNotFoundError, "no-such-folder"),
        (_empty_train_split, DatasetFormatError, "the train split .* is empty"),
    ],
    ids=["missing", "empty-train"],
)
def test_bad_data_fails_before_any_file_is_touched(copy, trees, tmp_path, make_root, error, match):
    config, ck, res, _ = copy
    bad = replace(config, data_root=str(make_root(trees, tmp_path)))
    before = _snapshot(ck, res)
    with pytest.raises(error, match=match):
        train_run(bad, checkpoint_root=ck, results_root=res, progress=False)
    with pytest.raises(error, match=match):
        run_experiment(
            "plugin_position", "smoke", dataset="market1501", data_root=bad.data_root,
            results_root=res, checkpoint_root=ck, progress=False,
        )  # fmt: skip
    assert _snapshot(ck, res) == before


def test_missing_data_names_data_root_and_its_fix_first(tmp_path, capsys):
    missing = tmp_path / "datasets"
    with pytest.raises(DatasetNotFoundError) as err:
        load_data(_config(missing))
    first, *rest = str(err.value).splitlines()
    assert first == (
        f"data_root={str(missing)!r}: no Market-1501 dataset found there; pass the folder that "
        "holds market1501/ (a notebook: -p data_root /path/to/datasets; the command line: "
        "data_root=/path/to/datasets)"
    )
    assert f"no Market-1501 found at {missing}: expected" in rest[0]  # the layouts, as before
    with pytest.raises(SystemExit):  # the command line: that line first, no traceback
        main([
            "smoke", "dataset=market1501", f"data_root={missing}", "experiment=exp",
            "--checkpoint-root", str(tmp_path / "ck"), "--results-root", str(tmp_path / "res"),
        ])  # fmt: skip
    assert not (tmp_path / "ck").exists() and not (tmp_path / "res").exists()
    assert capsys.readouterr().err.splitlines()[0] == f"python -m rga.study.train: error: {first}"


def test_a_run_folder_of_other_data_is_refused_naming_what_changed(copy, trees, tmp_path):
    config, ck, res, record_a = copy
    config_b = replace(config, data_root=str(trees[1]))
    with pytest.warns(UserWarning, match="published counts"):
        b_id = train_run(config_b, checkpoint_root=tmp_path / "b", write=False)["run_id"]
    shutil.copytree(ck / record_a["run_id"], ck / b_id)  # a folder copied by hand
    before = _snapshot(res)
    with pytest.raises(ValueError, match="trained on other data") as err:
        train_run(config_b, checkpoint_root=ck, results_root=res, progress=False)
    assert "query: 4 -> 6 images, 2 -> 3 ids" in str(err.value)
    assert "force=True" in str(err.value) and str(ck / b_id) in str(err.value)
    assert _snapshot(res) == before


# 3. Checkpoints: incomplete files, killed writes, two processes at once.


def _killed_after_one_epoch(config, ck):
    class Killed(Exception):
        pass

    def kill(entry):
        raise Killed

    with pytest.raises(Killed):
        train_run(config, checkpoint_root=ck, on_epoch_end=kill, progress=False)


@pytest.mark.parametrize("name", [FINAL, LAST])
def test_an_incomplete_checkpoint_is_named_with_the_way_to_recover(copy, name):
    config, ck, res, record = copy
    run_dir = ck / record["run_id"]
    if name == LAST:
        (run_dir / FINAL).unlink()
        _killed_after_one_epoch(config, ck)
    path = run_dir / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a copy cut short
    with pytest.raises(IncompleteCheckpointError) as err:
        train_run(config, checkpoint_root=ck, results_root=res, progress=False)
    message = str(err.value)
    assert message.startswith(f"{path} is incomplete or damaged")
    assert "Delete it" in message and "force=True" in message
    again = train_run(config, checkpoint_root=ck, results_root=res, force=True, progress=False)
    assert again["metrics"] == record["metrics"]


@pytest.mark.parametrize("kept", [0, 10, 1000, 5000, 50_000, -1])
def test_a_checkpoint_cut_anywhere_is_named(tmp_path, kept):
    path = save_checkpoint({"model": torch.nn.Linear(64, 512).state_dict()}, tmp_path / LAST)
    whole = path.read_bytes()
    path.write_bytes(whole[:kept] if kept >= 0 else b"garbage" * 100)
    with pytest.raises(IncompleteCheckpointError, match="last.pt is incomplete or damaged"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError):  # a missing file keeps its own error
        load_checkpoint(tmp_path / FINAL)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_killed_writes_are_cleaned_up_on_the_next_start(copy):
    config, ck, res, record = copy
    run_dir = ck / record["run_id"]
    (run_dir / FINAL).unlink()
    _killed_after_one_epoch(config, ck)
    leftover = run_dir / f".{LAST}.{_dead_pid()}.tmp"
    leftover.write_bytes(b"half a checkpoint")
    resumed = train_run(config, checkpoint_root=ck, results_root=res, progress=False)
    assert not leftover.exists() and resumed["metrics"] == record["metrics"]
    assert f"# removed {leftover.name}, left by a killed write" in (run_dir / LOG).read_text()


def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _hold(run_dir: Path, pid: int, host: str | None = None) -> Path:
    lock = run_dir / LOCK
    lock.write_text(json.dumps({"pid": pid, "host": host or os.uname().nodename, "since": "t"}))
    return lock


def test_a_second_process_waits_for_the_one_training_the_run(copy, monkeypatch, capsys):
    config, ck, res, record = copy
    holder = _sleeper()
    try:
        lock = _hold(ck / record["run_id"], holder.pid)
        waits = []

        def holder_finishes(seconds):  # the first process ends and releases its lock
            waits.append(seconds)
            lock.unlink()

        monkeypatch.setattr(lock_module, "_wait", holder_finishes)
        _no_training(monkeypatch)
        again = train_run(config, checkpoint_root=ck, results_root=res, progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert again["metrics"] == record["metrics"] and len(waits) == 1
    out = capsys.readouterr().out
    assert f"waiting: process {holder.pid} on" in out and str(lock) in out
    assert not lock.exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(copy, capsys):
    config, ck, res, record = copy
    pid = _dead_pid()
    lock = _hold(ck / record["run_id"], pid)
    again = train_run(config, checkpoint_root=ck, results_root=res, progress=False)
    assert again["metrics"] == record["metrics"] and not lock.exists()
    assert f"removing the stale lock {lock}: process {pid}" in capsys.readouterr().out


def test_a_lock_held_too_long_is_refused_naming_its_holder(tmp_path):
    holder = _sleeper()
    try:
        _hold(tmp_path, holder.pid)
        with pytest.raises(RunLockedError) as err:
            with RunLock(tmp_path, poll_s=0.01, timeout_s=0.05, say=lambda line: None):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert f"process {holder.pid}" in str(err.value) and f"delete {tmp_path / LOCK}" in str(
        err.value
    )
    assert (tmp_path / LOCK).exists()  # not ours: left alone
    with pytest.raises(RunLockedError):  # another host's lock cannot be checked from here
        _hold(tmp_path, _dead_pid(), host="elsewhere")
        with RunLock(tmp_path, poll_s=0.01, timeout_s=0.05, say=lambda line: None):
            pass


@pytest.mark.slow
def test_two_processes_training_one_run_train_it_once(trees, tmp_path):
    command = [
        sys.executable, "-m", "rga.study.train", "smoke", "dataset=market1501",
        f"data_root={trees[0]}", "epochs=3", "--checkpoint-root", str(tmp_path / "ck"),
        "--results-root", str(tmp_path / "res"), "--no-progress",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    (run_dir,) = [p.parent for p in (tmp_path / "ck").glob(f"*/{LOG}")]
    assert len(_starts(run_dir / LOG)) == 1  # trained once; the other process waited and reused
    epochs = [line for line in (run_dir / LOG).read_text().splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3 and any("waiting: process" in out for out in outputs)
    # one trained it, the other reused it: the same run id and metrics
    words, lines = zip(*(out.splitlines()[-1].split(" ", 1) for out in outputs), strict=True)
    assert sorted(words) == ["reused", "trained"] and lines[0] == lines[1]


def test_save_checkpoint_leaves_no_temporary(tmp_path):
    save_checkpoint({"epoch": 1}, tmp_path / LAST)
    assert [p.name for p in tmp_path.iterdir()] == [LAST]


# 4. Corrupt images: named before training, or left out with skip_corrupt.


def test_corrupt_images_are_named_before_training_or_left_out(trained, trees, tmp_path, capsys):
    _, _, _, record_a = trained
    root = shutil.copytree(trees[0], tmp_path / "D")
    bad = sorted((root / "bounding_box_train").iterdir())[0]
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    ck, res = tmp_path / "ck", tmp_path / "res"
    with pytest.raises(CorruptImageError, match=f"(?s){bad}.*skip_corrupt=True"):
        train_run(_config(root), checkpoint_root=ck, results_root=res, progress=False)
    assert not res.exists() and [p.name for p in ck.iterdir()] == [".verified"]

    args = ["smoke", "dataset=market1501", f"data_root={root}", "experiment=exp"]
    roots = ["--checkpoint-root", str(ck), "--results-root", str(res), "--no-progress"]
    with pytest.warns(UserWarning, match="left out 1 corrupt image"):
        main([*args, "skip_corrupt=True", *roots])
    (path,) = (res / "exp").glob("*.json")
    record = read_result(path)
    assert record["config"]["skip_corrupt"] is True
    assert record["data"]["train"]["images"] == record_a["data"]["train"]["images"] - 1
    assert record["run_id"] != record_a["run_id"] and record["run_id"] in capsys.readouterr().out


def test_skip_corrupt_on_clean_data_is_the_same_run(copy, monkeypatch):
    config, ck, res, record = copy
    _no_training(monkeypatch)
    again = train_run(
        replace(config, skip_corrupt=True), checkpoint_root=ck, results_root=res, progress=False
    )
    assert again["run_id"] == record["run_id"] and again["metrics"] == record["metrics"]


# 5. The command line names a bad parameter, its value and a good example.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["smoke", "positions=abc"], "positions='abc' is not a list of integers"),
        (["smoke", "lr_steps=1,b"], "e.g. lr_steps=40,70"),
        (["smoke", "epochs"], "override 'epochs' must look like field=value, e.g. epochs=3"),
        (["smoke", "epoch=3"], "unknown config field(s) ['epoch']"),
        (["smoke", "seed=-1"], "seed=-1 is out of range"),
        (["tiny"], "unknown profile 'tiny'"),
    ],
)
def test_command_line_errors_name_the_parameter(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--checkpoint-root", str(tmp_path)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
