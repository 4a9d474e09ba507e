"""The Probe page's pieces (``rga.study.pages.probe``): the interactive widget on a smoke-sized
model, the notes that say where the views come from, the page's answer, and the drawing of saved
relations."""

from functools import cache

import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from rga.analysis.precision import upsample_maps
from rga.analysis.probe import probe, relations_at
from rga.engine.build import build_model
from rga.engine.checkpoint import FINAL, save_checkpoint
from rga.engine.config import make_config, run_id
from rga.study.pages.probe import (
    answer,
    probe_images,
    probe_model,
    probe_models,
    probe_widget,
    saved_probe_figure,
    saved_run_arrays,
    saved_views_note,
    train_command,
)
from rga.study.report.attention_arrays import (
    RELATION_POINTS,
    AttentionArrays,
    attention_path,
    save_attention_arrays,
)
from rga.study.train import _parse_override

CONFIG = make_config("smoke", kind="rga-sc", positions=(1, 2, 3, 4), seed=0)
TAG = "0123abcd"  # a data tag (the first characters of a data fingerprint)


@cache
def smoke_model():
    """The smoke profile's RGA-SC network, untrained, with BN statistics of a few batches."""
    torch.manual_seed(0)
    model = build_model(CONFIG, num_classes=8).train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, CONFIG.height, CONFIG.width))
    return model.eval()


def images() -> torch.Tensor:
    return torch.randn(
        3, 3, CONFIG.height, CONFIG.width, generator=torch.Generator().manual_seed(4)
    )


def drawn_map(ax) -> np.ndarray:
    """The (h, w) values of the one map drawn in ``ax`` (on its grid, a cell per value)."""
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return np.asarray(mesh.get_array())


def relation_pixels(figure: Figure) -> tuple[np.ndarray, np.ndarray]:
    """The R[i, :] and R[:, i] maps the widget drew (panels 3 and 4)."""
    titles = [ax.get_title() for ax in figure.axes]
    row, col = figure.axes[titles.index("R[i, :]")], figure.axes[titles.index("R[:, i]")]
    return drawn_map(row), drawn_map(col)


def test_the_widget_redraws_the_relations_for_each_control():
    pytest.importorskip("ipywidgets")
    widget = probe_widget(smoke_model(), images())
    image, stage, y, x = widget.children[:4]
    assert (image.description, stage.description, y.description, x.description) == (
        "image", "module", "position y", "position x",
    )  # fmt: skip
    assert stage.options == (1, 2, 3, 4)

    def current():
        assert isinstance(widget.result, Figure)
        return widget.result.texts[0].get_text(), relation_pixels(widget.result)

    title, (row, col) = current()
    assert "stage 4" in title and "image 0" in title
    image.value = 1
    title, (row_1, col_1) = current()
    assert "image 1" in title and not np.array_equal(row, row_1)
    stage.value = 1
    title, (row_s, _) = current()
    assert "stage 1" in title and "position i = (7, 4)" in title  # 16x8 grid at y=.45, x=.5
    y.value = 0.9
    title, (row_y, col_y) = current()
    assert "position i = (14, 4)" in title
    assert not np.array_equal(row_s, row_y) and not np.array_equal(col_y, row_y)
    x.value = 0.1
    assert "position i = (14, 0)" in current()[0]


def test_probe_model_loads_the_checkpoint_or_says_how_to_get_one(tmp_path):
    model, note = probe_model(CONFIG, tmp_path)
    assert model is None
    assert "python -m rga.study.train smoke kind=rga-sc positions=1,2,3,4 seed=0" in note.data
    assert "jupyter lab book/probe.ipynb" in note.data and "allow_untrained" in note.data
    untrained, note = probe_model(CONFIG, tmp_path, allow_untrained=True)
    assert untrained is not None and "untrained" in note.data
    save_checkpoint(
        {"config": CONFIG.to_dict(), "num_classes": 8, "model": smoke_model().state_dict()},
        tmp_path / run_id(CONFIG, TAG) / FINAL,
    )
    trained, note = probe_model(CONFIG, tmp_path)  # the data it was trained on, found
    assert "Checkpoint found" in note.data
    torch.testing.assert_close(trained.state_dict(), smoke_model().state_dict())


@pytest.mark.parametrize(
    "config",
    [
        CONFIG,
        make_config("smoke", kind=None, seed=2, epochs=3),
        make_config("cpu", kind="rga-s", positions=(3,), epochs=35, base_lr=1e-3),
    ],
    ids=["rga-sc", "baseline", "changed-fields"],
)
def test_train_command_names_the_same_run(config):
    command = train_command(config)
    words = command.split()
    assert words[:3] == ["python", "-m", "rga.study.train"]
    overrides = dict(_parse_override(w) for w in words[4:])
    assert overrides.pop("experiment") == "attention_variants"
    assert run_id(make_config(words[3], **overrides), TAG) == run_id(config, TAG)
    assert "lr_steps" not in command  # an epoch count rescales the schedule by itself


def saved_arrays(with_relations: bool) -> AttentionArrays:
    model, x = smoke_model(), images()
    maps = probe(model, x)
    relations = relations_at(model, x, RELATION_POINTS) if with_relations else {}
    return AttentionArrays(
        images=np.zeros((3, CONFIG.height, CONFIG.width, 3), np.uint8),
        masks=None,
        pids=None,
        spatial={s: m.spatial for s, m in maps.items()},
        channel={},
        meta={
            "run_id": run_id(CONFIG, TAG),
            "label": "RGA-SC conv2-5_x",
            "kind": "rga-sc",
            "positions": [1, 2, 3, 4],
            "seed": 0,
        },  # fmt: skip
        relations=relations,
        points=np.asarray(RELATION_POINTS) if with_relations else None,
    )


def test_saved_views_note_says_where_the_views_come_from():
    note = saved_views_note(CONFIG, saved_arrays(with_relations=True)).data
    assert run_id(CONFIG, TAG) in note and "one figure per test image (3 of 3)" in note
    assert "numbered 1 to 3" in note and "python" not in note
    note = saved_views_note(CONFIG, saved_arrays(with_relations=False), examples=2).data
    assert "holds the spatial gates of run" in note and "first 2 test images" in note
    assert "experiments/results/attention_variants/attention/" in note
    assert "python -m rga.study.train smoke kind=rga-sc" in note
    assert "holds nothing of run" in saved_views_note(CONFIG, None).data


def test_saved_run_arrays_prefers_the_copy_with_relations(tmp_path, monkeypatch):
    monkeypatch.setenv("RGA_RESULTS_ROOT", str(tmp_path))
    assert saved_run_arrays(CONFIG) is None
    rid = run_id(CONFIG, TAG)
    for experiment, with_relations in (("attention_variants", False), ("from_scratch", True)):
        saved = saved_arrays(with_relations)
        save_attention_arrays(
            attention_path(experiment, rid),
            saved.images,
            saved.spatial,
            meta=saved.meta,
            relations=saved.relations or None,
            points=saved.points,
        )
    assert saved_run_arrays(CONFIG).relations  # the older copy without them is passed over
    assert saved_run_arrays(CONFIG, data="f" * len(TAG)) is None  # other data: nothing
    attention_path("from_scratch", rid).unlink()
    only = saved_run_arrays(CONFIG)
    assert only is not None and not only.relations  # the spatial gates are still drawn


def test_saved_probe_figure_has_a_row_per_stage_and_marks_the_positions():
    saved = saved_arrays(with_relations=True)
    figure = saved_probe_figure(saved, image=1)
    assert len(figure.axes) == 4 * (2 + 2 * len(RELATION_POINTS))
    first_row = figure.axes[:8]
    assert [ax.get_title() for ax in first_row[2:4]] == ["R[i₁, :]", "R[:, i₁]"]
    marked = [ax for ax in figure.axes if ax.lines]  # the markers are line artists
    assert len(marked) == 4 * (1 + 2 * len(RELATION_POINTS))
    # each map on its own grid (a cell per value, not upsampled), its own range printed under it
    gate, row = first_row[1], first_row[2]
    np.testing.assert_allclose(drawn_map(gate), saved.spatial[1][1])
    np.testing.assert_allclose(drawn_map(row), saved.relations[1].row[1, 0])
    low, high = saved.spatial[1][1].min(), saved.spatial[1][1].max()
    assert gate.get_xlabel() == f"{low:.3f} – {high:.3f}"
    assert figure.get_suptitle().startswith("RGA-SC conv2-5_x, seed 0, test image 2")
    with pytest.raises(ValueError, match="recording step"):
        saved_probe_figure(saved_arrays(with_relations=False))


def test_saved_probe_figure_outlines_the_person_and_scores_the_gate():
    saved = saved_arrays(with_relations=True)
    masks = np.zeros((3, CONFIG.height, CONFIG.width), np.uint8)
    masks[:, 8:56, 8:24] = 1
    figure = saved_probe_figure(saved._replace(masks=masks), image=0)
    image, gate = figure.axes[:2]
    assert len(image.collections) == 1 and len(gate.collections) == 2  # map, then the outline
    up = upsample_maps(saved.spatial[1][:1], masks.shape[1:])[0]  # as the precision scores do
    share = (up * masks[0]).sum() / up.sum()
    assert gate.get_xlabel().endswith(f"on person {share:.2f}")


@pytest.mark.slow
def test_the_page_runs_in_jupyter_with_a_checkpoint(tmp_path, monkeypatch):
    """The notebook as a reader runs it in JupyterLab (every cell, the sliders' cell included)
    on a smoke run that the training command line trained and recorded."""
    papermill = pytest.importorskip("papermill")
    from pathlib import Path

    import nbformat
    from nbclient.exceptions import CellTimeoutError

    from rga.study.train import main

    checkpoints, results = tmp_path / "checkpoints", tmp_path / "results"
    main([
        "smoke", "kind=rga-sc", "positions=1,2,3,4", "experiment=attention_variants",
        f"data_root={tmp_path / 'data'}", "--checkpoint-root", str(checkpoints),
        "--results-root", str(results), "--no-progress",
    ])  # fmt: skip
    monkeypatch.setenv("RGA_RESULTS_ROOT", str(results))  # the kernel inherits it
    book = Path(__file__).resolve().parents[1] / "book"
    page = nbformat.read(book / "probe.ipynb", as_version=4)
    for cell in page.cells:  # JupyterLab runs every cell; nbclient would skip these
        tags = cell.metadata.get("tags", [])
        cell.metadata["tags"] = [t for t in tags if t != "skip-execution"]
    nbformat.write(page, tmp_path / "probe.ipynb")
    out = tmp_path / "probe.out.ipynb"
    # nbclient can miss the reply to a cell that opens widgets and wait for it forever
    # (jupyter/nbclient#312, seen here on a loaded machine): a time limit, then one more try.
    for attempt in (1, 2):
        try:
            papermill.execute_notebook(
                str(tmp_path / "probe.ipynb"),
                str(out),
                parameters={"profile": "smoke", "checkpoint_root": str(checkpoints)},
                cwd=str(book),
                progress_bar=False,
                execution_timeout=300,
            )
            break
        except CellTimeoutError:
            if attempt == 2:
                raise
    outputs = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "Drawn from the arrays the study saved" in text and "Checkpoint found" in text
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 3  # one per example image, every stage with its relations
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) == 1  # the sliders
    # ... and the figure under them: the output widget of `interactive` holds a PNG
    state = nbformat.read(out, as_version=4).metadata["widgets"]
    models = state["application/vnd.jupyter.widget-state+json"]["state"].values()
    shown = [
        o
        for m in models
        if m["model_name"] == "OutputModel"
        for o in m["state"].get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(shown) == 1


# --- without training: the shipped weights ---------------------------------------------------

SHIPPED_RUN = "synthreid-resnet18-w0.5-rga-sc-p1234-s0-34ec5985-d5feeae32"  # RGA-SC x4, seed 0


def page_config():
    """The config of the Probe page's parameters cell (what JupyterLab's "run all" builds)."""
    import ast
    import json
    from pathlib import Path

    book = Path(__file__).resolve().parents[1] / "book"
    notebook = json.loads((book / "probe.ipynb").read_text(encoding="utf-8"))
    (cell,) = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    params = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}
    fields = {k: params[k] for k in ("kind", "positions", "seed")}
    return make_config(params["profile"], **fields), params


def test_the_page_opens_on_the_shipped_run():
    config, params = page_config()
    assert run_id(config, SHIPPED_RUN.rsplit("-d", 1)[1]) == SHIPPED_RUN
    assert params["checkpoint_root"] == "" and not params["allow_untrained"]


def test_without_a_checkpoint_the_sliders_draw_from_the_shipped_weights(tmp_path):
    """What "run all" does on a fresh clone: no checkpoint, so the page's model is the shipped
    one; the sliders' callback draws its gates and relations."""
    pytest.importorskip("ipywidgets")
    from rga.analysis.probe import grid_cell, relation_maps
    from rga.study.probe_weights import load_probe_model

    config, params = page_config()
    models, note = probe_models(config, tmp_path / "no-checkpoints", params["allow_untrained"])
    from rga.study.probe_weights import shipped_runs

    # the page's run first, then every other shipped run of the profile, side by side
    others = [r for r in shipped_runs() if r["config"]["profile"] == config.profile]
    assert list(models)[0] == "RGA-SC conv2-5_x" and len(models) == len(others)
    assert "RGA-SC w/o Rel. conv2-5_x" in models
    assert "No checkpoint here" in note.data and f"{SHIPPED_RUN}.pt" in note.data
    shipped = load_probe_model(SHIPPED_RUN)
    model = models["RGA-SC conv2-5_x"]
    torch.testing.assert_close(model.state_dict(), shipped.state_dict(), rtol=0, atol=0)

    saved = saved_run_arrays(config, params["data"])
    images, _, source = probe_images(config.height, config.width, saved=saved)
    assert "saved test images of run" in source and images.shape[1:] == (3, 96, 48)
    widget = probe_widget(models, images[:3])
    image, stage, y, x = widget.children[:4]
    for values in ({"image": 1}, {"stage": 1}, {"y": 0.3}):
        for name, value in values.items():
            {"image": image, "stage": stage, "y": y}[name].value = value
        row, col = relation_pixels(widget.result)
        module = shipped.attention_modules[stage.value]
        cell = grid_cell(y.value, x.value, module.height, module.width)
        expected_row, expected_col = relation_maps(
            shipped, images[image.value][None], stage.value, cell
        )
        # the figure draws each map on the module's own grid, one cell per value
        for drawn, expected in ((row, expected_row), (col, expected_col)):
            assert drawn.shape == (module.height, module.width)
            np.testing.assert_allclose(drawn, expected[0], rtol=1e-5, atol=1e-6)
    title = widget.result.texts[0].get_text()
    assert "stage 1" in title and "image 1" in title and f"position i = {cell}" in title


@pytest.mark.slow
def test_the_page_runs_in_jupyter_without_training(tmp_path):
    """``jupyter lab book/probe.ipynb`` and "run all" on a fresh clone: no checkpoint, every
    cell runs (the sliders' cell included), the sliders draw from the shipped weights and the
    browser probe is embedded. Like the book build, it writes the viewer's data into
    ``book/_static/probe/`` (git ignores that file)."""
    papermill = pytest.importorskip("papermill")
    from pathlib import Path

    import nbformat

    book = Path(__file__).resolve().parents[1] / "book"
    page = nbformat.read(book / "probe.ipynb", as_version=4)
    for cell in page.cells:  # JupyterLab runs every cell; nbclient would skip these
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "skip-execution"]
    nbformat.write(page, tmp_path / "probe.ipynb")
    out = tmp_path / "probe.out.ipynb"
    papermill.execute_notebook(
        str(tmp_path / "probe.ipynb"),
        str(out),
        parameters={"checkpoint_root": str(tmp_path / "no-checkpoints")},
        cwd=str(book),
        progress_bar=False,
        execution_timeout=300,
    )
    executed = nbformat.read(out, as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = " ".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "No checkpoint here" in markdown and f"{SHIPPED_RUN}.pt" in markdown
    html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "data-rga-probe" in html and "_static/probe/viewer.js" in html
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    shown = [
        o
        for m in state.values()
        if m["model_name"] == "OutputModel"
        for o in m["state"].get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(shown) == 1  # the sliders' figure


def test_the_sliders_show_several_models_side_by_side():
    """One row per model, the panels aligned: a model without relations (CBAM-CS) leaves the
    relation panels of its row empty, saying so."""
    pytest.importorskip("ipywidgets")
    torch.manual_seed(1)
    cbam = build_model(make_config("smoke", kind="cbam", seed=0), num_classes=8).eval()
    widget = probe_widget({"RGA-SC": smoke_model(), "CBAM-CS": cbam}, images())
    figure = widget.result
    rows = figure.subfigs
    assert [row._suptitle.get_text() for row in rows] == ["RGA-SC", "CBAM-CS"]
    assert [len(row.axes) for row in rows] == [5, 5]  # image, gate, R[i, :], R[:, i], channels
    empty = [t.get_text() for ax in rows[1].axes for t in ax.texts]
    assert empty == ["no relations", "no relations"]
    assert (
        "stage 4" in figure.texts[0].get_text()
        and "position i = (1, 1)" in figure.texts[0].get_text()
    )
    widget.children[0].value = 2
    assert "image 2" in widget.result.texts[0].get_text()


def test_the_answer_reads_the_saved_gates():
    """The page's opening sentences, from gates whose scores are known by hand."""
    masks = np.zeros((2, 8, 4), np.uint8)
    masks[:, :, :2] = 1  # the left half is the person: a uniform map puts 0.5 on it
    flat = np.full((2, 4, 2), 0.5, np.float32)
    # 0.9 on the left column, 0.1 on the right; upsampled bilinearly to 4 pixel columns it is
    # 0.9, 0.7, 0.3, 0.1, so (0.9 + 0.7) / 2.0 = 0.8 of its mass is on the person
    left = np.tile(np.array([0.9, 0.1], np.float32), (2, 4, 1))
    saved = AttentionArrays(
        images=np.zeros((2, 8, 4, 3), np.uint8), masks=masks, pids=None,
        spatial={1: flat, 4: left}, channel={}, meta={},
    )  # fmt: skip
    text = answer(CONFIG, saved).data
    assert "RGA-SC conv2-5_x, seed 0, smoke profile" in text
    assert "put 0.500 and 0.800 of their mass on the person at RGA-SC1 and RGA-SC4" in text
    assert "against 0.500 for a uniform map, so only RGA-SC4 put more" in text
    assert "at most 9.0 times the smallest (at RGA-SC4)" in text
    uniform = answer(CONFIG, saved._replace(spatial={1: flat})).data
    assert "so no module favours the person (each is at most 0.000 from" in uniform
    assert "0." not in answer(CONFIG, None).data  # nothing saved: no number


def test_shipped_weights_of_a_rerun_are_named_with_both_metrics():
    from rga.study.pages.probe import _shipped_note

    entry = {"file": "a.pt", "label": "CBAM-CS conv2-5_x", "dtype": "float16", "bytes": 5.8e6,
             "commit": "766207f2b8"}  # fmt: skip
    assert "trained at commit 766207f" in _shipped_note(entry, "/tmp/w")
    entry["weights_of"] = {"what": "rerun", "commit": "766207f2b8", "cpu": "AMD EPYC",
                           "record": "experiments/rerun/a.json", "metrics": {"mAP": 73.367},
                           "committed_metrics": {"mAP": 72.97}}  # fmt: skip
    note = _shipped_note(entry, "/tmp/w")
    assert "trained at" not in note
    assert (
        "rerun at commit 766207f on AMD EPYC, mAP 73.37 against the committed run's 72.97" in note
    )
