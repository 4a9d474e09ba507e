"""The Attention page's part table and sentences, and the Results page's ranked lists, from
small files written here (no book build)."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from result_fakes import scores, write_fake_run

import rga.study.report as report
from rga.analysis.draw_ranks import RankedRow, figure_ranked_lists
from rga.engine.config import make_config
from rga.study.pages.attention import parts_sentences, parts_summary
from rga.study.report.attention_parts import attention_parts_table
from rga.study.report.ranked_lists import (
    ranked_lists_figure,
    save_ranked_lists,
    select_ranked_lists,
)
from rga.synth import PARTS, ensure_synthreid


def part_scores(stage: int, seed: int) -> dict:
    """Made-up scores: the background's gate falls with depth, the legs' rises."""
    gates = {p: 0.45 for p in PARTS} | {"background": 0.6 - 0.1 * stage, "legs": 0.3 + 0.1 * stage}
    gates["bag"] = 0.35 if stage == 2 else 0.45
    return {
        "explained": 0.2 + 0.1 * stage + 0.02 * seed,
        "explained_person": 0.1,
        **{f"mean_{p}": g for p, g in gates.items()},
    }


def write_run(root, experiment, seed, parts=True):
    config = make_config("smoke", experiment=experiment, kind="rga-sc", seed=seed)
    extra = (
        {"attention_parts": {str(s): part_scores(s, seed) for s in (1, 2, 3, 4)}} if parts else {}
    )
    write_fake_run(root, config, metrics=scores(1.0, R1=1.0), **extra)


def test_part_table_pools_seeds_once_per_run(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path, "attention_variants", seed)
        write_run(tmp_path, "plugin_position", seed)  # the same runs, shared by two notebooks
    write_run(tmp_path, "attention_variants", 2, parts=False)  # recorded before part scores
    runs = report.load_runs(root=tmp_path, profiles=None)  # smoke runs: not the study's
    parts = attention_parts_table(runs, label="RGA-SC conv2-5_x")
    assert len(parts) == 2 * 4 and sorted(parts["seed"].unique()) == [0, 1]
    table = parts_summary(parts)
    assert table.shape[0] == 4
    first = table.iloc[0]
    assert first[("variance explained", "by the 7 regions")] == "31 ± 1 %"
    assert first[("seeds", "")] == 2 and first[("mean gate", "legs")] == "0.400 ± 0.000"
    assert table.index.get_level_values("module")[3] == "RGA-SC4 (after conv5_x)"
    sentences = parts_sentences(parts)
    assert len(sentences) == 4
    assert sentences[0].startswith("RGA-SC1 (after conv2_x): the seven regions explain 31%")
    assert "highest mean gate is on the background (0.500)" in sentences[0]
    assert "lowest on the legs (0.400); all six body parts get less than" in sentences[0]
    assert "1 of the six body parts (bag) gets less" in sentences[1]
    assert "every body part gets more than the background" in sentences[3]
    assert attention_parts_table(runs, label="CBAM-CS conv2-5_x").empty
    flat = parts.assign(explained=np.nan, explained_person=np.nan)  # maps constant per image
    assert parts_summary(flat).iloc[0][("variance explained", "person vs background")] == (
        "constant map"
    )
    assert "the map is constant over each image" in parts_sentences(flat)[0]
    assert parts_summary(attention_parts_table(runs.iloc[:0])).empty


def test_ranked_lists_figure_marks_hits_and_misses(tmp_path):
    root = ensure_synthreid(tmp_path / "data", "smoke")
    query = sorted((root / "query").glob("*.jpg"))[0]
    gallery = sorted((root / "bounding_box_test").glob("*.jpg"))[:10]
    pid = int(query.name[:4])
    lists = {}
    for kind, hits_first in ((None, False), ("rga-sc", True)):
        items = [
            {"path": f"bounding_box_test/{g.name}", "pid": int(g.name.split("_")[0]),
             "camid": 1, "distance": 0.1 * i, "hit": hits_first and i == 0}
            for i, g in enumerate(gallery)
        ]  # fmt: skip
        meta = {"kind": kind, "positions": [] if kind is None else [1, 2, 3, 4], "seed": 0,
                "dataset": "synthreid", "synth_preset": "smoke", "run_id": f"r-{kind}"}  # fmt: skip
        path = (
            report.results_dir("attention_variants", tmp_path)
            / "attention"
            / f"r-{kind}.ranked.json"
        )
        save_ranked_lists(
            path, meta, [{"path": f"query/{query.name}", "pid": pid, "camid": 0, "gallery": items}]
        )
        lists[kind] = select_ranked_lists(kind, root=tmp_path)
    assert lists[None]["meta"]["run_id"] == "r-None"
    figure = ranked_lists_figure({"Baseline": lists[None], "RGA-SC": lists["rga-sc"]})
    assert isinstance(figure, Figure) and len(figure.axes) == 2 * 11
    captions = [ax.get_xlabel() for ax in figure.axes]
    assert captions.count("query") == 2
    assert sum(c.startswith("✓") for c in captions) == 1
    assert sum(c.startswith("✗") for c in captions) == 19
    drawn = figure.axes[0].images[0].get_array()
    assert drawn.shape == (64, 32, 3)  # the query, drawn again at the preset's size
    with pytest.raises(ValueError, match="other queries"):
        other = {
            **lists["rga-sc"],
            "queries": [{**lists["rga-sc"]["queries"][0], "path": "query/x.jpg"}],
        }
        ranked_lists_figure({"Baseline": lists[None], "RGA-SC": other})


def test_ranked_rows_without_images_are_grey_tiles():
    rows = [RankedRow("model", None, [(None, True, "id 3"), (None, False, "id 4")])]
    figure = figure_ranked_lists(rows, k=3)
    assert len(figure.axes) == 4 and not figure.axes[-1].axison  # the padding slot is empty
    assert np.asarray(figure.axes[1].images[0].get_array()).shape == (2, 1, 3)
    with pytest.raises(ValueError, match="at least one"):
        figure_ranked_lists([])
