"""The run list of a study, committed before its first result (``experiments/plans/``).

``python -m rga.study.run_list pretrained experiments/plans/official-init-runs.json`` writes, for
every table of the pipeline with the study's seeds, each run's id, label and seed, and whether
its results file is already committed (a run another study shares: its model does not depend on
what changed). The data's fingerprint is that of the data set the profile trains on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rga.engine.config import model_label, run_id
from rga.study.experiments import _data_key, _prepare_data, experiment_configs
from rga.study.pipeline import TABLES
from rga.study.report.paths import checkpoints_dir, results_dir
from rga.study.reuse import finished_files


def study_run_list(profile: str, tables=TABLES, results_root=None, checkpoint_root=None) -> dict:
    """{"profile", "tables": {table: [{"run_id", "setting", "seed", "committed"}]}, "new",
    "shared"}: the runs the pipeline plans for `profile` (seeds "study")."""
    results = results_dir(None, results_root)
    out = {"profile": profile, "tables": {}}
    configs = {t: experiment_configs(t, profile, "study") for t in tables}
    fingerprints = _prepare_data(
        [c for cs in configs.values() for c in cs], checkpoints_dir(checkpoint_root)
    )
    for table, table_configs in configs.items():
        out["tables"][table] = [
            {
                "run_id": (rid := run_id(c, fingerprints[_data_key(c)])),
                "setting": model_label(c),
                "seed": c.seed,
                "committed": finished_files(results, table, rid),
            }
            for c in table_configs
        ]
    runs = {r["run_id"]: r["committed"] for rows in out["tables"].values() for r in rows}
    out["new"] = sum(not done for done in runs.values())
    out["shared"] = sum(runs.values())
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rga.study.run_list", description=__doc__)
    parser.add_argument("profile")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    listing = study_run_list(args.profile)
    args.out.write_text(json.dumps(listing, indent=1) + "\n")
    print(f"{args.out}: {listing['new']} new runs, {listing['shared']} committed")


if __name__ == "__main__":
    main()
