import shutil
from dataclasses import replace

import pytest
import torch

import rga.engine.build as build_module
import rga.engine.train as train_module
import rga.study.results as results_module
from rga.data import dataset_fingerprint, load_dataset
from rga.engine.build import dataset_args
from rga.engine.checkpoint import FINAL, LAST, LOG, load_checkpoint, save_checkpoint
from rga.engine.config import make_config, run_id
from rga.engine.evaluate import evaluate_checkpoint, load_trained
from rga.engine.train import metrics_line
from rga.study.experiments import EXPERIMENTS, run_experiment
from rga.study.results import REQUIRED_KEYS, read_result, result_path
from rga.study.reuse import run_files
from rga.study.train import main, train_run

pytestmark = pytest.mark.xdist_group("train")  # one worker trains the shared smoke run once


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def smoke(data_root):
    return make_config("smoke", data_root=data_root, experiment="smoke-test")


@pytest.fixture(scope="module")
def finished(smoke, tmp_path_factory):
    """One straight smoke run shared by the tests: (config, checkpoint_root, results_root, record, curve)."""
    root = tmp_path_factory.mktemp("run")
    seen = []
    record = train_run(
        smoke,
        checkpoint_root=root / "checkpoints",
        results_root=root / "results",
        on_epoch_end=seen.append,
        progress=False,
    )
    return smoke, root / "checkpoints", root / "results", record, seen


def _id(config, data_root=None):
    """The run id of `config` on the data at `data_root` (default: the config's)."""
    root = config.data_root if data_root is None else data_root
    dataset = load_dataset(**{**dataset_args(config), "root": root}, verbose=False)
    return run_id(config, dataset_fingerprint(dataset))


def _state(checkpoint_root, config):
    return load_checkpoint(checkpoint_root / _id(config) / FINAL)


def test_smoke_run_writes_checkpoint_log_and_results(finished):
    config, checkpoints, results, record, seen = finished
    run_dir = checkpoints / _id(config)
    assert record["run_id"] == run_dir.name and run_dir.name.endswith(
        "-d" + record["data"]["fingerprint"][:8]
    )
    assert (run_dir / FINAL).exists() and not (run_dir / LAST).exists()
    assert not (run_dir / "train.lock").exists()
    epoch_lines = [
        line for line in (run_dir / LOG).read_text().splitlines() if line.startswith("epoch")
    ]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "images/s" in epoch_lines[0] and "lr" in epoch_lines[0]

    saved = read_result(result_path(results, "smoke-test", _id(config)))
    assert set(REQUIRED_KEYS) <= set(saved) and saved["run_id"] == record["run_id"]
    assert saved["label"] == "RGA-SC conv2-5_x" and saved["config"]["experiment"] == "smoke-test"
    for feature in ("z", "z_hat"):
        assert {"R1", "R5", "R10", "mAP", "mINP"} <= set(saved["metrics"][feature])
        assert 0 <= saved["metrics"][feature]["mAP"] <= 100
    assert [e["epoch"] for e in saved["curve"]] == [0, 1] and seen == saved["curve"]
    assert (
        saved["curve"][0]["lr"] == config.warmup_begin_lr
        and saved["curve"][1]["lr"] == config.base_lr
    )
    assert all(torch.isfinite(torch.tensor(e["loss"])) for e in saved["curve"])
    for entry in saved["curve"]:  # per-epoch diagnostics (rga.engine.diagnostics)
        assert entry["z_norm"] > 0 and 0 < entry["gate.att4.spatial_mean"] < 1
        assert {f"grad_norm.layer{s}" for s in range(1, 5)} <= set(entry)
        assert entry["grad_norm.att1"] > 0
    assert saved["dataset_statistics"]["train"]["ids"] == 12
    assert saved["data"]["train"]["ids"] == 12 and len(saved["data"]["fingerprint"]) == 16
    assert saved["hardware"]["cpu_count"] >= 1 and saved["versions"]["torch"] == torch.__version__
    # the provenance is the training's, kept in final.pt; no machine paths (tmp is outside)
    state = _state(checkpoints, config)
    for key in ("git_commit", "git_dirty", "created", "versions", "data"):
        assert saved[key] == state[key], key
    assert "data_root" not in saved["config"] and "checkpoint" not in saved


def test_load_trained_returns_the_final_model(finished):
    config, checkpoints, _, record, _ = finished
    model = load_trained(config, checkpoints)
    assert not model.training
    reference = _state(checkpoints, config)["model"]
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, reference[name], rtol=0, atol=0)
    assert load_trained(config, checkpoints, record["data"]["fingerprint"]) is not None
    assert load_trained(replace(config, seed=5), checkpoints) is None


def test_worker_count_does_not_change_the_run(finished, tmp_path):
    config, _, _, record, _ = finished
    with_worker = make_config("smoke", data_root=config.data_root, workers=1)
    assert _id(with_worker) == _id(config)
    again = train_run(with_worker, checkpoint_root=tmp_path, results_root=tmp_path, progress=False)
    assert [e["loss"] for e in again["curve"]] == [e["loss"] for e in record["curve"]]
    assert again["metrics"] == record["metrics"]


def test_evaluate_checkpoint_with_other_options(finished):
    config, checkpoints, _, record, _ = finished
    assert evaluate_checkpoint(config, checkpoints) == record["metrics"]
    euclidean = evaluate_checkpoint(config, checkpoints, metric="euclidean", ap="trapezoid")
    assert set(euclidean) == {"z", "z_hat"} and euclidean != record["metrics"]
    with pytest.raises(FileNotFoundError, match="train\\(config\\) first"):
        evaluate_checkpoint(replace(config, seed=9), checkpoints)


class _Killed(Exception):
    pass


def test_resume_gives_the_same_model_and_metrics(finished, tmp_path):
    config, checkpoints, _, record, _ = finished

    def kill_after_first_epoch(entry):
        raise _Killed

    with pytest.raises(_Killed):
        train_run(
            config,
            checkpoint_root=tmp_path,
            results_root=tmp_path / "r",
            on_epoch_end=kill_after_first_epoch,
            progress=False,
        )
    assert load_checkpoint(tmp_path / _id(config) / LAST)["epoch"] == 1
    assert not (tmp_path / _id(config) / FINAL).exists()

    resumed = train_run(
        config, checkpoint_root=tmp_path, results_root=tmp_path / "r", progress=False
    )
    assert resumed["metrics"] == record["metrics"]
    for ours, theirs in zip(resumed["curve"], record["curve"], strict=True):
        assert {k: ours[k] for k in ("lr", "loss", "ce", "triplet")} == {
            k: theirs[k] for k in ("lr", "loss", "ce", "triplet")
        }
    straight, again = _state(checkpoints, config)["model"], _state(tmp_path, config)["model"]
    assert straight.keys() == again.keys()
    for name in straight:
        torch.testing.assert_close(again[name], straight[name], rtol=0, atol=0)
    log = (tmp_path / _id(config) / LOG).read_text()
    assert "resume at epoch 1" in log


def test_finished_run_is_reported_not_retrained(finished, monkeypatch, capsys):
    config, checkpoints, results, record, _ = finished
    before = (checkpoints / _id(config) / LOG).read_text()
    saved = result_path(results, "smoke-test", _id(config))
    saved_bytes, saved_mtime = saved.read_bytes(), saved.stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must not build a training loader")

    monkeypatch.setattr(build_module, "RandomIdentitySampler", no_training)
    other = make_config(
        "smoke", data_root=config.data_root, experiment="another-notebook", workers=0
    )
    again = train_run(other, checkpoint_root=checkpoints, results_root=results, progress=False)
    assert again["metrics"] == record["metrics"] and again["run_id"] == record["run_id"]
    assert result_path(results, "another-notebook", _id(config)).exists()
    assert (checkpoints / _id(config) / LOG).read_text() == before
    # reported again, even by a later commit: the same content, the file left untouched
    monkeypatch.setattr(results_module, "git_state", lambda: ("f" * 40, True))
    train_run(config, checkpoint_root=checkpoints, results_root=results, progress=False)
    assert saved.read_bytes() == saved_bytes and saved.stat().st_mtime_ns == saved_mtime

    main(
        [
            "smoke",
            f"data_root={config.data_root}",
            "experiment=cli",
            "--checkpoint-root",
            str(checkpoints),
            "--results-root",
            str(results),
        ]
    )
    assert _id(config) in capsys.readouterr().out
    assert result_path(results, "cli", _id(config)).exists()
    # the command line records the run as the notebooks do: maps, relations, ranked lists
    recorded = results / "cli" / "attention"
    assert {p.name for p in recorded.iterdir()} == {
        f"{_id(config)}.npz",
        f"{_id(config)}.ranked.json",
    }


def test_force_retrains(finished, tmp_path):
    config, checkpoints, _, record, _ = finished
    shutil.copytree(checkpoints / _id(config), tmp_path / _id(config))
    again = train_run(
        config, checkpoint_root=tmp_path, results_root=tmp_path / "r", force=True, progress=False
    )
    assert again["metrics"] == record["metrics"]  # deterministic
    log = (tmp_path / _id(config) / LOG).read_text()
    assert sum(line.startswith("epoch") for line in log.splitlines()) == 4


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(smoke, tmp_path, monkeypatch):
    real = train_module.triplet_hard
    calls = []

    def poisoned(features, targets, margin):
        calls.append(1)
        loss = real(features, targets, margin=margin)
        return loss * float("nan") if len(calls) > 3 else loss  # 3 steps per smoke epoch

    monkeypatch.setattr(train_module, "triplet_hard", poisoned)
    with pytest.raises(
        FloatingPointError,
        match=r"non-finite loss nan .*epoch 1 step 0.*last good checkpoint .*epoch 1\) is kept",
    ):
        train_run(smoke, checkpoint_root=tmp_path, results_root=tmp_path / "r", progress=False)
    state = load_checkpoint(tmp_path / _id(smoke) / LAST)
    assert state["epoch"] == 1 and len(state["curve"]) == 1
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())
    assert not (tmp_path / _id(smoke) / FINAL).exists() and not (tmp_path / "r").exists()


def test_cuda_without_gpu_fails_before_anything(smoke, tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        train_run(make_config("smoke", device="cuda"), checkpoint_root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _command_line(config, checkpoints, results, *extra):
    """`python -m rga.study.train smoke ...` on the smoke run's data, into these folders."""
    roots = ["--checkpoint-root", str(checkpoints), "--results-root", str(results)]
    main(["smoke", f"data_root={config.data_root}", *extra, *roots, "--no-progress"])


def _last_line(capsys) -> str:
    return capsys.readouterr().out.splitlines()[-1]


def test_command_line_reuses_a_run_whose_results_file_is_there(finished, tmp_path, capsys):
    """A fresh clone has the results files and no checkpoints: the command line reuses the run
    and leaves its results file byte for byte as it was; --force trains it."""
    config, checkpoints, _, record, _ = finished
    ck, res, rid = tmp_path / "ck", tmp_path / "res", _id(config)
    shutil.copytree(checkpoints / rid, ck / rid)
    _command_line(config, ck, res, "experiment=clone")  # recorded from its checkpoint
    assert _last_line(capsys) == f"reused {rid}: {metrics_line(record['metrics'])}"
    saved = result_path(res, "clone", rid)
    before = saved.read_bytes(), saved.stat().st_mtime_ns
    shutil.rmtree(ck / rid)  # a fresh clone

    _command_line(config, ck, res, "experiment=clone")
    assert _last_line(capsys) == f"reused {rid}: {metrics_line(record['metrics'])}"
    assert (saved.read_bytes(), saved.stat().st_mtime_ns) == before
    assert not (ck / rid).exists()  # nothing trained

    _command_line(config, ck, res, "experiment=clone", "--force", "--no-record")
    assert _last_line(capsys) == f"trained {rid}: {metrics_line(record['metrics'])}"
    assert (ck / rid / FINAL).exists()


def test_command_line_asks_which_table_a_run_belongs_to(finished, tmp_path, capsys):
    """Without experiment= a run would land in experiments/results/default/, read by no page:
    refused, naming the parameter and the fix, unless --results-root names a scratch folder."""
    config, checkpoints, _, _, _ = finished
    with pytest.raises(SystemExit) as exit_:
        main(["smoke", f"data_root={config.data_root}", "--checkpoint-root", str(tmp_path)])
    first = capsys.readouterr().err.splitlines()[0]
    assert exit_.value.code == 2 and list(tmp_path.iterdir()) == []
    assert first.startswith("python -m rga.study.train: error: experiment: give the table")
    assert "e.g. experiment=plugin_position" in first and "--results-root DIR" in first

    rid = _id(config)
    shutil.copytree(checkpoints / rid, tmp_path / "ck" / rid)
    _command_line(config, tmp_path / "ck", tmp_path / "scratch", "--no-record")
    assert _last_line(capsys).startswith(f"reused {rid}: ")
    assert result_path(tmp_path / "scratch", "default", rid).is_file()


def test_cuda_without_gpu_is_refused_before_any_run_is_reused(
    finished, tmp_path, monkeypatch, capsys
):
    """device=cuda on a machine without CUDA fails even when every run is finished."""
    config, _, results, _, _ = finished
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    res, ck = shutil.copytree(results, tmp_path / "res"), tmp_path / "ck"
    for path in run_files(res, "smoke-test", _id(config))[1:]:  # all three files: finished
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    model = {"kind": config.kind, "positions": config.positions}
    monkeypatch.setitem(EXPERIMENTS, "smoke-test", (model,))
    message = "device='cuda' but CUDA is not available on this machine; use device='cpu'"

    with pytest.raises(RuntimeError, match=f"^{message}"):
        run_experiment(
            "smoke-test", "smoke", config.seed, data_root=config.data_root, device="cuda",
            results_root=res, checkpoint_root=ck, progress=False,
        )  # fmt: skip
    assert "reused" not in capsys.readouterr().out and not ck.exists()
    with pytest.raises(SystemExit) as exit_:
        _command_line(config, ck, res, "experiment=smoke-test", "device=cuda")
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"python -m rga.study.train: error: {message}")


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = save_checkpoint({"epoch": 1}, tmp_path / LAST)

    def crash(obj, f, *args, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == [LAST]


def test_the_commit_recorded_is_the_code_the_run_started_with(smoke, tmp_path, monkeypatch):
    """HEAD may move while a run trains (its repository is worked on): the record names the
    commit of the code the process loaded, read when the run started, not HEAD at its end."""
    monkeypatch.setattr(train_module, "git_state", lambda: ("a" * 40, False))

    def moved(entry):  # a commit lands in the repository during the first epoch
        monkeypatch.setattr(train_module, "git_state", lambda: ("b" * 40, True))

    config = replace(smoke, epochs=1)
    record = train_run(
        config,
        checkpoint_root=tmp_path / "ck",
        results_root=tmp_path / "res",
        on_epoch_end=moved,
        progress=False,
    )
    assert (record["git_commit"], record["git_dirty"]) == ("a" * 40, False)
