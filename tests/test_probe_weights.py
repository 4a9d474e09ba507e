"""The weights the probe ships: the files match their manifest, and the half-precision models
draw the maps and give the features of the full-precision runs they come from.

Tolerances, measured on the shipped RGA-SC x4 (pretrained profile, seed 0) against its
float32 checkpoint on the 8 panel images: spatial gates differ by at most 7.4e-4 (channel gates
2.7e-3), relation rows by at most 0.3 % of their range, features z have cosine similarity
>= 0.9999997. The tests allow 2e-3 on the spatial gates and cosine > 0.99999.
Where the checkpoint is not on the machine (CI: checkpoints are not in the repository), the
model is checked against the reference the export stored beside it, computed from that
checkpoint (two panel images: gates and features in float32).
"""

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from rga.analysis.probe import probe
from rga.engine.build import build_model
from rga.engine.checkpoint import FINAL, load_checkpoint, save_checkpoint
from rga.engine.config import config_from_dict, make_config
from rga.study.probe_weights import (
    MANIFEST,
    export_probe_weights,
    load_probe_model,
    load_reference,
    normalise_images,
    probe_weights_dir,
    shipped_runs,
)
from rga.study.report.paths import checkpoints_dir

GATE_ATOL = 2e-3  # max |gate(half) - gate(float32)|; measured 7.4e-4
FEATURE_COSINE = 0.99999  # min cosine(z(half), z(float32)); measured 0.9999997
SHIPPED = [r["run_id"] for r in shipped_runs()]
# the run the Probe page opens on: RGA-SC after all four stages, pretrained profile, seed 0
PAGE_RUN = "synthreid-resnet18-w0.5-rga-sc-p1234-s0-34ec5985-d5feeae32"


def features(model, images: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(normalise_images(images)).z


def assert_agree(half, gates_full: dict, z_full: torch.Tensor, images: np.ndarray) -> None:
    """The half-precision model's spatial gates and features against the float32 ones."""
    gates = probe(half, normalise_images(images))
    assert sorted(gates) == sorted(gates_full)
    for stage, maps in gates.items():
        np.testing.assert_allclose(maps.spatial, gates_full[stage], rtol=0, atol=GATE_ATOL)
    cosine = torch.nn.functional.cosine_similarity(features(half, images), z_full)
    assert cosine.min().item() > FEATURE_COSINE, cosine


def test_the_page_run_is_shipped():
    assert PAGE_RUN in SHIPPED


@pytest.mark.parametrize("run_id", SHIPPED)
def test_the_shipped_file_matches_its_manifest(run_id):
    folder = probe_weights_dir()
    (entry,) = [r for r in shipped_runs() if r["run_id"] == run_id]
    payload = (folder / entry["file"]).read_bytes()
    assert hashlib.sha256(payload).hexdigest() == entry["sha256"]
    assert len(payload) == entry["bytes"] and entry["dtype"] == "float16"
    assert len(entry["commit"]) == 40 and "data_root" not in entry["config"]
    state = torch.load(folder / entry["file"], weights_only=True)  # tensors only, no pickle
    floating = {v.dtype for v in state.values() if v.is_floating_point()}
    assert floating == {torch.float16}
    assert {v.dtype for v in state.values() if not v.is_floating_point()} == {torch.int64}
    model = load_probe_model(run_id)
    assert not model.training
    assert {p.dtype for p in model.state_dict().values() if p.is_floating_point()} == {
        torch.float32
    }
    assert model.kind == entry["config"]["kind"]
    assert model.positions == tuple(entry["config"]["positions"])


@pytest.mark.parametrize("run_id", SHIPPED)
def test_the_half_precision_model_agrees_with_the_stored_reference(run_id):
    reference = load_reference(run_id)
    gates = {int(k.split("_")[1]): v for k, v in reference.items() if k.startswith("spatial_")}
    assert len(reference["images"]) == 2
    assert_agree(
        load_probe_model(run_id),
        gates,
        torch.from_numpy(reference["features"]),
        reference["images"],
    )


@pytest.mark.parametrize("run_id", SHIPPED)
def test_the_half_precision_model_agrees_with_the_full_checkpoint(run_id):
    """On four panel images, against the run's own final.pt where it is on this machine
    (``checkpoints/<run_id>/final.pt`` or under ``RGA_CHECKPOINT_ROOT``)."""
    path = checkpoints_dir() / run_id / FINAL
    if not path.is_file():
        pytest.skip(f"{path} is not here (checkpoints are not in the repository); the stored "
                    "reference is checked instead")  # fmt: skip
    from rga.study.report.attention_arrays import run_attention_arrays

    state = load_checkpoint(path)
    config = dataclasses.replace(config_from_dict(state["config"]), weights=None)
    full = build_model(config, state["num_classes"])
    full.load_state_dict(state["model"])  # float32, as rga.engine.evaluate.load_trained
    saved = run_attention_arrays(run_id)
    images = saved.images[:4] if saved is not None else load_reference(run_id)["images"]
    gates = {s: m.spatial for s, m in probe(full, normalise_images(images)).items()}
    assert_agree(load_probe_model(run_id), gates, features(full, images), images)


def smoke_checkpoint(tmp_path, kind="rga-sc", commit="abc1234def"):
    """A final.pt of an untrained smoke-size model, with BN statistics of a few batches."""
    config = make_config("smoke", kind=kind, positions=(1, 2, 3, 4), seed=0)
    torch.manual_seed(0)
    model = build_model(config, num_classes=5).train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, config.height, config.width))
    path = tmp_path / "ck" / f"run-{kind}" / FINAL
    save_checkpoint(
        {
            "config": config.to_dict(),
            "num_classes": 5,
            "model": model.state_dict(),
            "git_commit": commit + "0" * (40 - len(commit)),
            "metrics": {"z": {"R1": 50.0, "mAP": 40.0, "R5": 70.0}},
        },
        path,
    )
    return path, model.eval(), config


def test_export_writes_half_weights_a_reference_and_the_manifest(tmp_path):
    path, model, config = smoke_checkpoint(tmp_path)
    images = np.random.default_rng(0).integers(0, 256, (2, config.height, config.width, 3))
    images = images.astype(np.uint8)
    out = tmp_path / "weights"
    written = export_probe_weights(path, out, "run-a", "abc1234", reference_images=images)
    assert written == out / "run-a.pt"
    state = torch.load(written, weights_only=True)
    assert state.keys() == model.state_dict().keys()
    for name, value in model.state_dict().items():
        if value.is_floating_point():
            assert state[name].dtype == torch.float16
            torch.testing.assert_close(state[name].float(), value, rtol=1e-3, atol=1e-4)
        else:
            assert torch.equal(state[name], value)  # num_batches_tracked as it was
    (entry,) = json.loads((out / MANIFEST).read_text())["runs"]
    assert entry["run_id"] == "run-a" and entry["label"] == "RGA-SC conv2-5_x"
    assert entry["commit"].startswith("abc1234") and entry["metrics"] == {"R1": 50.0, "mAP": 40.0}
    assert entry["sha256"] == hashlib.sha256(written.read_bytes()).hexdigest()
    half = load_probe_model("run-a", out)
    reference = load_reference("run-a", out)
    np.testing.assert_array_equal(reference["images"], images)
    gates = {s: m.spatial for s, m in probe(model, normalise_images(images)).items()}
    for stage, gate in gates.items():
        np.testing.assert_array_equal(reference[f"spatial_{stage}"], gate)
    assert_agree(half, gates, features(model, images), images)

    # a second run is listed after the first; exporting the first again replaces it in place,
    # with the same bytes (the file's content does not depend on where or when it was written)
    other, _, _ = smoke_checkpoint(tmp_path, kind="cbam")
    export_probe_weights(other, out, "run-b", "abc1234", reference_images=images)
    export_probe_weights(path, out, "run-a", "abc1234", reference_images=images)
    runs = shipped_runs(out)
    assert [r["run_id"] for r in runs] == ["run-a", "run-b"] and runs[1][
        "label"
    ] == "CBAM-CS conv2-5_x"
    assert runs[0]["sha256"] == entry["sha256"]
    with pytest.raises(ValueError, match="trained at commit abc1234"):
        export_probe_weights(path, out, "run-a", "fff0000", reference_images=images)
    with pytest.raises(KeyError, match=r"shipped runs: \['run-a', 'run-b'\]"):
        load_probe_model("run-c", out)


def test_weights_of_a_rerun_are_named_as_such_beside_the_committed_metrics(tmp_path):
    path, _, config = smoke_checkpoint(tmp_path, kind="cbam")
    images = np.zeros((2, config.height, config.width, 3), np.uint8)
    side = {"git_commit": "abc1234" + "0" * 33, "hardware": {"cpu": "AMD EPYC"}}
    record = {"run_id": "run-b", "committed": {"metrics": {"R1": 48.0, "mAP": 39.0, "mINP": 1}},
              "rerun": {**side, "metrics": {"R1": 50.0, "mAP": 40.0, "mINP": 2}}}  # fmt: skip
    (tmp_path / "run-b.json").write_text(json.dumps(record))
    out = tmp_path / "weights"
    export_probe_weights(path, out, "run-b", "abc1234", reference_images=images,
                         rerun_record=tmp_path / "run-b.json")  # fmt: skip
    (entry,) = shipped_runs(out)
    assert entry["weights_of"] == {
        "what": "rerun", "record": str(tmp_path / "run-b.json"), "commit": side["git_commit"],
        "cpu": "AMD EPYC", "metrics": {"R1": 50.0, "mAP": 40.0},
        "committed_metrics": {"R1": 48.0, "mAP": 39.0},
    }  # fmt: skip
    with pytest.raises(ValueError, match="is a rerun of 'run-b', not of 'run-c'"):
        export_probe_weights(path, out, "run-c", "abc1234", reference_images=images,
                             rerun_record=tmp_path / "run-b.json")  # fmt: skip
    assert [r["run_id"] for r in shipped_runs(out)] == ["run-b"]
    assert not (out / "run-c.pt").exists()  # refused before anything was written


def test_a_damaged_file_is_refused_naming_it(tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(probe_weights_dir(), folder)
    entry = shipped_runs(folder)[0]
    damaged = bytearray((folder / entry["file"]).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / entry["file"]).write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=f"{entry['file']} does not match its sha256"):
        load_probe_model(entry["run_id"], folder)
    (folder / entry["file"]).unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        load_probe_model(entry["run_id"], folder)
