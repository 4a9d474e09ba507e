"""rga.study: which models each experiment trains, and the fixed attention panel."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rga.engine.config import make_config, run_id
from rga.study import experiments as study


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
    plugin = {run_id(c) for c in study.experiment_configs("plugin_position", "smoke")}
    variants = study.experiment_configs("attention_variants", "smoke")
    assert [c.kind for c in variants] == [None, "cbam", "rga-sc-norel", "rga-s", "rga-c", "rga-sc"]
    shared = plugin & {run_id(c) for c in variants}
    assert len(shared) == 2  # the baseline and RGA-SC at all four positions train once


def test_seeds_outermost_and_parsed_from_text():
    configs = study.experiment_configs("plugin_position", "smoke", seeds="0, 2")
    assert [c.seed for c in configs] == [0] * 6 + [2] * 6
    assert study.parse_seeds(3) == (3,)
    assert study.parse_seeds([1, 2]) == (1, 2)
    with pytest.raises(ValueError, match="at least one seed"):
        study.parse_seeds("")


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


def test_attention_panel_is_fixed_with_masks_at_input_size(tmp_path):
    config = make_config("smoke", data_root=str(tmp_path))
    images, masks, pids = study.attention_panel(config, 16)
    assert images.shape == (16, 3, config.height, config.width)
    assert masks.shape == (16, config.height, config.width) and masks.dtype == bool
    assert 0.02 < masks.mean() < 0.8
    n_ids = len(set(pids.tolist()))
    assert len(set(pids[:n_ids].tolist())) == n_ids  # one image per identity first
    again, _, pids_again = study.attention_panel(config, 16)
    torch.testing.assert_close(images, again, rtol=0, atol=0)
    np.testing.assert_array_equal(pids, pids_again)
