"""rga.study.report: the book's readers and joins, on small files written here (no book build)."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from result_fakes import write_fake_run

import rga.study.report as report
from rga.engine.config import PROFILES, make_config, run_id
from rga.model import ReIDNet
from rga.study.pages.architecture import (
    architecture_table,
    check_against_paper,
    complexity_table,
    load_paper_table1,
)
from rga.study.pages.probe import probe_view, probe_widget
from rga.study.report.plots import plot_curves, plot_metric_by, plot_table2_gains

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
    return write_fake_run(
        root, config, metrics=metrics, curve=curve, train_time_s=2.0,
        data={"fingerprint": FINGERPRINT}, hardware={"device_name": "test-cpu"}, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "positions", "key", "setting"),
    [
        (None, (), "", "Baseline"),
        ("none", "", "", "Baseline"),
        ("rga-sc", (3,), "3", "RGA-SC conv4_x"),
        ("rga-sc", [4, 1, 3, 2], "1,2,3,4", "RGA-SC conv2-5_x"),
        ("rga-sc", "(2, 3)", "2,3", "RGA-SC conv3-4_x"),
    ],
)
def test_positions_name_the_setting(kind, positions, key, setting):
    assert report.positions_key(positions) == key
    assert report.setting_label(kind, positions) == setting


def test_paper_numbers_hold_the_papers_tables_and_their_sources():
    paper = report.load_paper_numbers()
    assert (paper["source"].str.len() > 10).all()
    sizes = {"supp-table2": 6, "table1": 10, "table2": 13, "table4": 4}
    for table, settings in sizes.items():
        rows = paper[paper["table"] == table]
        assert len(rows) == settings * 2 * 2, table  # settings x datasets x (R1, mAP)
        assert rows["source"].str.contains("Table").all()
    row = paper[(paper["table"] == "supp-table2") & (paper["setting"] == "ResBlock conv4_x")]
    row = row[row["dataset"] == "cuhk03-labeled"]
    assert dict(zip(row["metric"], row["value"], strict=True)) == {"R1": 78.6, "mAP": 74.7}
    assert set(row["label"]) == {"RGA-SC conv4_x"}  # the glossary's name of the paper's row
    final = paper[(paper["table"] == "final") & (paper["dataset"] == "market1501")]
    assert sorted(final["value"]) == [88.4, 96.1]
    # The main paper's RGA-SC is one row of Tables 1, 2 and 4 and the final target.
    rga_sc = report.setting_key("rga-sc", "1,2,3,4")
    for table in ("table1", "table2", "table4", "final"):
        rows = paper[(paper["table"] == table) & (paper["dataset"] == "cuhk03-labeled")]
        rows = rows[[k == rga_sc for k in rows["setting_key"]]]
        assert dict(zip(rows["metric"], rows["value"], strict=True)) == {"R1": 81.1, "mAP": 77.4}
    embeddings = paper[paper["table"] == "table4"]["label"].unique().tolist()
    assert embeddings == [
        "Baseline",
        "RGA-SC conv2-5_x, w/o embedding",
        "RGA-SC conv2-5_x, symmetric embedding",
        "RGA-SC conv2-5_x",
    ]


def test_paper_vs_ours_puts_seed_spread_and_interval_beside_the_paper(tmp_path):
    for seed, m_ap in ((0, 40.0), (1, 42.0)):
        _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=seed, m_ap=m_ap)
    _write_run(tmp_path, kind=None, seed=0, m_ap=30.0)
    runs = report.load_runs("plugin_position", root=tmp_path, profiles=None)
    assert sorted(runs["setting"]) == ["Baseline", "RGA-SC conv4_x", "RGA-SC conv4_x"]
    group = runs["group"].iloc[0]
    assert group.startswith("ours: SynthReID (smoke preset)") and "2 epochs" in group
    table = report.paper_vs_ours_table(runs, report.load_paper_numbers())
    # 40 and 42: mean 41, sd 1.41; t(0.975, 1) = 12.71 and sd / sqrt(2) = 1, so 41 ± 12.7
    assert table.loc["RGA-SC conv4_x", ("ours", "mAP")] == "41.0 ± 1.4\n[28.3, 53.7]"
    assert table.loc["RGA-SC conv4_x", ("ours", "seeds")] == "2"
    assert table.loc["RGA-SC conv4_x", ("CUHK03 (L), paper", "mAP")] == "74.7"
    assert table.loc["Baseline", ("ours", "mAP")] == "30.0"  # one seed: no interval
    assert table.loc["RGA-SC conv2_x", ("ours", "mAP")] == "not run"
    assert list(table.index) == [
        "Baseline",
        "RGA-SC conv2_x",
        "RGA-SC conv3_x",
        "RGA-SC conv4_x",
        "RGA-SC conv5_x",
        "RGA-SC conv2-5_x",
    ]
    long = report.settings_long(runs, report.load_paper_numbers())
    ours = long[(long["source"] == group) & (long["metric"] == "mAP")]
    assert sorted(ours.loc[ours["setting"] == "RGA-SC conv4_x", "gain"]) == [10.0, 12.0]
    assert isinstance(plot_table2_gains(long), Figure)


def test_a_table_without_our_runs_shows_the_paper_alone(tmp_path):
    paper = report.load_paper_numbers()
    none = report.load_runs("embedding_functions", root=tmp_path)
    table = report.paper_vs_ours_table(none, paper, table="table4")
    assert [c[0] for c in table.columns] == ["CUHK03 (L), paper"] * 2 + ["Market-1501, paper"] * 2
    assert table.loc["RGA-SC conv2-5_x, symmetric embedding", ("Market-1501, paper", "R1")] == (
        "95.6"
    )
    ordering = report.ordering_table(none, paper, "table4")
    # every setting with a module is after conv2-5_x: said once, not in every cell
    assert ordering.attrs["position"] == "conv2-5_x"
    assert ordering.loc[1, "paper, CUHK03 (L)"] == "RGA-SC (77.4)"
    assert ordering.loc[2, "paper, Market-1501"] == "RGA-SC, symmetric embedding (87.4)"
    assert ordering.loc[4, "paper, Market-1501"] == "Baseline (83.7)"
    assert report.ordering_agreement(none, paper, "table4").empty
    with pytest.raises(KeyError, match="table9"):
        report.paper_vs_ours_table(none, paper, table="table9")


def test_ordering_against_ordering_counts_pairs(tmp_path):
    # ours: baseline 30 > RGA-SC 20 > RGA-S 10; the paper's Table 1 (CUHK03 (L) mAP): RGA-SC
    # 77.4 > RGA-S 74.7 > baseline 69.0. Of the 3 pairs, RGA-SC/RGA-S is in the paper's order,
    # the two pairs with the baseline are reversed: tau = (1 - 2) / 3.
    for kind, m_ap in ((None, 30.0), ("rga-sc", 20.0), ("rga-s", 10.0)):
        _write_run(tmp_path, "attention_variants", kind=kind, m_ap=m_ap)
    runs = report.load_runs("attention_variants", root=tmp_path, profiles=None)
    paper = report.load_paper_numbers()
    ordering = report.ordering_table(runs, paper, "table1")
    assert ordering["ours"].tolist() == ["Baseline (30.0)", "RGA-SC (20.0)", "RGA-S (10.0)"]
    assert ordering["paper, CUHK03 (L)"].tolist()[0] == "RGA-SC (77.4)"
    agreement = report.ordering_agreement(runs, paper, "table1").set_index("against")
    row = agreement.loc["paper, CUHK03 (L)"]
    assert (row["pairs"], row["same order"], row["opposite order"], row["tied"]) == (3, 1, 2, 0)
    assert row["Kendall's tau"] == "-0.33"
    table = report.paper_vs_ours_table(runs, paper, table="table1")
    assert table.loc["RGA-S w/o Rel. conv2-5_x", ("ours", "mAP")] == "not run"
    designs = report.paper_vs_ours_table(runs, paper, table="table2")
    assert designs.loc["FC-S conv2-5_x", ("ours", "R1")] == "not built"


def test_runs_overview_variants_and_precision(tmp_path):
    scores = {str(s): {"mass_on_person": 0.5, "auroc": 0.7, "chance": 0.3} for s in (1, 2, 3, 4)}
    for seed in (0, 1):
        _write_run(tmp_path, "attention_variants", kind="rga-sc", seed=seed, precision=scores)
        _write_run(tmp_path, "attention_variants", kind="rga-c", seed=seed)
    runs = report.load_runs(root=tmp_path, profiles=None)
    overview = report.runs_overview(runs)
    assert overview[["experiment", "runs", "seeds", "settings"]].values.tolist() == [
        ["attention_variants", "4", "0, 1", "2"]
    ]
    assert overview.loc[0, "wall time (h:mm)"] == "0:00"  # 4 runs of 3 s
    variants = report.variants_table(runs)
    assert list(variants["setting"]) == ["RGA-C conv2-5_x", "RGA-SC conv2-5_x"]
    auroc = "AUROC, after conv5_x"
    assert variants.loc[1, auroc] == "0.700 ± 0.000" and variants.loc[0, auroc] == "–"
    assert variants.loc[1, "mAP (%)"] == "40.0 ± 0.0"
    precision = report.attention_precision_table(runs)
    assert len(precision) == 2 * 4 and set(precision["stage"]) == {1, 2, 3, 4}
    summary = report.precision_summary(precision)
    assert summary.shape[0] == 1 and summary.iloc[0]["after conv2_x"].startswith("0.700 ± 0.000")
    assert len(report.curves_long(runs)) == 4 * 2
    assert isinstance(plot_metric_by(runs, x="setting"), Figure)


def test_a_run_two_experiments_share_counts_once(tmp_path):
    """The same run id in two experiments' folders (a model two notebooks share) is one run
    wherever runs are pooled: precision, overview totals, curves, claims."""
    scores = {"4": {"mass_on_person": 0.3, "auroc": 0.6, "chance": 0.3}}
    other = {"4": {"mass_on_person": 0.2, "auroc": 0.4, "chance": 0.3}}
    for experiment in ("plugin_position", "attention_variants"):  # shared: seeds 0 and 1
        _write_run(tmp_path, experiment, kind="rga-sc", seed=0, precision=scores)
        _write_run(tmp_path, experiment, kind="rga-sc", seed=1, precision=other)
    _write_run(tmp_path, "plugin_position", kind="rga-sc", positions=(4,), seed=0, precision=other)
    runs = report.load_runs(root=tmp_path, profiles=None)
    assert len(runs) == 5 and runs["run_id"].nunique() == 3
    shared = runs[runs["experiment"] == "attention_variants"]["shared_with"].tolist()
    assert shared == [["plugin_position"], ["plugin_position"]]
    precision = report.attention_precision_table(runs)
    assert len(precision) == 3  # one row per (run id, stage)
    summary = report.precision_summary(precision).droplevel("runs of")
    # AUROC of RGA-SC conv2-5_x over seeds 0 and 1: 0.6 and 0.4, sd 0.141 (not that of
    # 0.6, 0.6, 0.4, 0.4, which is 0.115); RGA-SC conv5_x is a row of its own.
    assert summary.loc["RGA-SC conv2-5_x", "after conv5_x"].startswith("0.500 ± 0.141\n")
    assert summary.loc["RGA-SC conv2-5_x", "seeds"] == "2"
    assert summary.loc["RGA-SC conv5_x", "after conv5_x"] == "0.400"
    assert summary.loc["RGA-SC conv5_x", "after conv2_x"] == "–"
    overview = report.runs_overview(runs).set_index("experiment")
    assert overview.loc["attention_variants", "shared"] == "2 also in plugin_position"
    assert overview.loc["all experiments, each run once", "runs"] == "3"
    hardware = report.hardware_and_time(runs).set_index("experiment")
    assert hardware.loc["all experiments, each run once", "runs"] == "3"
    assert report.curves_long(runs)["run_id"].nunique() == 3
    assert len(report.curves_long(runs)) == 3 * 2
    variants = report.variants_table(runs).set_index("setting")
    assert variants.loc["RGA-SC conv2-5_x", "seeds"] == "2"


def test_missing_inputs_give_an_empty_frame_and_a_notice(tmp_path):
    assert report.load_runs("plugin_position", root=tmp_path).empty
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


def test_a_comparison_figure_takes_every_model_from_one_profile(tmp_path):
    def save(kind: str, profile: str, experiment: str = "attention_variants") -> None:
        path = report.attention_path(experiment, f"{kind}-{profile}", root=tmp_path)
        meta = {"kind": kind, "profile": profile, "seed": 0}
        report.save_attention_arrays(
            path, np.zeros((1, 8, 4, 3)), {4: np.ones((1, 2, 1))}, meta=meta
        )

    kinds = ("cbam", "rga-sc")
    assert report.select_attention_set(kinds, root=tmp_path) == {"cbam": None, "rga-sc": None}
    for kind in kinds:
        save(kind, "cpu")
    save("rga-sc", "pretrained")  # the current regime, one model so far: the older one is whole
    chosen = report.select_attention_set(kinds, root=tmp_path)
    assert {k: a.meta["profile"] for k, a in chosen.items()} == {"cbam": "cpu", "rga-sc": "cpu"}
    save("cbam", "pretrained", experiment="attention_designs")
    chosen = report.select_attention_set(kinds, root=tmp_path)
    assert {a.meta["profile"] for a in chosen.values()} == {"pretrained"}


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
    assert changed == plain.replace("smoke profile", "smoke profile with base_lr=1e-3")
    assert threads == plain
    table = report.paper_vs_ours_table(runs, report.load_paper_numbers())
    names = {"ours (A)", "ours (B)"}  # two groups of runs: two column groups, never pooled
    assert {c[0] for c in table.columns if c[0].startswith("ours")} == names
    assert sorted(table.loc["RGA-SC conv4_x", [(n, "seeds") for n in names]]) == ["1", "2"]
    # An epoch count that rescales the official schedule is shown as epochs, not as overrides.
    cpu_row = {**PROFILES["cpu"].to_dict(), **make_config("cpu", epochs=35).to_dict()}
    assert report.profile_overrides(cpu_row) == {}
    assert "35 epochs, cpu profile, on cpu" in report.run_group_label(cpu_row)


def test_the_book_shows_the_study_profiles_only_and_says_so(tmp_path):
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=0)  # smoke: a user trying a notebook
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=1, profile="cpu")
    assert report.STUDY_PROFILES == ("cpu", "pretrained-ones", "pretrained")
    runs = report.load_runs("plugin_position", root=tmp_path)
    assert runs["profile"].tolist() == ["cpu"] and runs["seed"].tolist() == [1]
    assert len(report.load_runs("plugin_position", root=tmp_path, profiles=None)) == 2
    assert report.load_runs("plugin_position", root=tmp_path, profiles=("paper",)).empty
    note = repr(report.profiles_shown(root=tmp_path))
    assert "profiles cpu, pretrained-ones, pretrained" in note and "1 of the smoke profile" in note
    assert "left out" not in repr(report.profiles_shown(["nothing"], root=tmp_path))


def test_the_two_regime_studies_are_told_apart_by_the_init_and_share_what_it_cannot_change(
    tmp_path,
):
    """Both regime studies were trained as profile `pretrained`: the gamma = 1 RGA runs are the
    `pretrained-ones` study's, the official-init ones the `pretrained` study's, and the baseline
    (one run, whose model the init cannot change) is in both, with each study's init."""
    same = {"kind": "rga-sc", "positions": (3,), "seed": 0}
    _write_run(tmp_path, profile="pretrained", **same, m_ap=41.0)  # official init
    _write_run(tmp_path, profile="pretrained", attention_bn_init="ones", **same, m_ap=39.0)
    _write_run(tmp_path, profile="pretrained", kind=None, positions=(), seed=0, m_ap=40.0)
    runs = report.load_runs("plugin_position", root=tmp_path)
    by_study = {p: g.set_index("kind")["mAP"].to_dict() for p, g in runs.groupby("profile")}
    assert by_study == {
        "pretrained": {"rga-sc": 41.0, "none": 40.0},
        "pretrained-ones": {"rga-sc": 39.0, "none": 40.0},
    }
    assert runs.groupby("profile")["group"].nunique().to_dict() == {
        "pretrained": 1,
        "pretrained-ones": 1,
    }  # the shared baseline is grouped with each study's own runs
    assert len(report.unique_runs(runs)) == 4  # the baseline once per study
    assert report.runs_overview(runs)["runs"].tolist() == ["2", "2"]  # a group per study
    assert report.run_profiles("pretrained", None, "ones") == {"pretrained", "pretrained-ones"}
    assert report.run_profiles("pretrained", "rga-s", "ones") == {"pretrained-ones"}
    assert report.run_profiles("cpu", "rga-s", "ones") == {"cpu"}


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


def _line_colours(fig: Figure) -> dict[str, str]:
    """{legend label: colour} of the first panel's lines."""
    from matplotlib.colors import to_hex

    return {line.get_label(): to_hex(line.get_color()) for line in fig.axes[0].get_lines()}


def test_training_curves_draw_a_metric_where_a_run_recorded_one(tmp_path):
    _write_run(tmp_path, kind="rga-sc", positions=(3,))
    _write_run(tmp_path, kind=None)
    curves = report.curves_long(report.load_runs("plugin_position", root=tmp_path, profiles=None))
    plain = plot_curves(curves)
    titles = [ax.get_title() for ax in plain.axes if ax.axison]
    assert titles == ["total loss", "cross-entropy", "triplet loss"]  # no mAP: no panel
    # the same curves with mAP recorded at the last epoch only
    last = curves["epoch"] == 1
    curves.loc[last & (curves["setting"] == "RGA-SC conv4_x"), "mAP"] = 41.0
    curves.loc[last & (curves["setting"] == "Baseline"), "mAP"] = 30.0
    with_map = plot_curves(curves)
    panel = next(ax for ax in with_map.axes if ax.get_title() == "mAP (%)")
    points = {line.get_label(): line.get_xydata().tolist() for line in panel.get_lines()}
    assert points == {"Baseline": [[2.0, 30.0]], "RGA-SC conv4_x": [[2.0, 41.0]]}
    # one colour per setting, the same in every figure
    colours = _line_colours(with_map)
    assert colours["RGA-SC conv4_x"] == report.setting_colour("rga-sc", (3,))
    assert colours["Baseline"] == report.setting_colour(None, ())
    alone = plot_curves(curves[curves["setting"] == "RGA-SC conv4_x"])
    assert _line_colours(alone)["RGA-SC conv4_x"] == colours["RGA-SC conv4_x"]
    # curves of two studies are never averaged into one line
    with pytest.raises(ValueError, match="^curves: runs of 2 groups; pass one study's runs"):
        plot_curves(pd.concat([curves, curves.assign(group="another study")]))


def test_loss_panels_leave_out_the_first_epochs_spike():
    rows = [
        {"epoch": e, "loss": v, "triplet": v, "setting": "Baseline", "seed": 0,
         "setting_key": report.setting_key(None, ())}
        for e, v in enumerate([10.0] + [0.5 - 0.001 * e for e in range(1, 40)])
    ]  # fmt: skip
    fig = plot_curves(pd.DataFrame(rows), ys=("triplet",))
    low, high = fig.axes[0].get_ylim()
    assert high < 1.0 and low > 0.4  # the differences near 0.46-0.5 are visible


def test_an_experiment_page_names_its_profiles_and_what_it_left_out(tmp_path):
    from rga.study.report.runs import experiment_status

    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=0)  # smoke: not the study's
    runs = report.load_runs("plugin_position", root=tmp_path)
    pending = experiment_status(runs, "plugin_position", root=tmp_path).data
    assert pending.startswith("**Our runs of this experiment are pending.**")
    assert (
        "study's profiles (cpu, pretrained-ones, pretrained)" in pending
        and "1 of the smoke profile" in pending
    )
    _write_run(tmp_path, kind="rga-sc", positions=(3,), seed=1, profile="cpu")
    runs = report.load_runs("plugin_position", root=tmp_path)
    shown = experiment_status(runs, "plugin_position", root=tmp_path).data
    assert "1 results files" in shown and "seeds 1, of the study's profiles" in shown
    assert "left out: 1 of the smoke profile" in shown


def test_an_experiment_page_opens_with_its_claims_grouped_by_verdict():
    import pandas as pd

    from rga.study.pages.experiment import ExperimentPage

    claims = pd.DataFrame(
        {
            "profile": ["pretrained-ones"] * 4 + ["pretrained"],
            "metric": ["mAP", "R1", "mAP", "mAP", "mAP"],
            "claim": ["A beats B", "A beats B", "C beats D", "E beats F", "A beats B"],
            "verdict": ["reversed", "holds", "inconclusive", "inconclusive", "pending"],
        }
    )
    page = ExperimentPage("plugin_position", pd.DataFrame(), pd.DataFrame(), claims)
    text = page.answer().data
    assert "this table's 3 claims" in text  # mAP rows of the shown study (the other is pending)
    assert "*reversed*: “A beats B”. *inconclusive*: “C beats D”; “E beats F”." in text
    assert "holds" not in text.split("follows.")[1].split("Each verdict")[0]
    one = claims[~claims["claim"].isin(["C beats D", "E beats F"])]
    text = ExperimentPage("plugin_position", pd.DataFrame(), pd.DataFrame(), one).answer().data
    assert "this table's one claim comes out as follows" in text


def test_a_table_that_trains_no_baseline_shows_the_studys_baseline_beside_the_paper(tmp_path):
    from rga.study.pages.experiment import ExperimentPage

    paper = report.load_paper_numbers()
    for seed, m_ap in ((0, 60.0), (1, 62.0)):
        _write_run(tmp_path, kind=None, seed=seed, m_ap=m_ap, profile="pretrained-ones")
    _write_run(tmp_path, experiment="embedding_functions", kind="rga-sc", positions=(1, 2, 3, 4),
               seed=0, m_ap=55.0, profile="pretrained-ones")  # fmt: skip
    claims = pd.DataFrame(columns=["profile", "metric", "claim", "verdict"])
    runs = report.load_runs("embedding_functions", root=tmp_path)
    page = ExperimentPage("embedding_functions", runs, paper, claims, root=tmp_path)
    assert sorted(page.study_baseline()["seed"]) == [0, 1]
    table = page.comparison()
    assert table.data.loc["Baseline", ("ours", "mAP")] == "61.0 ± 1.4\n[48.3, 73.7]"
    assert table.data.loc["RGA-SC conv2-5_x", ("ours", "mAP")] == "55.0"
    assert "the study's baseline, the same runs as on the page" in table.caption
    # the table that trains the baseline shows its own runs, and says nothing more
    own = ExperimentPage("plugin_position", report.load_runs("plugin_position", root=tmp_path),
                         paper, claims, root=tmp_path)  # fmt: skip
    assert own.study_baseline().empty and "study's baseline" not in own.comparison().caption
    # no baseline runs yet: the row reads "not run", as before
    bare = ExperimentPage("embedding_functions", runs, paper, claims, root=tmp_path / "none")
    assert bare.comparison().data.loc["Baseline", ("ours", "mAP")] == "not run"
