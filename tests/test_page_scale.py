"""rga.study.pages.scale: the module sizes of the scale page, against hand-computed widths."""

from __future__ import annotations

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
