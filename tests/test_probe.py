"""Attention probe: maps against a hand-written recomputation, relations against an explicit R."""

from functools import cache

import numpy as np
import pytest
import torch

from rga.analysis.parts import part_scores
from rga.analysis.precision import attention_precision
from rga.analysis.probe import (
    grid_cell,
    probe,
    relation_maps,
    relation_matrix,
    relations_at,
    score_model_attention,
    score_model_parts,
)
from rga.model import ReIDNet

H, W = 64, 32
# Feature maps of a 64x32 input with last stride 1 (strides 4, 8, 16, 16), narrow ResNet-18
# channels 0.25 * (64, 128, 256, 512).
SIZES = {1: (16, 8), 2: (8, 4), 3: (4, 2), 4: (4, 2)}
CHANNELS = {1: 16, 2: 32, 3: 64, 4: 128}


@cache
def tiny(kind="rga-sc", positions=(1, 2, 3, 4), relation="factorised", seed=0) -> ReIDNet:
    """A tiny model whose BN running statistics differ from the batch statistics, so a probe
    that forgot eval mode would give different maps. Cached: the probe must not change it
    (checked on a fresh one in ``test_leaves_the_model_as_it_was``)."""
    torch.manual_seed(seed)
    model = ReIDNet(
        4, arch="resnet18-w0.25", kind=kind, positions=positions, height=H, width=W,
        relation=relation,
    )  # fmt: skip
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, H, W) * 2 + 0.5)
    return model


@pytest.fixture(scope="module")
def model() -> ReIDNet:
    return tiny()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(3, 3, H, W, generator=torch.Generator().manual_seed(1))


def stage_inputs(model: ReIDNet, images: torch.Tensor) -> dict[int, torch.Tensor]:
    """Each attention module's input, by running the trunk stage by stage (eval mode)."""
    model.eval()
    t, inputs = model.backbone, {}
    with torch.no_grad():
        x = t.maxpool(t.relu(t.bn1(t.conv1(images))))
        for stage in range(1, 5):
            x = getattr(t, f"layer{stage}")(x)
            if stage in model.attention_modules:
                inputs[stage] = x
                x = model.attention_modules[stage](x)
    return inputs


def manual_spatial_gate(module, x: torch.Tensor) -> torch.Tensor:
    """RGA-S gate written out from spec 1.3 with R materialised. Returns (B, h, w)."""
    b, _, h, w = x.shape
    n = h * w
    u = module.gx_spatial(x).mean(1, keepdim=True)  # (B, 1, h, w)
    q = module.theta_spatial(x).flatten(2)  # (B, C', N)
    k = module.phi_spatial(x).flatten(2)  # (B, C', N)
    r = torch.einsum("bci,bcj->bij", q, k)  # R[i, j] = <Q_i, K_j>: (B, N, N)
    # channel j of node i: R[i, j] for j < N, then R[j - N, i]
    relation = torch.cat([r.transpose(1, 2), r], 1).reshape(b, 2 * n, h, w)
    e = module.gg_spatial(relation)  # (B, N', h, w)
    return torch.sigmoid(module.W_spatial(torch.cat([u, e], 1)))[:, 0]


def test_shapes_range_and_dtype(model, images):
    maps = probe(model, images)
    assert sorted(maps) == [1, 2, 3, 4]
    for stage, m in maps.items():
        assert isinstance(m.spatial, np.ndarray) and m.spatial.dtype == np.float32
        assert m.spatial.shape == (3, *SIZES[stage])
        assert m.channel.shape == (3, CHANNELS[stage])
        for values in (m.spatial, m.channel):
            assert np.isfinite(values).all()
            assert (values > 0).all() and (values < 1).all()


@pytest.mark.parametrize("relation", ["factorised", "materialised"])
def test_spatial_maps_equal_the_manual_gate(relation, images):
    model = tiny(relation=relation)
    maps = probe(model, images)
    inputs = stage_inputs(model, images)
    with torch.no_grad():
        for stage, x in inputs.items():
            expected = manual_spatial_gate(model.attention_modules[stage], x)
            torch.testing.assert_close(
                torch.from_numpy(maps[stage].spatial), expected, atol=1e-5, rtol=1e-4
            )


def test_matches_the_models_own_attention_maps(model, images):
    maps = probe(model, images)
    model.eval()
    with torch.no_grad():
        reference = model.attention_maps(images)
    for stage, m in maps.items():
        torch.testing.assert_close(torch.from_numpy(m.spatial), reference[stage].spatial[:, 0])
        torch.testing.assert_close(torch.from_numpy(m.channel), reference[stage].channel)


@pytest.mark.parametrize("relation", ["factorised", "materialised"])
@pytest.mark.parametrize(("stage", "index"), [(1, 37), (1, (15, 7)), (2, 0), (4, (2, 1))])
def test_relation_row_col_equal_explicit_r(relation, stage, index, images):
    model = tiny(relation=relation)
    row, col = relation_maps(model, images, stage, index)
    h, w = SIZES[stage]
    i = index[0] * w + index[1] if isinstance(index, tuple) else index
    module, x = model.attention_modules[stage], stage_inputs(model, images)[stage]
    with torch.no_grad():
        q = module.theta_spatial(x).flatten(2)  # (B, C', N)
        k = module.phi_spatial(x).flatten(2)  # (B, C', N)
        r = q.transpose(1, 2) @ k  # (B, N, N)
    assert row.shape == col.shape == (3, h, w)
    torch.testing.assert_close(
        torch.from_numpy(row), r[:, i, :].reshape(3, h, w), atol=1e-5, rtol=1e-4
    )
    torch.testing.assert_close(
        torch.from_numpy(col), r[:, :, i].reshape(3, h, w), atol=1e-5, rtol=1e-4
    )
    assert not np.allclose(row, col)  # R is asymmetric (theta != phi): row and column differ


def test_leaves_the_model_as_it_was(images):
    model = tiny.__wrapped__()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe(model, images)
    relation_maps(model, images, 2, 3)
    assert model.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0, msg=key)
    for module in model.modules():
        assert not module._forward_pre_hooks


def test_hooks_removed_when_the_forward_fails(model):
    with pytest.raises(ValueError, match="height=32, width=16"):
        probe(model, torch.randn(1, 3, 32, 16))
    assert all(not m._forward_pre_hooks for m in model.attention_modules.values())


def test_forward_stops_after_the_last_requested_stage(model, images):
    calls = []
    handle = model.backbone.layer3.register_forward_hook(lambda *_: calls.append(1))
    try:
        maps = probe(model, images, stages=[2])
        assert sorted(maps) == [2] and not calls
        probe(model, images, stages=3)
        assert len(calls) == 1
    finally:
        handle.remove()


@pytest.mark.parametrize(
    ("kind", "spatial", "channel"),
    [
        ("rga-s", True, False),
        ("rga-c", False, True),
        ("rga-sc-norel", True, True),
        ("cbam", True, True),
    ],
)
def test_variants(kind, spatial, channel, images):
    model = tiny(kind=kind, positions=(2, 4))
    maps = probe(model, images)
    assert sorted(maps) == [2, 4]
    for stage, m in maps.items():
        assert (m.spatial is not None) == spatial and (m.channel is not None) == channel
        if spatial:
            assert m.spatial.shape == (3, *SIZES[stage])
    if kind in ("rga-sc-norel", "rga-c"):
        with pytest.raises(ValueError, match="relation"):
            relation_maps(model, images, 2, 0)
    if kind == "cbam":
        with pytest.raises(TypeError, match="relations"):
            relation_maps(model, images, 2, 0)


def test_baseline_and_bad_stages(model, images):
    assert probe(tiny(kind=None), images) == {}
    with pytest.raises(KeyError, match=r"stages \[1, 2, 3, 4\]"):
        probe(model, images, stages=[5])
    with pytest.raises(IndexError):
        relation_maps(model, images, 4, (4, 0))  # stage 4 is 4x2


def test_score_model_attention_is_precision_of_the_probed_maps(model, images):
    masks = np.zeros((3, H, W), dtype=bool)
    masks[:, 8:56, 8:24] = True  # a centred "person"
    masks[1, :, :4] = True
    scores = score_model_attention(model, images, masks, batch_size=2)  # 2 batches: 2 + 1
    # probe in the same chunks: batch size changes float rounding, and rounding can flip ties
    chunks = [probe(model, images[:2]), probe(model, images[2:])]
    assert sorted(scores) == [1, 2, 3, 4]
    for stage, s in scores.items():
        maps = np.concatenate([chunk[stage].spatial for chunk in chunks])
        assert s == pytest.approx(attention_precision(maps, masks), abs=1e-9)
        assert 0 <= s["mass_on_person"] <= 1 and 0 <= s["auroc"] <= 1
        assert s["chance"] == pytest.approx(masks.mean(), abs=1e-12)
    assert score_model_attention(tiny(kind="rga-c", positions=(3,)), images, masks) == {}


def test_grid_cell_holds_the_point():
    assert grid_cell(0.0, 0.0, 16, 8) == (0, 0)
    assert grid_cell(0.45, 0.5, 16, 8) == (7, 4)
    assert grid_cell(1.0, 1.0, 4, 2) == (3, 1)  # the last cell, not one past it


def test_relations_at_fixed_points_are_the_relation_maps_of_their_cells(images):
    model = tiny(kind="rga-sc", positions=(1, 3, 4))
    points = [(0.2, 0.5), (0.75, 0.25)]
    relations = relations_at(model, images[:2], points)
    assert sorted(relations) == [1, 3, 4]
    for stage, rel in relations.items():
        h, w = SIZES[stage]
        assert rel.row.shape == rel.col.shape == (2, len(points), h, w)
        assert rel.cells.tolist() == [list(grid_cell(y, x, h, w)) for y, x in points]
        for p, cell in enumerate(rel.cells):
            row, col = relation_maps(model, images[:2], stage, tuple(cell))
            np.testing.assert_array_equal(rel.row[:, p], row)
            np.testing.assert_array_equal(rel.col[:, p], col)
    assert relations_at(tiny(kind="rga-sc-norel", positions=(2, 4)), images, points) == {}
    assert sorted(relations_at(tiny(kind="rga-s", positions=(2, 4)), images, points)) == [2, 4]


def test_score_model_parts_scores_the_probed_maps(model, images):
    parts = np.zeros((3, H, W), dtype=np.uint8)
    parts[:, 4:12, 12:20] = 1  # head
    parts[:, 12:36, 8:24] = 2  # torso
    parts[:, 36:60, 8:24] = 4  # legs
    scores = score_model_parts(model, images, parts, stages=[1, 2])
    maps = probe(model, images, stages=[1, 2])
    assert sorted(scores) == [1, 2]
    for stage, s in scores.items():
        assert s == pytest.approx(part_scores(maps[stage].spatial, parts), abs=1e-9, nan_ok=True)
        assert 0 <= s["explained_person"] <= s["explained"] <= 1
        assert np.isnan(s["mean_bag"])  # no bag drawn


@pytest.mark.parametrize("stage", [1, 3])
def test_relation_matrix_is_the_r_the_materialised_path_builds(stage, images):
    """The whole R of the browser viewer: the matrix the official (materialised) relation path
    feeds its relation embedding, and row by row the relation maps of each position."""
    model = tiny(relation="materialised").eval()
    r = relation_matrix(model, images, stage)
    h, w = SIZES[stage]
    n = h * w
    assert r.shape == (3, n, n) and r.dtype == np.float32
    built = {}
    conv = model.attention_modules[stage].gg_spatial[0]
    handle = conv.register_forward_pre_hook(lambda _m, args: built.setdefault("rel", args[0]))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    # the conv's input is [R^T; R] along channels: (B, 2N, N, 1)
    torch.testing.assert_close(torch.from_numpy(r), built["rel"][:, n:, :, 0], atol=1e-5, rtol=1e-4)
    for i in (0, n // 2, n - 1):
        row, col = relation_maps(model, images, stage, i)
        np.testing.assert_allclose(r[:, i, :], row.reshape(3, n), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(r[:, :, i], col.reshape(3, n), rtol=1e-4, atol=1e-5)
    factorised = relation_matrix(tiny(relation="factorised"), images, stage)
    np.testing.assert_allclose(factorised, r, rtol=1e-4, atol=1e-5)  # same weights, same R


def test_relation_matrix_needs_spatial_relations(images):
    with pytest.raises(TypeError, match="no spatial relations"):
        relation_matrix(tiny(kind="rga-sc-norel"), images, 2)
