"""rga.study.pages.reproduce: the commits of the runs and rerun records, on hand-made
frames and records (no training, no results files)."""

import json

import pandas as pd

from rga.study.pages import reproduce as views

A, B = "a" * 40, "b" * 40


def _run(experiment, run_id, commit, created, wall=600.0, dirty=False):
    return {
        "experiment": experiment,
        "run_id": run_id,
        "git_commit": commit,
        "git_dirty": dirty,
        "created": created,
        "wall_time_s": wall,
        "hardware": "AMD EPYC",
        "profile": "cpu",
    }


def _runs():
    return pd.DataFrame(
        [
            _run("plugin_position", "base-s0", A, "2026-11-29T13:00:00+00:00", 3600.0),
            _run("plugin_position", "rga-s0", A, "2026-11-29T15:30:00+00:00", 1800.0),
            _run("plugin_position", "rga-s1", B, "2026-12-01T09:00:00+00:00", 600.0, dirty=True),
            # the baseline is shared: the same run id in a second folder
            _run("attention_variants", "base-s0", A, "2026-11-29T13:00:00+00:00", 3600.0),
            _run("attention_variants", "cbam-s0", A, "2026-11-30T10:00:00+00:00", 60.0),
        ]
    )


def test_commits_are_grouped_per_experiment_and_dirty_ones_marked():
    table = views.commits_table(_runs())
    assert list(table.columns) == list(views.COMMIT_COLUMNS)
    rows = table.iloc[:-1].set_index(["experiment", "commit"])
    assert list(rows.index) == [
        ("attention_variants", "aaaaaaaaaa"),
        ("plugin_position", "aaaaaaaaaa"),
        ("plugin_position", "bbbbbbbbbb (1 of 1 dirty)"),
    ]
    first = rows.loc[("plugin_position", "aaaaaaaaaa")]
    assert first["runs"] == "2" and first["wall time (h:mm)"] == "1:30"
    assert first["first finished (UTC)"] == "2026-11-29 13:00"
    assert first["last finished (UTC)"] == "2026-11-29 15:30"
    assert rows.loc[("attention_variants", "aaaaaaaaaa"), "wall time (h:mm)"] == "1:01"
    clean = _run("plugin_position", "rga-s2", B, "2026-12-01T10:00:00+00:00")
    table = views.commits_table(pd.concat([_runs(), pd.DataFrame([clean])]))
    assert "bbbbbbbbbb (1 of 2 dirty)" in set(table["commit"])


def test_the_total_counts_a_shared_run_once_and_names_the_commits():
    total = views.commits_table(_runs()).iloc[-1]
    assert total["experiment"] == "all experiments, each run once"
    assert total["runs"] == "4"  # base-s0 is in two folders
    assert total["wall time (h:mm)"] == "1:41"  # 3600 + 1800 + 600 + 60 s, each run once
    assert total["commit"] == "2 commits"
    assert total["first finished (UTC)"] == "2026-11-29 13:00"
    assert total["last finished (UTC)"] == "2026-12-01 09:00"


def test_one_commit_is_named_in_the_total_and_missing_values_are_dashes():
    runs = _runs().iloc[[0, 1]].assign(created=[None, "2026-11-29T15:30:00+00:00"])
    table = views.commits_table(runs)
    assert table.iloc[-1]["commit"] == "aaaaaaaaaa"
    assert table.iloc[0]["first finished (UTC)"] == "2026-11-29 15:30"
    assert views.commits_table(runs.assign(created=None)).iloc[0]["last finished (UTC)"] == "–"
    assert views.commits_table(pd.DataFrame()).empty


def _record(**difference):
    committed = {"metrics": {"R1": 21.5, "mAP": 20.25, "mINP": 8.0}, "final_loss": 3.25}
    rerun = {"metrics": {"R1": 22.0, "mAP": 20.25, "mINP": 7.5}, "final_loss": 3.2}
    return {
        "experiment": "from_scratch",
        "run_id": "r",
        "rerun_run_id": "r",
        "committed": {"git_commit": A, "hardware": {"device_name": "NVIDIA H200"}, **committed},
        "rerun": {
            "git_commit": B,
            "git_dirty": False,
            "hardware": {"device_name": "AMD EPYC"},
            "train_time_s": 600.0,
            **rerun,
        },
        "difference": {"R1": 0.5, "mAP": 0.0, "mINP": -0.5, "final_loss": -0.05, **difference},
    }


def test_rerun_table_gives_committed_rerun_and_signed_differences():
    table = views.rerun_table(_record()).set_index("metric")
    assert list(table.index) == ["R1", "mAP", "mINP", "final training loss"]
    assert table.loc["R1"].tolist() == ["21.50", "22.00", "+0.50"]
    assert table.loc["mAP", "difference"] == "+0.00"
    assert table.loc["mINP", "difference"] == "-0.50"
    assert table.loc["final training loss"].tolist() == ["3.2500", "3.2000", "-0.0500"]
    assert views.rerun_table(_record(mAP=-1e-9)).set_index("metric").loc["mAP", "difference"] == (
        "+0.00"
    )
    missing = views.rerun_table(_record(final_loss=None)).set_index("metric")
    assert missing.loc["final training loss", "difference"] == "–"
    caption = views.rerun_caption(_record())
    assert caption == (
        "r (from_scratch): trained at aaaaaaaaaa on NVIDIA H200; rerun at bbbbbbbbbb on "
        "AMD EPYC, 0:10 (h:mm) of training"
    )


def test_rerun_summary_counts_exact_reruns_and_gives_the_largest_difference():
    exact = _record(R1=0.0, mINP=0.0, final_loss=0.0)
    assert views.rerun_summary([]) == ""
    assert views.rerun_summary([exact]).startswith("The rerun reproduces R1, mAP, mINP")
    assert views.rerun_summary([exact, exact]).startswith("Both reruns reproduce")
    assert views.rerun_summary([exact] * 3).startswith("All 3 reruns reproduce")
    mixed = views.rerun_summary([exact, _record()])
    assert mixed.startswith("1 of 2 reruns") and "largest absolute difference is 0.5 " in mixed


def test_reruns_are_read_from_their_folder_or_a_note_gives_the_command(tmp_path):
    assert views.load_reruns(tmp_path / "none") == []
    assert "python -m rga.study.rerun from_scratch <run_id>" in repr(views.no_rerun_notice())
    for name in ("b", "a"):
        (tmp_path / f"{name}.json").write_text(json.dumps({**_record(), "run_id": name}))
    assert [r["run_id"] for r in views.load_reruns(tmp_path)] == ["a", "b"]


def test_a_rerun_is_judged_exact_within_or_beyond_the_seed_noise_of_its_setting():
    import pandas as pd

    from rga.study.pages.reproduce import rerun_line, rerun_verdict, seed_spread

    key = ("rga-sc", "1,2,3,4", "asymmetric")
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "setting_key": [key, key, key, ("none", "", "asymmetric")],
            "group": ["g", "g", "g", "g"],
            "mAP": [68.0, 69.0, 70.0, 72.0],
            "R1": [73.0, 74.0, 75.0, 77.0],
        }
    )
    spread = seed_spread({"run_id": "a"}, runs)
    assert spread == {"R1": 1.0, "mAP": 1.0}  # sd of 68, 69, 70 and of 73, 74, 75
    assert seed_spread({"run_id": "d"}, runs) == {}  # one seed: nothing to judge by
    exact = {"difference": {"R1": 0.0, "mAP": 0.0, "mINP": 0.0, "final_loss": 0.0}}
    close = {"difference": {"R1": -0.56, "mAP": -0.02, "mINP": 0.1, "final_loss": 0.001}}
    far = {"difference": {"R1": 0.2, "mAP": 1.5, "mINP": 0.1, "final_loss": 0.01}}
    assert rerun_verdict(exact, spread) == "exact"
    assert rerun_verdict(close, spread) == "within seed noise"
    assert rerun_verdict(far, spread) == "beyond seed noise"
    assert rerun_verdict(close, {}) == "no seed spread to judge by"
    line = rerun_line(
        {**close, "run_id": "a", "experiment": "x", "curve": {"first_epoch_differs": 3}}, spread
    )
    assert line == (
        "**a** (x): *within seed noise*; R1 -0.56 (seed sd 1.00), mAP -0.02 (seed sd 1.00); "
        "the training losses part at epoch 3."
    )


def test_a_run_both_regime_studies_share_is_counted_once_per_folder():
    import pandas as pd

    runs = _runs()
    shared = runs.assign(profile="pretrained")
    both = pd.concat([shared, shared.assign(profile="pretrained-ones")], ignore_index=True)
    once, twice = views.commits_table(shared), views.commits_table(both)
    assert twice["runs"].tolist() == once["runs"].tolist()
