"""The Attention maps page (``rga.study.pages.attention``) and its figures
(``rga.study.report.attention_figures``): maps drawn on their true grid, the
person outlined, a score per image against hand-computed values, colour ranges, the figures'
text inside their panels, and the opening answer from made-up scores."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from rga.study.pages.attention import answer, figure_caption
from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.attention_figures import (
    compare_saved_models,
    draw_grid_map,
    draw_person_outline,
    map_range,
    person_scores,
    saved_stages_figure,
)

H, W = 48, 24  # image pixels; grids below are (12, 6) and (6, 3)


def meshes(ax) -> list[QuadMesh]:
    return [c for c in ax.collections if isinstance(c, QuadMesh)]


def test_person_scores_against_a_hand_computed_case():
    maps = np.array([[[1.0, 3.0], [0.0, 4.0]]])  # at the mask's size: no upsampling
    masks = np.array([[[1, 0], [0, 1]]], np.uint8)
    scores = person_scores(maps, masks)
    np.testing.assert_allclose(scores["mass_on_person"], [(1 + 4) / 8])
    np.testing.assert_allclose(scores["person_area"], [0.5])
    # a uniform map on a coarser grid puts exactly the person's share of the pixels on it
    uniform = person_scores(np.full((1, 3, 2), 0.7), np.tril(np.ones((1, 6, 4), np.uint8)))
    np.testing.assert_allclose(uniform["mass_on_person"], uniform["person_area"])


@pytest.mark.parametrize("grid", [(6, 3), (12, 6), (24, 12)])
def test_a_map_is_drawn_on_its_grid_one_cell_per_value(grid):
    values = np.arange(grid[0] * grid[1], dtype=float).reshape(grid) / 100
    ax = Figure().add_subplot()
    mesh = draw_grid_map(ax, values, (H, W))
    np.testing.assert_array_equal(np.asarray(mesh.get_array()), values)  # not upsampled
    corners = mesh.get_coordinates()  # (h + 1, w + 1, 2) cell corners (x, y), image pixels
    assert corners.shape == (grid[0] + 1, grid[1] + 1, 2)
    np.testing.assert_allclose(corners[0, 0], [-0.5, -0.5])
    np.testing.assert_allclose(corners[-1, -1], [W - 0.5, H - 0.5])
    assert mesh.get_clim() == (values.min(), values.max())  # its own range by default
    assert ax.get_ylim() == (H - 0.5, -0.5)  # row 0 at the top, like the image
    with pytest.raises(ValueError, match="one"):
        draw_grid_map(ax, values[None], (H, W))


def test_the_person_outline_follows_the_mask():
    mask = np.zeros((H, W), np.uint8)
    mask[10:40, 6:18] = 1
    ax = Figure().add_subplot()
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    outline = draw_person_outline(ax, mask)
    vertices = np.concatenate([p.vertices for p in outline.get_paths()])
    # the 0.5 level runs half a pixel outside the person's pixels
    np.testing.assert_allclose(vertices.min(axis=0), [5.5, 9.5])
    np.testing.assert_allclose(vertices.max(axis=0), [17.5, 39.5])
    assert ax.get_xlim() == (-0.5, W - 0.5)  # the panel's extent is kept
    assert draw_person_outline(ax, np.zeros((H, W))) is None
    assert draw_person_outline(ax, np.ones((H, W))) is None


def test_map_range_of_a_constant_map_stays_defined():
    assert map_range([[0.2, 0.7], [0.4, 0.5]]) == (0.2, 0.7)
    low, high = map_range(np.full((3, 2), 0.5))
    assert low < 0.5 < high and high - low == pytest.approx(1e-6)


def arrays(seed: int = 0, images=None, relations: bool = False) -> AttentionArrays:
    """Two test images and an RGA-SC run's gates at four stages, made up; person masks."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 255, (2, H, W, 3), dtype=np.uint8) if images is None else images
    masks = np.zeros((2, H, W), np.uint8)
    masks[:, 8:44, 6:18] = 1
    grids = {1: (12, 6), 2: (6, 3), 3: (3, 2), 4: (3, 2)}
    spatial = {s: rng.uniform(0.4, 0.6, (2, *g)).astype(np.float32) for s, g in grids.items()}
    meta = {"run_id": f"run-s{seed}", "kind": "rga-sc", "positions": [1, 2, 3, 4],
            "seed": seed, "profile": "pretrained", "epochs": 200}  # fmt: skip
    return AttentionArrays(images, masks, None, spatial, {}, meta)


def rendered(figure: Figure):
    """Draw ``figure`` (which lays out its text) and return the renderer that did."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def test_figure2_has_a_row_per_module_its_range_and_a_score_per_image():
    saved = arrays()
    figure = saved_stages_figure(saved, n=2)
    bars = [ax for ax in figure.axes if hasattr(ax, "_colorbar")]
    maps = [ax for ax in figure.axes if meshes(ax) and ax not in bars]
    assert len(maps) == 4 * 2 and len(bars) == 4  # one colour bar per module's row
    assert len(figure.axes) == 2 + 4 * 2 + 4  # the images, the maps, the bars
    for stage, bar in zip((1, 2, 3, 4), bars, strict=True):
        values = saved.spatial[stage]
        assert bar._colorbar.mappable.get_clim() == pytest.approx((values.min(), values.max()))
        assert [t.get_text() for t in bar.get_yticklabels()] == [
            f"{values.min():.3f}",
            f"{values.max():.3f}",
        ]
    scores = person_scores(saved.spatial[3], saved.masks)["mass_on_person"]
    third = [ax for ax in maps if np.asarray(meshes(ax)[0].get_array()).shape == (3, 2)][:2]
    assert [ax.get_xlabel() for ax in third] == [f"on person {s:.2f}" for s in scores]
    assert all(len(ax.collections) == 2 for ax in maps)  # the map, then the person's outline
    assert "RGA-SC conv2-5_x, seed 0" in figure.get_suptitle()
    assert "RGA-SC1\nafter conv2_x\n12×6 cells" in [ax.get_ylabel() for ax in figure.axes]


def test_figure1_names_each_model_and_its_seed_and_needs_the_same_images():
    cbam, rga = arrays(seed=1), arrays(seed=0)
    cbam = cbam._replace(images=rga.images, meta=cbam.meta | {"kind": "cbam"})
    figure = compare_saved_models({"CBAM-CS": cbam, "RGA-SC": rga}, stage=4, n=2)
    labels = [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel()]
    assert "CBAM-CS\nseed 1\n3×2 cells" in labels and "RGA-SC\nseed 0\n3×2 cells" in labels
    other = arrays(seed=2)
    with pytest.raises(ValueError, match="same test images"):
        compare_saved_models({"CBAM-CS": other, "RGA-SC": rga})


def assert_text_fits(figure: Figure) -> None:
    """Titles no wider than their panel, every text inside the figure, and the figure inside
    the book's text column (9 inches at 100 dpi), so that it is not shrunk."""
    renderer = rendered(figure)
    assert figure.get_figwidth() <= 9.0
    box = figure.bbox
    for ax in figure.axes:
        title = ax.title
        if title.get_text():
            extent = title.get_window_extent(renderer)
            assert extent.width <= ax.get_window_extent(renderer).width + 1, title.get_text()
    texts = [t for ax in figure.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)]
    texts += [figure._suptitle, figure._supxlabel]
    for text in texts:
        if text is not None and text.get_text():
            extent = text.get_window_extent(renderer)
            assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, text.get_text()
            assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, text.get_text()


@pytest.mark.parametrize("n", [1, 2, 6])
def test_every_text_fits_its_panel_and_the_figure(n):
    saved = arrays()
    many = saved._replace(
        images=np.repeat(saved.images, 3, axis=0), masks=np.repeat(saved.masks, 3, axis=0),
        spatial={s: np.repeat(m, 3, axis=0) for s, m in saved.spatial.items()},
    )  # fmt: skip
    assert_text_fits(saved_stages_figure(many, n=n))
    assert_text_fits(compare_saved_models({"RGA-SC w/o Rel.": many, "RGA-SC": many}, n=n))


def test_the_probe_pages_figures_fit_too():
    from rga.analysis.probe import RelationMaps
    from rga.study.pages.probe import attention_view, saved_probe_figure

    saved = arrays()
    rng = np.random.default_rng(1)
    relations = {
        s: RelationMaps(
            row=rng.uniform(0, 3, (2, 3, *m.shape[1:])),
            col=rng.uniform(0, 3, (2, 3, *m.shape[1:])),
            cells=np.array([[0, 1], [1, 1], [2, 1]]),
        )
        for s, m in saved.spatial.items()
    }
    points = np.array([[0.15, 0.5], [0.4, 0.5], [0.7, 0.5]])
    with_relations = saved._replace(relations=relations, points=points)
    assert_text_fits(saved_probe_figure(with_relations, image=1))
    rel = relations[1]
    view = attention_view(
        saved.images[0], saved.spatial[1][0], rng.uniform(0, 1, 64), row=rel.row[0, 0],
        col=rel.col[0, 0], position=(1, 1), title="stage 1 (after conv2_x), image 0",
        mask=saved.masks[0],
    )  # fmt: skip
    assert_text_fits(view)


def test_drawing_is_deterministic():
    import io

    def png() -> bytes:
        buffer = io.BytesIO()
        saved_stages_figure(arrays(), n=2).savefig(buffer, format="png", dpi=50)
        return buffer.getvalue()

    assert png() == png()


def test_the_caption_names_the_runs_their_seed_and_why():
    rga = arrays(seed=0)
    text = figure_caption({"RGA-SC": rga}, shipped={"run-s0"}).data
    assert "RGA-SC: `run-s0` (seed 0, pretrained profile, 200 epochs)" in text
    assert "Shown is seed 0: the lowest seed recorded" in text
    assert "The Probe page runs the same run of RGA-SC" in text
    assert "each row's own range" in text and "mass on the person" in text
    three = {"CBAM-CS": arrays(1), "RGA-SC w/o Rel.": arrays(2), "RGA-SC": rga}
    text = figure_caption(three, shipped={"run-s0", "run-s1", "run-s2"}).data
    assert "the same runs of CBAM-CS, RGA-SC w/o Rel. and RGA-SC, whose weights" in text
    assert "Shown is the seed named in each row" in text
    unshipped = figure_caption({"RGA-SC": rga}, shipped=set()).data
    assert "Probe page" not in unshipped
    no_masks = figure_caption({"RGA-SC": rga._replace(masks=None)}, shipped=set()).data
    assert "no score is given per image" in no_masks


def test_the_answer_cites_the_scores_and_verdicts_it_is_given():
    precision = pd.DataFrame(
        {
            "setting": ["A", "A", "B", "B", "B"],
            "stage": [4, 4, 4, 4, 3],
            "mass_on_person": [0.2, 0.3, 0.35, 0.45, 0.9],
            "chance": [0.3, 0.3, 0.3, 0.3, 0.3],
        }
    )
    claims = pd.DataFrame(
        {
            "metric": ["AUROC", "mass on person", "AUROC", "mAP"],
            "profile": ["p", "p", "q", "p"],
            "verdict": ["inconclusive", "holds", "holds", "holds"],
            "seeds": [5, 5, 3, 5],
        }
    )
    text = answer(precision, claims, "p", "the study p", maps_profile="q").data
    assert "In the study p, the 2 checks" in text and "5 seeds): 1 inconclusive, 1 holds" in text
    assert "between 0.250 (A) and 0.400 (B)" in text and "against 0.300 for a uniform map" in text
    assert "runs of the `q` profile" in text
    one = answer(precision, claims[claims["verdict"] == "holds"], "p", "p", maps_profile="p").data
    assert "the 1 checks" not in one and "seeds): it holds." in one and "profile" not in one
    claims["verdict"] = "inconclusive"
    assert "seeds): all 2 are inconclusive." in answer(precision, claims, "p", "p").data
    empty = answer(precision.iloc[:0], claims, "p", "the study p").data
    assert not any(ch.isdigit() for ch in empty)  # nothing recorded: no number


def test_the_fourth_map_numbers_are_those_of_the_profile_asked():
    import pandas as pd

    from rga.study.pages.attention import fourth_map_numbers

    runs = pd.DataFrame({"run_id": ["a0", "a1", "b0", "x"], "profile": ["p", "p", "p", "q"]})
    precision = pd.DataFrame(
        {
            "run_id": ["a0", "a1", "b0", "x", "a0"],
            "setting": [
                "RGA-SC conv2-5_x",
                "RGA-SC conv2-5_x",
                "CBAM-CS conv2-5_x",
                "RGA-SC conv2-5_x",
                "RGA-SC conv2-5_x",
            ],
            "stage": [4, 4, 4, 4, 3],
            "mass_on_person": [0.20, 0.30, 0.40, 0.99, 0.99],
            "auroc": [0.15, 0.65, 0.5, 0.99, 0.99],
            "chance": [0.3, 0.3, 0.3, 0.3, 0.3],
        }
    )
    assert (
        fourth_map_numbers(precision, runs, "p")
        == {
            "mass_low": "0.25",  # RGA-SC's mean over its two seeds; the other profile and stage 3 left out
            "mass_high": "0.40",
            "chance": "0.300",
            "rga_sc_auroc_low": "0.15",
            "rga_sc_auroc_high": "0.65",
        }
    )
    assert fourth_map_numbers(precision, runs, "none")["mass_low"] == "–"
