"""rga.analysis.module_sizes: the RGA modules' internal widths, read from built models, at the
study's scale, with the paper's ratios widened, and at the paper's (spec 1.2's table)."""

import pytest
import torch

from rga.analysis.module_sizes import SIZE_COLUMNS, rga_sizes
from rga.engine.config import make_config
from rga.model import ReIDNet

STAGES = ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]


def _column(table, name):
    return table[name].tolist()


def test_pretrained_profile_rga_sc():
    """Half-width ResNet-18 at 96x48, last stride 1: maps 24x12, 12x6, 6x3, 6x3."""
    table = rga_sizes(make_config("pretrained", kind="rga-sc", positions=(1, 2, 3, 4)))
    assert _column(table, "stage") == STAGES
    assert _column(table, "positions") == [288, 72, 18, 18]
    assert _column(table, "spatial_head_hidden") == [4, 1, 1, 1]
    assert _column(table, "channel_head_hidden") == [1, 1, 2, 4]
    assert _column(table, "affinity_channels") == [4, 8, 16, 32]
    assert _column(table, "relation_units") == [36, 9, 2, 2]  # N' = N // 8


def test_pretrained_profile_with_ratios_1_1_8():
    config = make_config("pretrained", kind="rga-sc", positions=(1, 2, 3, 4), rga_ratios="1,1,8")
    table = rga_sizes(config)
    assert _column(table, "positions") == [288, 72, 18, 18]
    assert _column(table, "spatial_head_hidden") == [36, 9, 2, 2]
    assert _column(table, "channel_head_hidden") == [4, 8, 16, 32]
    assert _column(table, "affinity_channels") == [32, 64, 128, 256]


def test_paper_profile_matches_the_official_table():
    """ResNet-50 at 256x128: spec 1.2's W_spatial 257->32, 65->8, 17->2, 17->2 and W_channel
    33->4, 65->8, 129->16, 257->32."""
    table = rga_sizes(make_config("paper"))
    assert _column(table, "stage") == STAGES
    assert _column(table, "positions") == [2048, 512, 128, 128]
    assert _column(table, "spatial_head_in") == [257, 65, 17, 17]
    assert _column(table, "spatial_head_hidden") == [32, 8, 2, 2]
    assert _column(table, "channel_head_in") == [33, 65, 129, 257]
    assert _column(table, "channel_head_hidden") == [4, 8, 16, 32]
    assert _column(table, "affinity_channels") == [32, 64, 128, 256]
    assert _column(table, "relation_units") == [256, 64, 16, 16]


def test_a_built_model_is_read_as_it_is():
    """A model passed in is read, not rebuilt: a module made wider by hand shows up."""
    with torch.device("meta"):
        model = ReIDNet(10, arch="resnet18", kind="rga-s", positions=(2, 4), height=64, width=32)
    table = rga_sizes(model)
    assert _column(table, "stage") == ["conv3_x", "conv5_x"]
    assert _column(table, "positions") == [32, 8]  # 8x4, then 4x2 (last stride 1)
    assert table["channel_head_hidden"].isna().all()  # no channel branch in RGA-S
    assert table["channel_affinity_positions"].isna().all()
    with torch.device("meta"):
        model.attention["att2"].theta_spatial[0] = torch.nn.Conv2d(128, 40, 1, bias=False)
    assert _column(rga_sizes(model), "affinity_channels") == [40, 64]


@pytest.mark.parametrize("kind", [None, "cbam", "se"])
def test_models_without_rga_give_an_empty_table(kind):
    table = rga_sizes(make_config("smoke", kind=kind))
    assert table.empty and list(table.columns) == ["stage", *SIZE_COLUMNS]


def test_variants_without_a_layer_leave_it_empty():
    table = rga_sizes(make_config("smoke", kind="rga-sc-norel", positions=(1,)))
    assert table["affinity_channels"].isna().all() and table["relation_units"].isna().all()
    assert _column(table, "spatial_head_in") == [1]  # the appearance term U alone


def test_rejects_other_inputs():
    with pytest.raises(TypeError, match="takes a RunConfig or a ReIDNet, got dict"):
        rga_sizes({"kind": "rga-sc"})
