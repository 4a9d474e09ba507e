"""rga.study.scale: what each scale probe trains, in which profile, and in which order."""

from __future__ import annotations

import pytest

from rga.engine.config import LARGE_PROFILE, LARGE_TRUNK_MANIFEST
from rga.study import scale
from rga.study.regime import GRID, committed_choice, next_longer


def test_an_unknown_probe_is_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(scale, "run_configs", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=r"^probe='scale'.*scale_ratios.*scale_positions"):
        scale.run_probe("scale")
    with pytest.raises(ValueError, match=r"^seeds="):
        scale.run_probes(seeds="many")  # before the trunk is made


def test_the_schedule_check_is_the_next_longer_schedule_at_192x96():
    chosen = committed_choice()["schedule_name"]
    config = scale.schedule_check_config()
    longer = GRID[next_longer(chosen)]
    assert (config.epochs, config.warmup_epochs, config.lr_steps) == (
        longer["epochs"], longer["warmup_epochs"], longer["lr_steps"]
    )  # fmt: skip
    assert config.epochs > GRID[chosen]["epochs"]
    assert (config.experiment, config.kind, config.positions, config.seed) == (
        "regime", "rga-sc", (1, 2, 3, 4), 0
    )  # fmt: skip
    assert (config.height, config.width, config.profile) == (192, 96, LARGE_PROFILE)


@pytest.fixture
def trained(monkeypatch):
    """The configs run_probe would train, and the trunks it would pretrain (nothing runs)."""
    seen = {"configs": [], "pretrained": []}

    def run_configs(configs, **kwargs):
        seen["configs"] += configs
        return []

    monkeypatch.setattr(scale, "run_configs", run_configs)
    monkeypatch.setattr("rga.study.pretrain.trunk_manifest", lambda **kw: None)
    monkeypatch.setattr(
        "rga.study.pretrain.pretrain_trunk",
        lambda config, **kw: seen["pretrained"].append((config.profile, config.height)),
    )
    return seen


def test_probe_2_pretrains_its_trunk_first_and_adds_the_schedule_check(trained):
    scale.run_probe("scale_positions", seeds="study", progress=False)
    assert trained["pretrained"] == [("pretrain-192x96", 192)]
    configs = trained["configs"]
    assert len(configs) == 10 and {(c.height, c.width) for c in configs} == {(192, 96)}
    assert [c.experiment for c in configs].count("regime") == 1  # the check, once
    assert all(c.weights.endswith(".pt") for c in configs)
    trained["configs"].clear()
    scale.run_probe("scale_positions", seeds="0", progress=False)
    assert len(trained["configs"]) == 3  # one seed: no schedule check


def test_probe_1_trains_only_the_modules_at_the_official_sizes(trained):
    scale.run_probe("scale_ratios", seeds="study", progress=False)
    configs = trained["configs"]
    assert trained["pretrained"] == []  # the study's trunk
    assert sorted({(c.kind, c.rga_ratios, c.cbam_reduction) for c in configs}) == [
        ("cbam", (8, 8, 8), 2), ("rga-sc", (1, 1, 8), 16), ("rga-sc-norel", (1, 1, 8), 16)
    ]  # fmt: skip
    assert len(configs) == 11 and {c.profile for c in configs} == {"pretrained"}
    assert LARGE_TRUNK_MANIFEST not in {c.weights for c in configs}


def test_both_probes_share_one_pool_in_the_probes_order(trained):
    scale.run_probes(seeds="study", progress=False)
    experiments = [c.experiment for c in trained["configs"]]
    assert experiments == ["scale_ratios"] * 11 + ["scale_positions"] * 9 + ["regime"]
    assert trained["pretrained"] == [("pretrain-192x96", 192)]  # once, before any run
