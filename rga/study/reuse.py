"""Finished runs found by their results files, so that a study resumes without checkpoints.

Checkpoints are not committed: on a fresh checkout (a new working session, another machine) the
study's finished runs exist only as their results files. A run counts as finished when its
experiment holds all three of its files: ``<run_id>.json``, ``attention/<run_id>.npz`` and
``attention/<run_id>.ranked.json``. A run another comparison already finished (the baseline is
in three tables) is adopted: its three files are copied with the experiment's name changed, which
is all that differs when the same run is recorded for two experiments. Only a run trained at the
commit of the code at hand is adopted, so that a study's results come from one commit; set-up
experiments (``pretrain``, ``regime``) are never a source: their runs belong to the choice of
the regime.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rga.engine import provenance
from rga.study.report.attention_arrays import write_npz
from rga.study.report.paths import SET_UP_EXPERIMENTS
from rga.study.report.ranked_lists import load_ranked_lists, save_ranked_lists
from rga.study.results import result_path, write_result

__all__ = ["adopt_finished", "code_commit", "finished_files", "run_files"]


def run_files(results_root: str | Path, experiment: str, run_id: str) -> tuple[Path, Path, Path]:
    """The results file, attention arrays and ranked lists of one run of `experiment`."""
    attention = Path(results_root) / experiment / "attention"
    return (
        result_path(results_root, experiment, run_id),
        attention / f"{run_id}.npz",
        attention / f"{run_id}.ranked.json",
    )


def finished_files(results_root: str | Path, experiment: str, run_id: str) -> bool:
    """Whether `experiment` holds all three files of `run_id`."""
    return all(p.is_file() for p in run_files(results_root, experiment, run_id))


def code_commit() -> str | None:
    """The commit of the code at hand, for `adopt_finished`: None (adopt nothing) when the
    working tree is dirty or not a git checkout."""
    commit, dirty = provenance.git_state()
    return None if dirty or commit == "unknown" else commit


def adopt_finished(
    results_root: str | Path, experiment: str, run_id: str, commit: str | None
) -> bool:
    """True when `run_id` is finished for `experiment`: its files are there, or they were
    copied from a comparison that finished the same run at `commit` (None: adopt nothing).
    False: the run must be trained."""
    if finished_files(results_root, experiment, run_id):
        return True
    for folder in sorted(Path(results_root).iterdir()) if Path(results_root).is_dir() else ():
        source = folder.name
        if commit is None or source in (experiment, *SET_UP_EXPERIMENTS) or not folder.is_dir():
            continue
        record_path = result_path(results_root, source, run_id)
        if not finished_files(results_root, source, run_id):
            continue
        if json.loads(record_path.read_text()).get("git_commit") == commit:
            _copy_run(results_root, source, experiment, run_id)
            return True
    return False


def _copy_run(results_root, source: str, experiment: str, run_id: str) -> None:
    """Copy one run's three files from `source` to `experiment`, renaming the experiment in
    them; the results file last, so that an interrupted copy is not taken as finished."""
    record_path, arrays_path, ranked_path = run_files(results_root, source, run_id)
    _, arrays_to, ranked_to = run_files(results_root, experiment, run_id)

    lists = load_ranked_lists(ranked_path)
    save_ranked_lists(ranked_to, {**lists["meta"], "experiment": experiment}, lists["queries"])

    with np.load(arrays_path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "experiment": experiment}, default=str))
    write_npz(arrays_to, arrays)

    record = json.loads(record_path.read_text())
    record["config"]["experiment"] = experiment
    write_result(record, results_root)
