"""The diagnostics views of the From-scratch page on hand-made curves, and on the committed
regime runs when the repository has them."""

import json
import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from rga.study.pages.from_scratch import diagnostics as dv
from rga.study.report.labels import setting_key

GROUP = "ours: test"
GATES = {1: (0.5, 0.4), 2: (0.6, 0.5), 3: (0.5, 0.5), 4: (0.8, 0.25)}  # stage: spatial, channel


def entry(epoch: int, ce: float, z: float, gates: bool, stem: float, head: float) -> dict:
    """One epoch of a curve: losses, ‖z‖, the gate statistics (sd 0.1 spatial, 0.01 channel)
    and the gradient norms of the stem, conv2_x and the head."""
    e = {"epoch": epoch, "lr": 1e-3, "loss": ce + 0.3, "ce": ce, "triplet": 0.3, "z_norm": z,
         "images_per_s": 100.0, "seconds": 1.0, "grad_norm.stem": stem,
         "grad_norm.layer1": stem / 2, "grad_norm.head": head}  # fmt: skip
    if gates:
        for stage, (spatial, channel) in GATES.items():
            e |= {
                f"gate.att{stage}.spatial_mean": spatial + epoch / 100,
                f"gate.att{stage}.spatial_sd": 0.1,
                f"gate.att{stage}.channel_mean": channel,
                f"gate.att{stage}.channel_sd": 0.01,
                f"grad_norm.att{stage}": 1.0,
            }
    return e


def run(kind, seed: int, ce_end: float, z: float, stem: float, path=None, epochs=10) -> dict:
    """A run whose CE falls linearly from 5 to ``ce_end``, ‖z‖ is ``z`` + epoch, the stem's
    gradient norm ``stem`` over the first 5 epochs and ``stem`` / 10 after, the head's 2."""
    key = setting_key(kind, "1,2,3,4" if kind else "")
    curve = [
        entry(
            i,
            5 + (ce_end - 5) * i / (epochs - 1),
            z + i,
            kind is not None,
            stem if i < 5 else stem / 10,
            2.0,
        )
        for i in range(epochs)
    ]
    return {"run_id": f"{kind}-{seed}", "group": GROUP, "setting": str(kind), "seed": seed,
            "setting_key": key, "kind": key[0], "curve": curve, "path": path}  # fmt: skip


@pytest.fixture
def results_file(tmp_path):
    """A results file that records 200 training identities."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"dataset_statistics": {"train": {"ids": 200, "images": 1}}}))
    return str(path)


@pytest.fixture
def runs(results_file):
    return pd.DataFrame(
        [
            run(None, 0, 2.0, 10.0, 4.0, results_file),
            run(None, 1, 3.0, 12.0, 4.0, results_file),
            run("rga-sc", 0, 5.0, 1.0, 0.4, results_file),
            run("rga-sc", 1, 5.2, 1.0, 0.4, results_file),
        ]
    )


def test_long_frame_splits_keys_into_quantity_and_part(runs):
    long = dv.diagnostics_long(runs)
    assert set(long["epoch"]) == set(range(1, 11))  # 1-based
    assert {"seconds", "images_per_s", "epoch"}.isdisjoint(long["quantity"])
    spatial = long[(long["quantity"] == "gate.spatial_mean") & (long["part"] == "att2")]
    assert len(spatial) == 2 * 10 and spatial["setting"].eq("rga-sc").all()
    first = spatial[(spatial["seed"] == 0) & (spatial["epoch"] == 1)]["value"]
    assert first.tolist() == [0.6]
    grads = long[long["quantity"] == "grad_norm"]
    assert set(grads["part"]) == {"stem", "layer1", "head", "att1", "att2", "att3", "att4"}
    assert long["runs of"].eq(GROUP).all()


def test_summary_reads_the_first_and_last_epochs_and_means_over_seeds(runs):
    s = dv.diagnostics_summary(runs).set_index("setting")
    assert s.loc["None", "seeds"] == 2 and s.loc["None", "epochs"] == 10
    assert s.loc["None", "final CE"] == pytest.approx(2.5)  # mean of 2.0 and 3.0
    assert s.loc["None", "ln K"] == pytest.approx(math.log(200))
    assert s.loc["None", "final CE / ln K"] == pytest.approx(2.5 / math.log(200))
    assert s.loc["None", "z first"] == pytest.approx(11.0)  # epoch 1: z + 0
    assert s.loc["None", "z last"] == pytest.approx(20.0)  # epoch 10: z + 9
    rga = s.loc["rga-sc"]
    assert rga["att2.spatial mean first"] == pytest.approx(0.6)
    assert rga["att2.spatial mean last"] == pytest.approx(0.69)
    assert rga["att4.channel sd last"] == pytest.approx(0.01)
    # first 5 epochs: stem 0.4, head 2; last 5: stem 0.04
    assert rga["stem/head early"] == pytest.approx(0.2)
    assert rga["stem/head late"] == pytest.approx(0.02)
    assert rga["layer1/head early"] == pytest.approx(0.1)
    assert rga["grad stem early"] == pytest.approx(0.4)
    assert list(s.index) == ["None", "rga-sc"]  # the glossary's order: the baseline first


def test_gate_products_multiply_every_gate_mean(runs):
    s = dv.diagnostics_summary(runs).set_index("setting")
    product = math.prod(g for pair in GATES.values() for g in pair)
    assert s.loc["rga-sc", "gate product first"] == pytest.approx(product)
    assert s.loc["rga-sc", "gates first"] == 8
    assert s.loc["rga-sc", "att4 product first"] == pytest.approx(0.8 * 0.25)
    last = math.prod((sp + 0.09) * ch for sp, ch in GATES.values())
    assert s.loc["rga-sc", "gate product last"] == pytest.approx(last)
    assert pd.isna(s.loc["None", "gate product first"])  # the baseline has no gates


def test_missing_quantities_are_skipped():
    old = run("cbam", 0, 3.0, 1.0, 1.0)
    old["curve"] = [{"epoch": e["epoch"], "ce": e["ce"], "loss": e["loss"]} for e in old["curve"]]
    runs = pd.DataFrame([old, {**run(None, 0, 2.0, 5.0, 1.0), "curve": None}])
    s = dv.diagnostics_summary(runs)
    assert len(s) == 1 and "z first" not in s and "gate product first" not in s
    assert pd.isna(s["ln K"].iloc[0])  # no results file: K unknown
    table = dv.summary_table(s)
    assert list(table.columns) == ["setting", "seeds", "final CE / ln K"]
    assert table["final CE / ln K"].iloc[0] == "3.00"
    assert dv.gates_table(s).empty
    text = dv.findings(runs)
    assert text.startswith("* **Fit.** Final training cross-entropy: cbam 3.00.")
    assert "‖z‖" not in text and "gate" not in text
    assert isinstance(dv.plot_diagnostics(runs), Figure)
    assert dv.findings(pd.DataFrame()) == "There are no runs with a training curve to read."
    assert dv.diagnostics_summary(pd.DataFrame()).empty and dv.diagnostics_long(runs.iloc[1:]).empty


def test_findings_state_the_computed_numbers(runs):
    text = dv.findings(runs)
    assert "None 2.50 (47% of ln K), rga-sc 5.10 (96% of ln K)" in text
    assert "K = 200 training identities scores ln K = 5.30" in text
    assert "after epoch 1: None 11, rga-sc 1;" in text
    assert "as a share of the baseline's: rga-sc 0.0909" in text
    assert (
        f"(8 gates) is, after epoch 1, rga-sc {dv._num(math.prod(sum(GATES.values(), ())))}" in text
    )
    assert "multiplies by rga-sc 0.2 after epoch 1" in text
    assert "spatial 0.1 → 0.1, channel 0.01 → 0.01" in text
    assert "the stem's gradient norm is None 2, rga-sc 0.2 times the head's" in text
    assert "rga-sc 0.1 times the baseline's (10 times smaller)" in text


def test_tables_are_text_and_the_figure_has_a_panel_per_module(runs):
    s = dv.diagnostics_summary(runs)
    table = dv.summary_table(s)
    assert table.loc[1, "‖z‖, epoch 1"] == "1" and table.loc[0, "gate product, epoch 1"] == "–"
    assert table.loc[1, "stem / head gradient, epochs 1-5"] == "0.2"
    assert "runs of" not in table  # one group
    gates = dv.gates_table(s)
    assert len(gates) == 4 and gates.loc[3, "module"] == "module after conv5_x"
    assert gates.loc[3, "spatial, epoch 1"] == "0.800 ± 0.100"
    assert gates.loc[3, "product, epoch 1"] == "0.200"
    assert table.loc[1, "final CE / ln K"] == "5.10 / 5.30 (96%)"
    fig = dv.plot_diagnostics(runs)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert "training cross-entropy" in titles and "spatial gate after conv5_x" in titles
    assert sum(t.startswith("channel gate") for t in titles) == 4


def test_with_schedule_keeps_the_runs_of_one_schedule():
    runs = pd.DataFrame(
        {
            "epochs": [70, 70, 100],
            "warmup_epochs": [2, 2, 3],
            "lr_steps": [[9, 14], [45, 55], [64]],
        }
    )
    kept = dv.with_schedule(runs, {"epochs": 70, "warmup_epochs": 2, "lr_steps": (9, 14)})
    assert len(kept) == 1 and kept["lr_steps"].iloc[0] == [9, 14]
    assert dv.with_schedule(pd.DataFrame(), {"epochs": 1, "warmup_epochs": 0, "lr_steps": ()}).empty


def test_committed_regime_runs():
    from rga.engine.config import PROFILES
    from rga.study.report.runs import load_runs

    runs = dv.with_schedule(load_runs("regime"), PROFILES["cpu"])
    if runs.empty or not any("z_norm" in c[-1] for c in runs["curve"]):
        pytest.skip("no committed regime runs with diagnostics on the cpu profile's schedule")
    s = dv.diagnostics_summary(runs)
    assert (s["K"] > 1).all() and s["ln K"].tolist() == pytest.approx(list(s["K"].map(math.log)))
    rga = s[[k[0] == "rga-sc" for k in s["setting_key"]]].iloc[0]
    assert rga["gates first"] == 8 and 0 < rga["gate product first"] < 1
    assert "Gates multiplied" in dv.findings(runs)
    assert len(dv.gates_table(s)) == 4
