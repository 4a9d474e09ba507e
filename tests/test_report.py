"""rga.study.report: the book's readers and joins, on small files written here (no book build)."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

import rga.study.report as report
from rga.engine.config import PROFILES, make_config, model_label, run_id
from rga.model import ReIDNet
from rga.study.report.architecture import (
    architecture_table,
    check_against_paper,
    complexity_table,
    load_paper_table1,
)
from rga.study.report.plots import plot_metric_by, plot_table2_gains
from rga.study.report.views import probe_view, probe_widget
from rga.study.results import make_record, write_result

FINGERPRINT = "0123456789abcdef"


def _write_run(
    root, experiment="plugin_position", r1=50.0, m_ap=40.0, precision=None, profile="smoke",
    **overrides,
):  # fmt: skip
    config = make_config(profile, experiment=experiment, **overrides)
    metrics = {
        f: {"R1": r1, "R5": 70.0, "R10": 80.0, "mAP": m_ap, "mINP": 20.0} for f in ("z", "z_hat")
    }
    curve = [
        {
            "epoch": e,
            "lr": 1e-4,
            "loss": 3.0 - e,
            "ce": 2.0,
            "triplet": 1.0 - e,
            "images_per_s": 10.0,
            "seconds": 1.0,
        }
        for e in range(2)
    ]
    extra = {"attention_precision": precision} if precision else {}
    record = make_record(
        config, run_id=run_id(config, FINGERPRINT), label=model_label(config), metrics=metrics,
        curve=curve, train_time_s=2.0, eval_time_s=1.0,
        dataset_statistics={"train": {"ids": 4, "images": 8, "cameras": 2}},
        data={"fingerprint": FINGERPRINT}, hardware={"device_name": "test-cpu"}, **extra,
    )  # fmt: skip
    return write_result(record, root)


@pytest.mark.parametrize(
    ("kind", "positions", "key", "setting"),
    [
        (None, (), "", "Baseline"),
        ("none", "", "", "Baseline"),
        ("rga-sc", (3,), "3", "ResBlock conv4_x"),
        ("rga-sc", [4, 1, 3, 2], "1,2,3,4", "ResBlock conv2,3,4,5_x"),
        ("rga-sc", "(2, 3)", "2,3", "ResBlock conv3,4_x"),
    ],
)
def test_positions_name_the_table2_row(kind, positions, key, setting):
    assert report.positions_key(positions) == key
    assert report.table2_setting(kind, positions) == setting


def test_paper_numbers_hold_table2_and_their_sources():
    paper = report.load_paper_numbers()
    table2 = paper[paper["table"] == "supp-table2"]
    assert len(table2) == 6 * 2 * 2  # settings x datasets x (R1, mAP)
    assert (paper["source"].str.len() > 10).all()
    row = table2[
        (table2["setting"] == "ResBlock conv4_x") & (table2["dataset"] == "cuhk03-labeled")
    ]
    assert dict(zip(row["metric"], row["value"], strict=True)) == {"R1": 78.6, "mAP": 74.7}
    final = paper[(paper["table"] == "final") & (paper["dataset"] == "market1501")]
    assert sorted(final["value"]) == [88.4, 96.1]


def test_paper_vs_ours_puts_seed_spread_beside_the_paper(tmp_path):
    for seed, m_ap in ((0, 40.0), (1, 42.0)):
        _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=seed, m_ap=m_ap)
    _write_run(tmp_path, kind=None, seed=0, m_ap=30.0)
    runs = report.load_runs("plugin_position", root=tmp_path, profiles=None)
    assert sorted(runs["setting"]) == ["Baseline", "ResBlock conv4_x", "ResBlock conv4_x"]
    table = report.paper_vs_ours_table(runs, report.load_paper_numbers())
    group = runs["group"].iloc[0]
    assert group.startswith("ours: SynthReID (smoke preset)") and "2 epochs" in group
    assert table.loc["ResBlock conv4_x", (group, "mAP")] == "41.0 ± 1.4"
    assert table.loc["ResBlock conv4_x", (group, "seeds")] == "2"
    assert table.loc["ResBlock conv4_x", ("CUHK03 (L), paper", "mAP")] == "74.7"
    assert table.loc["ResBlock conv2_x", (group, "mAP")] == ""  # not run: left empty
    long = report.settings_long(runs, report.load_paper_numbers())
    ours = long[(long["source"] == group) & (long["metric"] == "mAP")]
    assert sorted(ours.loc[ours["setting"] == "ResBlock conv4_x", "gain"]) == [10.0, 12.0]
    assert isinstance(plot_table2_gains(long), Figure)


def test_runs_overview_variants_and_precision(tmp_path):
    scores = {str(s): {"mass_on_person": 0.5, "auroc": 0.7, "chance": 0.3} for s in (1, 2, 3, 4)}
    for seed in (0, 1):
        _write_run(tmp_path, "attention_variants", kind="rga-sc", seed=seed, precision=scores)
        _write_run(tmp_path, "attention_variants", kind="rga-c", seed=seed)
    runs = report.load_runs(root=tmp_path, profiles=None)
    overview = report.runs_overview(runs)
    assert overview[["experiment", "runs", "seeds"]].values.tolist() == [
        ["attention_variants", 4, "0, 1"]
    ]
    variants = report.variants_table(runs)
    assert list(variants["model"]) == ["RGA-SC", "RGA-C"]
    assert (
        variants.loc[0, "auroc (att4)"] == "0.700 ± 0.000" and variants.loc[1, "auroc (att4)"] == ""
    )
    precision = report.attention_precision_table(runs)
    assert len(precision) == 2 * 4 and set(precision["stage"]) == {1, 2, 3, 4}
    assert report.precision_summary(precision).shape[0] == 1
    assert len(report.curves_long(runs)) == 4 * 2
    assert isinstance(plot_metric_by(runs, x="model"), Figure)


def test_missing_inputs_give_an_empty_frame_and_a_notice(tmp_path):
    assert report.load_runs("plugin_position", root=tmp_path).empty
    assert report.load_benchmarks(tmp_path / "nothing") == {}
    notice = report.missing_results_message(
        "runs <x>", tmp_path / "a.json", "papermill a.ipynb out.ipynb"
    )
    html = notice._repr_html_()
    assert 'class="admonition warning' in html and "runs &lt;x&gt;" in html
    assert "<pre><code>papermill a.ipynb out.ipynb</code></pre>" in html
    assert "MISSING" in repr(notice)


def test_discrepancies_name_real_switches(tmp_path):
    table = report.discrepancies_table({"paper profile": PROFILES["paper"]})
    assert table.loc["Epochs", "paper profile"] == "epochs = 600"
    bad = report.load_discrepancies()
    bad.loc[0, "config_fields"] = "no_such_field"
    bad.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ValueError, match="no_such_field"):
        report.discrepancies_table({"paper profile": PROFILES["paper"]}, path=tmp_path / "d.csv")


def test_attention_arrays_round_trip_and_selection(tmp_path):
    config = make_config("smoke", experiment="attention_variants", kind="rga-sc")
    model = ReIDNet(5, arch="resnet18", kind="rga-sc", height=64, width=32).eval()
    images = torch.randn(3, 3, 64, 32)
    masks = np.zeros((3, 64, 32), bool)
    masks[:, 10:50, 8:24] = True
    for seed in (1, 0):
        run = make_config("smoke", experiment="attention_variants", kind="rga-sc", seed=seed)
        path = report.save_run_attention(
            run, model, images, run_id=run_id(run, FINGERPRINT), masks=masks, pids=[1, 2, 3],
            root=tmp_path,
        )  # fmt: skip
    saved = report.load_attention_arrays(path)
    assert saved.images.shape == (3, 64, 32, 3) and saved.images.dtype == np.uint8
    assert sorted(saved.spatial) == [1, 2, 3, 4] and saved.spatial[1].shape == (3, 16, 8)
    assert saved.channel[4].shape == (3, 512)
    assert saved.masks.sum() == masks.sum() and saved.pids.tolist() == [1, 2, 3]
    assert saved.meta["run_id"] == run_id(config, FINGERPRINT) == path.stem
    assert report.select_attention_arrays("rga-sc", root=tmp_path, profiles=None).meta["seed"] == 0
    assert report.select_attention_arrays("cbam", root=tmp_path, profiles=None) is None
    assert report.select_attention_arrays("rga-sc", root=tmp_path) is None  # smoke: not the study's
    fig = probe_view(model, images, image=1, stage=2)
    assert len(fig.axes) == 5  # image, spatial gate, R[i,:], R[:,i], channel gates
    pytest.importorskip("ipywidgets")
    widget = probe_widget(model, images)
    widget.children[1].value = 1  # the module after conv2_x
    assert isinstance(widget.result, Figure) and "stage 1" in widget.result.texts[0].get_text()


def test_architecture_table_checks_the_paper():
    model = ReIDNet(751, kind="rga-sc", height=256, width=128)
    table = check_against_paper(architecture_table(model), load_paper_table1(), num_classes=751)
    assert len(table) == 14 and not table["check"].str.startswith("✗").any()
    assert table.set_index("layer").loc["attention1", "output size"] == "64 × 32 × 256"
    small = ReIDNet(10, arch="resnet18", kind="rga-sc", height=64, width=32)
    wrong = check_against_paper(architecture_table(small), load_paper_table1(), num_classes=751)
    assert wrong["check"].str.startswith("✗").sum() >= 10


def test_complexity_counts_the_materialised_relations():
    kw = dict(arch="resnet18", kind="rga-sc", height=64, width=32)
    costs = complexity_table(
        {
            "baseline": ReIDNet(10, arch="resnet18", kind=None, height=64, width=32),
            "factorised": ReIDNet(10, relation="factorised", **kw),
            "materialised": ReIDNet(10, relation="materialised", **kw),
        }
    ).set_index("model")
    assert costs.loc["factorised", "parameters"] == costs.loc["materialised", "parameters"]
    assert costs.loc["baseline", "attention parameters"] == 0
    assert (
        costs.loc["baseline", "GFLOPs"]
        < costs.loc["factorised", "GFLOPs"]
        < costs.loc["materialised", "GFLOPs"]
    )
    assert costs.loc["materialised", "GFLOPs att1"] > costs.loc["factorised", "GFLOPs att1"]
    assert pd.isna(costs.loc["baseline", "GFLOPs att1"])


def test_runs_that_differ_from_their_profile_are_never_pooled(tmp_path):
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=0)
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=1, base_lr=1e-3)
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=2, threads=2)  # no effect on numbers
    runs = report.load_runs("plugin_position", root=tmp_path, profiles=None).sort_values("seed")
    plain, changed, threads = runs["group"]
    assert changed == plain.replace("smoke profile", "smoke profile with base_lr=0.001")
    assert threads == plain
    table = report.paper_vs_ours_table(runs, report.load_paper_numbers())
    assert table.loc["ResBlock conv4_x", (plain, "seeds")] == "2"
    # An epoch count that rescales the official schedule is shown as epochs, not as overrides.
    cpu_row = {**PROFILES["cpu"].to_dict(), **make_config("cpu", epochs=35).to_dict()}
    assert report.profile_overrides(cpu_row) == {}
    assert "35 epochs, cpu profile, on cpu" in report.run_group_label(cpu_row)


def test_the_book_shows_the_study_profiles_only_and_says_so(tmp_path):
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=0)  # smoke: a user trying a notebook
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=1, profile="cpu")
    assert report.STUDY_PROFILES == ("cpu", "pretrained")
    runs = report.load_runs("plugin_position", root=tmp_path)
    assert runs["profile"].tolist() == ["cpu"] and runs["seed"].tolist() == [1]
    assert len(report.load_runs("plugin_position", root=tmp_path, profiles=None)) == 2
    assert report.load_runs("plugin_position", root=tmp_path, profiles=("paper",)).empty
    note = repr(report.profiles_shown(root=tmp_path))
    assert "profiles cpu, pretrained" in note and "1 of the smoke profile" in note
    assert "left out" not in repr(report.profiles_shown(["nothing"], root=tmp_path))


def test_attention_arrays_written_once_per_content_by_a_temporary_of_this_process(
    tmp_path, monkeypatch
):
    images = np.zeros((2, 8, 4, 3), np.uint8)
    maps = {4: np.ones((2, 2, 1), np.float32)}
    path = report.save_attention_arrays(tmp_path / "a.npz", images, maps, meta={"run_id": "a"})
    before = path.stat().st_mtime_ns
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    report.save_attention_arrays(path, images, maps, meta={"run_id": "a"})
    assert replaced == [] and path.stat().st_mtime_ns == before  # same content: left as it is
    report.save_attention_arrays(path, images, {4: np.zeros((2, 2, 1))}, meta={"run_id": "a"})
    assert replaced == [f".a.npz.{os.getpid()}.tmp"] and not (tmp_path / replaced[0]).exists()
    assert report.load_attention_arrays(path).spatial[4].max() == 0
