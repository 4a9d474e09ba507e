"""rga.study.rerun: one committed smoke run retrained at the code at hand, everything in tmp_path
(the repository's checkpoints/, experiments/results/ and experiments/rerun/ are never touched)."""

import json
import shutil

import pytest

import rga.study.train as train_module
from rga.engine.config import make_config
from rga.study.rerun import RerunRefused, RunNotFound, main, rerun
from rga.study.results import result_path
from rga.study.train import train_run

pytestmark = pytest.mark.xdist_group("train")

EXPERIMENT = "from_scratch"


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """A finished smoke run and its results file: (data root, results root, record)."""
    base = tmp_path_factory.mktemp("committed")
    config = make_config("smoke", experiment=EXPERIMENT, data_root=str(base / "data"))
    record = train_run(
        config, checkpoint_root=base / "ck", results_root=base / "results", progress=False
    )
    return base / "data", base / "results", record


def _rerun_into(tmp_path, record, data, results, **kwargs):
    """Rerun the committed run with its outputs (rerun file, checkpoints) under tmp_path."""
    return rerun(
        EXPERIMENT,
        record["run_id"],
        data_root=data,
        results_root=results,
        out_root=tmp_path / "rerun",
        checkpoint_root=tmp_path / "ck",
        **kwargs,
    )


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_writes_the_differences_and_leaves_the_results_alone(committed, tmp_path):
    data, results, record = committed
    before = _snapshot(results)
    path = _rerun_into(tmp_path, record, data, results, progress=False)
    assert path == tmp_path / "rerun" / f"{record['run_id']}.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    saved = json.loads(path.read_text())
    assert saved["run_id"] == saved["rerun_run_id"] == record["run_id"]
    assert saved["experiment"] == EXPERIMENT and saved["eval_feature"] == "z"
    old, new = saved["committed"], saved["rerun"]
    assert old["metrics"] == {m: record["metrics"]["z"][m] for m in ("R1", "mAP", "mINP")}
    assert old["final_loss"] == record["curve"][-1]["loss"]
    assert old["git_commit"] == record["git_commit"]
    assert {"git_commit", "git_dirty", "hardware", "train_time_s"} <= set(new)
    assert new["train_time_s"] > 0 and new["hardware"]["device_name"]
    for name in ("R1", "mAP", "mINP"):
        assert saved["difference"][name] == new["metrics"][name] - old["metrics"][name]
    assert saved["difference"]["final_loss"] == new["final_loss"] - old["final_loss"]
    # the same code on the same machine: the run again, to the last bit
    assert set(saved["difference"].values()) == {0.0}
    assert saved["curve"] == {"first_epoch_differs": None, "largest_loss_difference": 0.0}
    assert _snapshot(results) == before  # the committed results file, byte for byte
    assert (tmp_path / "ck" / record["run_id"] / "final.pt").is_file()
    # --reuse: the record again from the finished retraining, nothing trained
    final = (tmp_path / "ck" / record["run_id"] / "final.pt").stat().st_mtime_ns
    again = json.loads(_rerun_into(tmp_path, record, data, results, reuse=True).read_text())
    assert again["rerun"] == new and again["difference"] == saved["difference"]
    assert (tmp_path / "ck" / record["run_id"] / "final.pt").stat().st_mtime_ns == final


def test_curve_divergence_names_the_first_epoch_whose_loss_differs():
    from rga.study.rerun import curve_divergence

    a = [{"loss": 3.0}, {"loss": 2.0}, {"loss": 1.0}]
    assert curve_divergence(a, a) == {"first_epoch_differs": None, "largest_loss_difference": 0.0}
    b = [{"loss": 3.0}, {"loss": 2.25}, {"loss": 0.5}]
    assert curve_divergence(a, b) == {"first_epoch_differs": 2, "largest_loss_difference": 0.5}
    assert curve_divergence(a, a[:2])["first_epoch_differs"] == 3  # a shorter curve parts there
    with pytest.raises(RerunRefused, match="^reuse: name the folder"):
        rerun(EXPERIMENT, "x", reuse=True)


def test_a_missing_run_or_experiment_is_named_with_how_to_find_one(committed, tmp_path):
    _, results, _ = committed
    with pytest.raises(RunNotFound, match="ls .*from_scratch/") as err:
        rerun(EXPERIMENT, "no-such-run", results_root=results, out_root=tmp_path)
    assert str(result_path(results, EXPERIMENT, "no-such-run")) in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(RunNotFound, match="experiment='nowhere'.*from_scratch"):
        rerun("nowhere", "x", results_root=results, out_root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_other_data_is_refused_before_training(committed, tmp_path, monkeypatch):
    data, results, record = committed
    other = shutil.copytree(data, tmp_path / "data")
    train_images = sorted(other.glob("synthreid-smoke-*/bounding_box_train/*.jpg"))
    train_images[0].unlink()  # one image fewer: other data

    def refuse(*args, **kwargs):
        raise AssertionError("other data must be refused before training")

    monkeypatch.setattr(train_module, "train", refuse)
    with pytest.raises(RerunRefused, match="trained on other data") as err:
        _rerun_into(tmp_path, record, other, results)
    assert "train: " in str(err.value) and "--data-root" in str(err.value)
    assert not (tmp_path / "rerun").exists()


def test_a_configuration_the_code_names_otherwise_is_refused(committed, tmp_path):
    data, results, record = committed
    changed = shutil.copytree(results, tmp_path / "results")
    path = result_path(changed, EXPERIMENT, record["run_id"])
    edited = json.loads(path.read_text())
    edited["config"]["margin"] = 0.5  # another run than the file name says
    path.write_text(json.dumps(edited))
    with pytest.raises(RerunRefused, match="names the configuration of .* not '"):
        rerun(EXPERIMENT, record["run_id"], data_root=data, results_root=changed, out_root=tmp_path)
    edited["config"]["no_such_field"] = 1
    path.write_text(json.dumps(edited))
    with pytest.raises(RerunRefused, match="no_such_field.*rerun at the commit"):
        rerun(EXPERIMENT, record["run_id"], data_root=data, results_root=changed, out_root=tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_the_command_line_names_bad_input_without_a_traceback(committed, tmp_path, capsys):
    _, results, _ = committed
    with pytest.raises(SystemExit) as exit_:
        main([EXPERIMENT, "no-such-run", "--results-root", str(results)])
    assert exit_.value.code == 2
    assert "no results file" in capsys.readouterr().err


def test_a_rerun_elsewhere_is_kept_beside_the_earlier_one(tmp_path):
    from rga.study.rerun import write_rerun

    record = {"run_id": "r", "rerun": {"git_commit": "a" * 40, "hardware": {"cpu": "Xeon"}}}
    first = write_rerun(record, tmp_path)
    assert first.name == "r.json" and write_rerun(record, tmp_path) == first  # the same: replaced
    amd = {**record, "rerun": {"git_commit": "b" * 40, "hardware": {"cpu": "AMD EPYC"}}}
    second = write_rerun(amd, tmp_path)
    assert second.name == "r.bbbbbbb-amd-epyc.json"
    assert json.loads(first.read_text()) == record
