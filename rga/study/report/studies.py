"""Which study the book leads with, and how far the study's runs have got.

The study in the paper's regime has two versions: the official BN init (profile ``pretrained``,
the study) and gamma = 1 (``pretrained-ones``, its recorded deviation, whose tables came first).
The pages lead with the official-init study once its accuracy claims all have a verdict
(:func:`summary_profile`), and say how many of the runs the pipeline plans have results files
(:func:`study_progress`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["DEVIATION", "PROFILE_NAMES", "STUDY", "study_progress", "summary_profile"]

STUDY, DEVIATION = "pretrained", "pretrained-ones"
PROFILE_NAMES = {
    STUDY: "the study with the official BN init",
    DEVIATION: "the study with gamma = 1 (the recorded deviation; the official-init study is pending)",
}


def summary_profile(claims: pd.DataFrame) -> str:
    """``pretrained`` when its accuracy claims all have a verdict (none pending or not run),
    else ``pretrained-ones``."""
    study = claims[(claims["profile"] == STUDY) & claims["metric"].isin(["mAP", "R1"])]
    complete = not study.empty and not study["verdict"].isin(["pending", "not run"]).any()
    return STUDY if complete else DEVIATION


def study_progress(root=None) -> pd.DataFrame:
    """How far the study in the chosen regime has got: per experiment of the pipeline, the runs
    it plans (``pretrained`` profile, the study's seeds; ``from_scratch`` in the ``cpu`` profile
    with three seeds) and how many of them have results files."""
    from rga.engine.config import run_id
    from rga.study.experiments import experiment_configs
    from rga.study.pipeline import FROM_SCRATCH_SEEDS, STUDY_PROFILE, TABLES
    from rga.study.report.paths import results_dir

    plans = [(name, STUDY_PROFILE, "study") for name in TABLES]
    plans.append(("from_scratch", "cpu", FROM_SCRATCH_SEEDS))
    rows, planned, finished = [], set(), set()
    for name, profile, seeds in plans:
        configs = experiment_configs(name, profile, seeds)
        folder = results_dir(name, root)
        found = {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
        # a planned run is finished when a results file of its configuration exists (any data)
        hashes = {run_id(c, "0" * 16).rsplit("-d", 1)[0] for c in configs}
        done = {rid.rsplit("-d", 1)[0] for rid in found} & hashes
        planned |= hashes
        finished |= done
        rows.append(
            {
                "experiment": name,
                "profile": profile,
                "runs planned": len(hashes),
                "runs finished": len(done),
            }
        )
    rows.append(
        {
            "experiment": "all (each run once)",
            "profile": "",
            "runs planned": len(planned),
            "runs finished": len(finished),
        }
    )
    return pd.DataFrame(rows)
