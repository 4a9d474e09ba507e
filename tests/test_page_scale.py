"""rga.study.pages.scale: the module sizes of the scale page, against hand-computed widths."""

from __future__ import annotations

from result_fakes import FITTED, scores, write_fake_run

from rga.study.pages.scale import scale_settings, sizes_table

HIDDEN_SPATIAL = "spatial gate head, hidden units"
HIDDEN_CHANNEL = "channel gate head, hidden units"


def test_the_sizes_of_each_setting_are_the_widths_its_ratios_give():
    table = sizes_table(scale_settings())
    study = table.loc["the study (96x48)"]
    # 96x48 with last stride 1: 24x12, 12x6, 6x3, 6x3 positions; half-width ResNet-18 channels
    assert list(study["positions N"]) == [288, 72, 18, 18]
    # C' = C // 8 of 32, 64, 128, 256 channels; spatial head (1 + N // 8) // 8
    assert list(study["channels of the spatial affinities C'"]) == [4, 8, 16, 32]
    assert list(study[HIDDEN_SPATIAL]) == [(1 + 36) // 8, (1 + 9) // 8, 1, 1]
    official_ratios = table.loc["probe 1: official ratios"]
    assert list(official_ratios[HIDDEN_SPATIAL]) == [36, 9, 2, 2]  # (1 + N) // 8
    assert list(official_ratios[HIDDEN_CHANNEL]) == [4, 8, 16, 32]  # (1 + C) // 8
    assert list(table.loc["probe 2: 192x96"]["positions N"]) == [1152, 288, 72, 72]
    paper = table.loc["the paper's network"]
    assert list(paper["positions N"]) == [2048, 512, 128, 128]
    assert list(paper[HIDDEN_CHANNEL]) == list(official_ratios[HIDDEN_CHANNEL])


def test_probe_3s_record_gives_throughput_and_each_seeds_pair():
    from rga.study.pages.scale import gpu_tables

    def run(model, seed, mAP, r1):
        return {"model": model, "seed": seed, "epochs": 4,
                "metrics": {"z": {"mAP": mAP, "R1": r1}}}  # fmt: skip

    record = {
        "throughput": {"rows": [
            {"variant": "rga-sc factorised", "train_images_per_s": 512.4,
             "peak_memory_mib": 9000.2, "inference_images_per_s": 2000.0},
            {"variant": "rga-sc materialised", "error": "out of memory"},  # did not run
        ]},
        "runs": [run("baseline", 0, 50.0, 70.0), run("rga-sc", 0, 52.5, 69.0),
                 run("baseline", 1, 51.0, 71.0)],  # seed 1's pair is incomplete
    }  # fmt: skip
    throughput, pairs = gpu_tables(record)
    assert throughput.to_dict("records") == [{
        "variant": "RGA-SC, relations factorised (ours)", "training images/s": "512",
        "peak memory (MiB)": "9000", "inference images/s": "2000",
    }]  # fmt: skip
    assert pairs.to_dict("records") == [{
        "seed": "0", "epochs": "4", "baseline mAP, R1": "50.0, 70.0",
        "RGA-SC mAP, R1": "52.5, 69.0", "RGA-SC - baseline, mAP": "+2.5",
        "RGA-SC - baseline, R1": "-1.0",
    }]  # fmt: skip
    assert [t.empty for t in gpu_tables({})] == [True, True]


def _shift(claim, metric, probe_verdict, study_verdict, moves, judgement, move=0.5):
    return {"probe": "p", "claim": claim, "metric": metric, "probe verdict": probe_verdict,
            "study verdict": study_verdict, "probe margin": 1.0 + move, "study margin": 1.0,
            "move": move, "move low": move - 1.0, "move high": move + 1.0, "moves": moves,
            "judgement": judgement}  # fmt: skip


def test_the_findings_say_which_verdicts_change_and_whether_the_margin_moves():
    import pandas as pd

    from rga.study.pages.scale import findings_text

    shifts = pd.DataFrame([
        _shift("A beats B", "mAP", "inconclusive", "inconclusive", False, "stands at that scale"),
        _shift("C beats D", "mAP", "holds", "inconclusive", True, "depends on scale", move=2.0),
        _shift("A beats B", "R1", "inconclusive", "inconclusive", False, "stands at that scale"),
        _shift("C beats D", "R1", "holds", "inconclusive", False,
               "differs, within the seeds' resolution"),
    ])  # fmt: skip
    text = findings_text(shifts, "p")
    assert text.startswith("**What changed.** In mAP, 1 of its 2 verdicts change.")
    assert (
        "“A beats B” stays inconclusive: its margin is +1.5 here against +1.0 in the study, "
        "a move the seeds cannot tell from zero (+0.5 points, 95 % CI [-0.5, +1.5])."
    ) in text
    assert "“C beats D” changes verdict, “holds” here against “inconclusive” in the study:" in text
    assert "a move the seeds detect (+2.0 points, 95 % CI [+1.0, +3.0])" in text
    assert "In R1, 1 of 2 verdicts are the study's. “C beats D” changes verdict" in text

    unchanged = shifts[shifts["claim"] == "A beats B"]
    assert findings_text(unchanged, "p").endswith("In R1, 1 of 1 verdicts are the study's.")
    pending = shifts.assign(judgement=["pending"] + list(shifts["judgement"][1:]))
    assert findings_text(pending, "p") == ""
    assert findings_text(shifts, "another probe") == ""

    # a model that did not train is not a changed verdict
    failed = shifts.assign(
        judgement=["not testable"] + list(shifts["judgement"][1:]),
        **{"probe verdict": ["not testable", "holds", "inconclusive", "holds"]},
    )
    text = findings_text(failed, "p")
    assert text.startswith(
        "**What changed.** In mAP, 1 of its 2 verdicts change, and 1 cannot "
        "be tested. “A beats B” is not testable (a model did not train)."
    )


def test_the_longer_schedule_costs_the_probes_training_hours_times_the_ratio_of_epochs(tmp_path):
    """Through the loader that the page uses, from results files as a run writes them."""
    import dataclasses

    from rga.engine.config import LARGE_PROFILE, make_config
    from rga.study.pages.scale import longer_schedule_cost
    from rga.study.report.runs import load_runs

    for seed, seconds in ((0, 1800.0), (1, 5400.0)):
        config = make_config(LARGE_PROFILE, kind=None, positions=(), seed=seed)
        config = dataclasses.replace(config, experiment="scale_positions")
        write_fake_run(tmp_path, config, train_time_s=seconds)
    probe = load_runs("scale_positions", tmp_path, profiles=(LARGE_PROFILE,))
    chosen, longer = "compressed, 200 epochs", "compressed, 280 epochs"
    cost = ("the probe's 2 runs (2.0 hours of training in all, one core each) would take about "
            "2.8 hours (x1.4).")  # fmt: skip
    assert longer_schedule_cost(probe, chosen, longer, asked=True) == (
        f"Under compressed, 280 epochs, {cost}"
    )
    assert longer_schedule_cost(probe, chosen, longer, asked=False) == (
        f"The rule does not ask for compressed, 280 epochs; under it {cost}"
    )


def test_a_probes_own_verdicts_say_what_an_inconclusive_claim_rules_out(tmp_path):
    """Probe 2's three settings, three seeds each, written as its runs write them: margins of a
    few tenths either way leave both claims inconclusive, and the words say what that rules out."""
    from rga.engine.config import LARGE_PROFILE
    from rga.study.experiments import experiment_configs
    from rga.study.pages.scale import own_verdicts
    from rga.study.report.scale_probes import PROBES, probe_claims

    offsets = {None: (0.0, 0.0, 0.0), "rga-sc": (0.5, -0.4, 0.2), "rga-sc-norel": (0.1, 0.3, -0.5)}
    for config in experiment_configs("scale_positions", LARGE_PROFILE, "study"):
        mAP = 70 + config.seed + offsets[config.kind][config.seed]
        write_fake_run(tmp_path, config, metrics=scores(mAP), curve=FITTED)
    probes = probe_claims(PROBES[1:], root=tmp_path)
    assert set(probes["verdict"]) == {"inconclusive"}
    text = own_verdicts(probes, "192x96").data
    assert text.startswith("Its verdicts on its own runs:")
    for claim in PROBES[1].claims:
        line = next(item for item in text.splitlines() if claim in item)
        assert "*inconclusive* in mAP: a gain above" in line and "is ruled out at 95 %" in line
        assert "the seeds detect" in line and line.endswith("3 seeds.")
    assert own_verdicts(probes, "official sizes").data == ""
