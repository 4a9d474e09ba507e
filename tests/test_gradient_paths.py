"""rga.analysis.gradient_paths on small networks, the study's record on smoke data, and the
From-scratch page's reading of a hand-made record."""

import json

import pytest
import torch

from rga.analysis.gradient_paths import gradient_paths
from rga.model import ReIDNet
from rga.study import gradient_paths as study_paths
from rga.study.pages.from_scratch.gradient_paths import (
    gradient_paths_findings,
    gradient_paths_long,
    gradient_paths_table,
)


def net(kind):
    torch.manual_seed(0)
    positions = (1, 2, 3, 4) if kind else ()
    return ReIDNet(4, arch="resnet18", kind=kind, positions=positions, height=64, width=32)


def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 64, 32, generator=g), torch.arange(4).repeat_interleave(2)


def test_the_model_is_left_as_it_was():
    model = net("rga-sc").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gradient_paths(model, *batch())
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kind", ["rga-sc", "cbam"])
def test_blocking_the_gates_leaves_the_direct_path_below_one(kind):
    paths = gradient_paths(net(kind), *batch())
    assert sorted(paths["modules"]) == [1, 2, 3, 4]
    for module in paths["modules"].values():
        # out = gate * x with gates in (0, 1): the direct path alone passes down less than it gets
        assert 0 < module["gain_without_gates"] < 1
        assert module["gain"] != module["gain_without_gates"]  # the gate path counts
    assert paths["stem_over_head"] > 0


def test_the_logit_normalisation_factor_is_gamma_over_the_batch_spread():
    model = net("rga-sc")
    first = gradient_paths(model, *batch())["modules"][4]["logit_bn_factor"]
    assert set(first) == {"W_spatial", "W_channel"}
    with torch.no_grad():  # the channel gate comes last: its input does not change
        model.attention["att4"].W_channel[-1].weight.mul_(-2.0)
    second = gradient_paths(model, *batch())["modules"][4]["logit_bn_factor"]
    assert second["W_channel"] == pytest.approx(2 * first["W_channel"], rel=1e-5)
    assert second["W_spatial"] == pytest.approx(first["W_spatial"], rel=1e-5)
    assert gradient_paths(net("cbam"), *batch())["modules"][4]["logit_bn_factor"] == {}


def test_a_baseline_has_no_modules():
    paths = gradient_paths(net(None), *batch())
    assert paths["modules"] == {} and paths["stem_over_head"] > 0


def test_the_record_is_written_whole_with_its_provenance(tmp_path):
    record = study_paths.measure(seeds=(0,), data_root=str(tmp_path / "data"), profiles=("smoke",))
    assert [r["kind"] for r in record["rows"]] == [None, "rga-sc", "cbam"]
    assert record["rows"][1]["modules"].keys() == {"1", "2", "3", "4"}
    assert record["data"]["smoke"] and record["git_commit"] and "--seeds 0" in record["command"]
    path = study_paths.write(record, tmp_path / "out")
    assert json.loads(path.read_text()) == record
    assert [p.name for p in path.parent.iterdir()] == ["gradient_paths.json"]  # no temporary


def test_bad_seeds_are_named_before_any_work(capsys):
    with pytest.raises(SystemExit):
        study_paths.main(["--seeds", "0,x"])
    assert "seeds='0,x'" in capsys.readouterr().err


def row(trunk, kind, stem, gain4=1.0, direct4=0.3, bn=3.0, seed=0):
    modules = {}
    if kind:
        modules = {
            str(s): {
                "gain": gain4 if s == 4 else 0.5,
                "gain_without_gates": direct4 if s == 4 else 0.3,
                "logit_bn_factor": {"W_spatial": bn} if kind == "rga-sc" else {},
            }
            for s in range(1, 5)
        }
    positions = [1, 2, 3, 4] if kind else []
    return {"trunk": trunk, "kind": kind, "positions": positions, "seed": seed,
            "stem_over_head": stem, "modules": modules}  # fmt: skip


def record(rga_gain_pretrained=8.0):
    rows = []
    for trunk, scale in (("random", 30.0), ("pretrained", 1.0)):
        for seed in (0, 1):
            rows += [
                row(trunk, None, scale, seed=seed),
                row(
                    trunk,
                    "rga-sc",
                    15 * scale,
                    5.0 if trunk == "random" else rga_gain_pretrained,
                    seed=seed,
                ),  # fmt: skip
                row(trunk, "cbam", scale, 0.5, 0.35, seed=seed),
            ]
    return {"rows": rows}


def test_the_table_reads_each_module_with_and_without_its_gate_path():
    long = gradient_paths_long(record())
    assert len(long) == 2 * 2 * (1 + 4 + 4)  # trunks x seeds x (baseline row + modules)
    table = gradient_paths_table(record()).set_index(["trunk", "model"])
    rga = table.loc[("random", "RGA-SC conv2-5_x")]
    assert rga["seeds"] == "2" and rga["stem / head gradient"] == "450"
    assert rga["module after conv5_x"] == "5 (0.3)" and rga["logit BN factor"] == "3"
    assert table.loc[("pretrained", "Baseline"), "module after conv2_x"] == "–"


def test_the_findings_say_where_the_gradient_goes_and_whether_it_lasts():
    import pandas as pd

    from rga.study.report.labels import setting_key

    def summary(rga_late, base_late):
        return pd.DataFrame(
            [
                {"setting_key": setting_key(None, ""), "stem/head late": base_late},
                {"setting_key": setting_key("rga-sc", "1,2,3,4"), "stem/head late": rga_late},
            ]
        )

    text = gradient_paths_findings(record(), summary(25.0, 1.4), summary(1.1, 0.9))
    assert "passes down 5 times on the random trunk and 8 times on the pretrained one" in text
    assert "with its gate path blocked, 0.3 and 0.3 times" in text
    assert "alike, so it does not make the two trunks differ" in text
    assert "there on both trunks alike" in text
    assert text.endswith("the excess lasts where the model does not train and fades where it does.")
    assert "its size differs between the trunks" in gradient_paths_findings(record(20.0))
    assert "needs both trunks" in gradient_paths_findings({"rows": record()["rows"][:6]})
