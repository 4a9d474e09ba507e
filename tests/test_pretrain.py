"""The pretrained trunk: trained as a baseline, written under its content hash with provenance,
loadable as the weights of any model of the same arch."""

import dataclasses
import hashlib
import json

import pytest
import torch

from rga.engine.config import committed_trunk, make_config
from rga.model import ReIDNet
from rga.study import pretrain

pytestmark = pytest.mark.xdist_group("train")


def _pretrain(config, tmp_path):
    """``pretrain_trunk`` with every folder under ``tmp_path`` (the trunk in ``trunk/``)."""
    return pretrain.pretrain_trunk(
        config,
        out_dir=tmp_path / "trunk",
        checkpoint_root=tmp_path / "ck",
        results_root=tmp_path / "results",
        progress=False,
    )


def test_trunk_file_manifest_and_loading(tmp_path):
    config = make_config(
        "smoke", experiment="pretrain", kind=None, data_root=str(tmp_path / "data"), epochs=1
    )
    manifest = _pretrain(config, tmp_path)
    name = manifest["file"].split("/")[-1]
    payload = (tmp_path / "trunk" / name).read_bytes()
    assert manifest["sha256"] == hashlib.sha256(payload).hexdigest()
    assert name == f"resnet18-synthreid-{manifest['sha256'][:8]}.pt"
    assert manifest["file"].startswith("experiments/pretrained/")  # relative, machine-free
    assert json.loads((tmp_path / "trunk" / "trunk.json").read_text()) == json.loads(
        json.dumps(manifest)
    )
    assert "data_root" not in manifest["config"]
    assert len(manifest["curve"]) == 1 and manifest["config"]["kind"] is None
    assert pretrain.trunk_manifest(tmp_path / "trunk") == json.loads(json.dumps(manifest))

    model = ReIDNet(
        3, arch="resnet18", kind="rga-sc", height=64, width=32, weights=tmp_path / "trunk" / name
    )
    trunk = torch.load(tmp_path / "trunk" / name, weights_only=True)
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, trunk[key], rtol=0, atol=0)


def test_a_missing_trunk_says_how_to_make_it(tmp_path, monkeypatch):
    from rga.engine.config import check_environment

    config = make_config("smoke", weights="experiments/pretrained/not-made-yet.pt")
    with pytest.raises(FileNotFoundError, match="papermill experiments/pretrain.ipynb"):
        check_environment(config)
    assert committed_trunk().startswith("experiments/pretrained/")


def test_the_192x96_trunk_has_its_own_manifest_and_profile(tmp_path, monkeypatch):
    """The scale probe's trunk (pretrain-192x96) never replaces the study's trunk.json, and the
    profile that uses it says how to make it while it is missing."""
    from rga.engine.config import LARGE_TRUNK_MANIFEST, check_environment

    assert pretrain.MANIFESTS["pretrain-192x96"] == LARGE_TRUNK_MANIFEST != pretrain.MANIFEST
    large = make_config("pretrain-192x96")
    study = make_config("pretrain")
    assert (large.height, large.width, large.synth_preset) == (192, 96, "pretrain-192x96")
    assert {k: v for k, v in large.to_dict().items() if getattr(study, k) != v} == {
        "profile": "pretrain-192x96",
        "synth_preset": "pretrain-192x96",
        "height": 192,
        "width": 96,
    }
    config = make_config("pretrained-192x96", kind="rga-sc")
    assert (config.height, config.width, config.synth_preset) == (192, 96, "cpu-192x96")
    assert config.weights == committed_trunk(LARGE_TRUNK_MANIFEST) != committed_trunk()
    if not (pretrain.repo_root() / config.weights).is_file():
        with pytest.raises(FileNotFoundError, match="-p profile pretrain-192x96"):
            check_environment(config)
    smoke = dataclasses.replace(
        make_config("smoke", experiment="pretrain", kind=None, data_root=str(tmp_path / "data"),
                    epochs=1),
        profile="pretrain-192x96",  # a quick stand-in: written where that profile's trunk goes
    )  # fmt: skip
    manifest = _pretrain(smoke, tmp_path)
    assert sorted(p.name for p in (tmp_path / "trunk").glob("*.json")) == [LARGE_TRUNK_MANIFEST]
    assert pretrain.trunk_manifest(tmp_path / "trunk", LARGE_TRUNK_MANIFEST) == json.loads(
        json.dumps(manifest)
    )
    assert pretrain.trunk_manifest(tmp_path / "trunk") is None
