"""Drawing helpers: figures with the expected panels, the heatmap is the upsampled map."""

import numpy as np
import pytest
import torch

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from rga.analysis.draw import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    denormalize,
    figure_compare_models,
    figure_relation,
    figure_stages,
    overlay,
    overlay_grid,
)
from rga.analysis.precision import upsample_maps  # noqa: E402
from rga.model import AttentionMaps  # noqa: E402

B, H, W = 2, 16, 8


@pytest.fixture()
def images() -> torch.Tensor:
    rgb = torch.rand(B, 3, H, W, generator=torch.Generator().manual_seed(0))
    mean, std = (
        torch.tensor(IMAGENET_MEAN)[:, None, None],
        torch.tensor(IMAGENET_STD)[:, None, None],
    )
    return (rgb - mean) / std


def test_denormalize_inverts_imagenet_normalisation(images):
    mean, std = (
        torch.tensor(IMAGENET_MEAN)[:, None, None],
        torch.tensor(IMAGENET_STD)[:, None, None],
    )
    expected = (images * std + mean).permute(0, 2, 3, 1).numpy()  # (B, H, W, 3)
    np.testing.assert_allclose(denormalize(images), expected, atol=1e-6)
    np.testing.assert_allclose(denormalize(images[0].numpy()), expected[0], atol=1e-6)
    with pytest.raises(ValueError, match="3, H, W"):
        denormalize(torch.zeros(H, W, 3))


def test_overlay_draws_the_bilinearly_upsampled_map(images):
    attention = torch.rand(1, 4, 2)
    fig = overlay(images[0], attention, title="RGA-SC4")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    picture, heat = fig.axes[0].images
    assert picture.get_array().shape == (H, W, 3)
    np.testing.assert_allclose(heat.get_array(), upsample_maps(attention, (H, W))[0], atol=1e-6)
    assert heat.get_clim() == (0.0, 1.0)
    assert fig._repr_png_()[:4] == b"\x89PNG"  # renders as a notebook cell's value
    free = overlay(images[0], attention[0], vrange=None)
    assert free.axes[0].images[1].get_clim() == pytest.approx(
        (attention.min().item(), attention.max().item()), abs=1e-6
    )


def test_overlay_into_given_axes_and_channel_last_image():
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = overlay(np.zeros((H, W, 3), dtype=np.uint8), np.ones((4, 2)) * 0.5, ax=axes[1])
    assert out is fig and len(axes[1].images) == 2 and not axes[0].images


@pytest.mark.parametrize("transpose", [False, True])
def test_compare_models_grid(images, transpose):
    columns = {"CBAM": np.random.rand(B, 4, 2), "RGA-SC": torch.rand(B, 1, 4, 2)}
    fig = figure_compare_models(images, columns, transpose=transpose)
    assert len(fig.axes) == B * 3
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    assert (rows, cols) == ((3, B) if transpose else (B, 3))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["image", "CBAM", "RGA-SC"]
    assert [len(ax.images) for ax in fig.axes].count(1) == B  # plain images; the rest overlays


def test_stage_figure_from_probe_output(images):
    maps = {
        s: AttentionMaps(np.random.rand(B, 8 // s, 4 // s).astype(np.float32), np.random.rand(B, 8))
        for s in (1, 2)
    }
    maps[4] = AttentionMaps(None, np.random.rand(B, 8))  # channel-only stage: no column
    fig = figure_stages(images, maps, colorbar=True)
    assert len(fig.axes) == B * 3 + 1  # + the colour bar
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "RGA-SC1", "RGA-SC2"]
    with pytest.raises(ValueError, match="spatial"):
        figure_stages(images, {3: AttentionMaps(None, np.random.rand(B, 8))})


def test_grid_rejects_a_column_of_the_wrong_length(images):
    with pytest.raises(ValueError, match="'RGA-SC' has 1 maps for 2 images"):
        overlay_grid(images, {"RGA-SC": np.random.rand(1, 4, 2)})


def test_relation_figure_marks_the_query_position(images, tmp_path):
    row, col = np.random.randn(4, 2), np.random.randn(4, 2)
    path = tmp_path / "relation.png"
    fig = figure_relation(images[0], row, col, index=5, save_path=path)  # 5 = (2, 1) on 4x2
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "i = (2, 1)"
    (x,), (y,) = fig.axes[0].lines[0].get_data()
    assert (x, y) == pytest.approx((1.5 * W / 2 - 0.5, 2.5 * H / 4 - 0.5))
    assert fig.axes[1].images[1].get_clim() == pytest.approx((row.min(), row.max()))
    assert path.stat().st_size > 0 and path.read_bytes()[:4] == b"\x89PNG"


def test_probe_module_exposes_overlay():
    import rga.analysis.probe

    assert rga.analysis.probe.overlay is overlay
