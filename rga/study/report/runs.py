"""Our runs as tables: the results files loaded with their labels, what was run where, curves.

Our runs are the results files read by :func:`rga.study.results.load_results` (one row per run),
with ``setting``, ``model`` and ``group`` (:func:`run_group_label`) added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from rga.study.report.labels import (
    DATASET_LABELS,
    KIND_LABELS,
    normalise_kind,
    table2_setting,
)
from rga.study.report.paths import Notice, results_dir

# The profiles of the study's runs: the book shows these runs and no others (a smoke run a user
# made to try a notebook writes into the same folders). `cpu`: the first study, from scratch;
# `pretrained`: the same with the pretrained trunk.
STUDY_PROFILES = ("cpu", "pretrained")


def load_runs(
    experiment: str | None = None,
    root: str | Path | None = None,
    profiles: tuple[str, ...] | None = STUDY_PROFILES,
) -> pd.DataFrame:
    """The results files of one experiment (or of all) as a DataFrame, one row per run.

    Uses :func:`rga.study.results.load_results`; adds ``experiment`` (from the folder when the
    config lacks it), ``setting`` (Table 2 row name), ``model`` (kind label) and ``group``
    (:func:`run_group_label`). Only runs of ``profiles``: by default the study's
    (:data:`STUDY_PROFILES`); None keeps every run. An empty DataFrame when there are none.
    """
    folder = results_dir(experiment, root)
    paths = sorted(p for p in folder.rglob("*.json") if p.parent.name != "attention")
    if not paths:
        return pd.DataFrame()
    from rga.study.results import load_results

    df = load_results(paths)
    if profiles is not None:
        profile = df["profile"] if "profile" in df else pd.Series([None] * len(df))
        df = df[profile.isin(profiles).to_numpy()].reset_index(drop=True)
        if df.empty:
            return pd.DataFrame()
    if "experiment" not in df:
        df["experiment"] = [Path(p).parent.name for p in df["path"]]
    kinds = [normalise_kind(k) for k in (df["kind"] if "kind" in df else [None] * len(df))]
    df["kind"] = kinds
    positions = df["positions"] if "positions" in df else pd.Series([()] * len(df))
    df["setting"] = [table2_setting(k, p) for k, p in zip(kinds, positions, strict=True)]
    df["model"] = [KIND_LABELS.get(k, str(k)) for k in kinds]
    df["group"] = [run_group_label(row) for _, row in df.iterrows()]
    return df


def profiles_shown(
    experiments: Iterable[str] | None = None, root: str | Path | None = None
) -> Notice:
    """A note for a page: which profiles its runs come from (:data:`STUDY_PROFILES`), and how
    many runs of other profiles the results folders of `experiments` (default all) hold and the
    page leaves out."""
    folders = (
        [results_dir(e, root) for e in experiments] if experiments else [results_dir(None, root)]
    )
    left_out: dict[str, int] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
            if path.parent.name == "attention":
                continue
            profile = json.loads(path.read_text()).get("config", {}).get("profile")
            if profile not in STUDY_PROFILES:
                left_out[str(profile)] = left_out.get(str(profile), 0) + 1
    body = (
        f"The runs on this page are the study's: profiles {', '.join(STUDY_PROFILES)} "
        "(rga.study.report.STUDY_PROFILES)."
    )
    if left_out:
        others = ", ".join(f"{n} of the {p} profile" for p, n in sorted(left_out.items()))
        body += f" Other runs in the results folders are left out: {others}."
    return Notice(title="Runs shown", body=body, kind="note")


# Shown in the group label itself, or set per model by an experiment (never a reason to split).
_LABELLED_FIELDS = {
    "dataset", "synth_preset", "arch", "height", "width", "epochs", "profile", "device",
    "kind", "positions", "seed",
}  # fmt: skip


def _as_plain(value):
    """Lists (JSON) and tuples (configs) compare equal; NaN (a field absent from a file) and
    "none" (how results tables spell a None ``kind``/``weights``) are None."""
    if isinstance(value, list | tuple):
        return tuple(_as_plain(v) for v in value)
    if (isinstance(value, float) and np.isnan(value)) or value == "none":
        return None
    return value


def profile_overrides(row) -> dict:
    """The fields of a run that differ from its named profile (with the profile's schedule scaled
    to the run's epochs, as ``make_config`` does), leaving out those the group label shows, those
    an experiment sets per model and those that do not change the numbers (``RUN_ID_EXCLUDED``)."""
    from rga.engine.config import PROFILES, RUN_ID_EXCLUDED, make_config

    get = row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)
    profile, epochs = get("profile"), get("epochs")
    if profile not in PROFILES:
        return {}
    has_epochs = epochs is not None and not pd.isna(epochs)
    reference = make_config(profile, **({"epochs": int(epochs)} if has_epochs else {})).to_dict()
    skip = _LABELLED_FIELDS | set(RUN_ID_EXCLUDED)
    return {
        name: get(name)
        for name, default in reference.items()
        if name not in skip and _as_plain(get(name, default)) != _as_plain(default)
    }


def profile_changes(row) -> str:
    """:func:`profile_overrides` as text, e.g. "base_lr=0.001, attention_bn_init=uniform"."""
    return ", ".join(f"{k}={_as_plain(v)}" for k, v in profile_overrides(row).items())


def run_group_label(row) -> str:
    """What a run's numbers are, in words: dataset (and SynthReID preset), trunk, input size,
    epochs, profile and device, e.g. "ours: SynthReID (cpu preset), resnet18, 128x64, 60 epochs,
    cpu profile, on cpu"; then any field that differs from the profile ("cpu profile with
    base_lr=0.001"), so that runs of different settings are never pooled as seeds of one."""
    get = row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)
    dataset = get("dataset", "?")
    name = DATASET_LABELS.get(dataset, str(dataset))
    if dataset == "synthreid" and get("synth_preset"):
        name += f" ({get('synth_preset')} preset)"
    parts = [name]
    if get("arch"):
        parts.append(str(get("arch")))
    if get("height") and get("width"):
        parts.append(f"{int(get('height'))}x{int(get('width'))}")
    if get("epochs") is not None and not pd.isna(get("epochs")):
        parts.append(f"{int(get('epochs'))} epochs")
    if get("profile"):
        changed = profile_changes(row)
        parts.append(f"{get('profile')} profile" + (f" with {changed}" if changed else ""))
    if get("device"):
        parts.append(f"on {get('device')}")
    return "ours: " + ", ".join(parts)


def hardware_and_time(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, group): the hardware, the number of runs, their total and mean
    wall time (training + evaluation), the mean training throughput and the code version."""
    rows = []
    for (experiment, group), g in runs.groupby(["experiment", "group"], sort=True):
        wall = g["wall_time_s"].astype(float)
        commits = sorted(
            {
                str(c)[:10] + ("+dirty" if d else "")
                for c, d in zip(g["git_commit"], g.get("git_dirty", [False] * len(g)), strict=True)
            }
        )
        rows.append(
            {
                "experiment": experiment,
                "runs of": group,
                "hardware": ", ".join(sorted({str(h) for h in g["hardware"].fillna("?")})),
                "runs": len(g),
                "total wall time (h)": round(wall.sum() / 3600, 2),
                "mean per run (min)": round(wall.mean() / 60, 1),
                "train images/s": round(float(g["images_per_s"].astype(float).mean()), 1),
                "code version": ", ".join(commits),
            }
        )
    return pd.DataFrame(rows)


def format_mean_sd(values: Iterable[float], digits: int = 1) -> str:
    """ "71.2 ± 0.8" (sample sd over seeds), "71.2" for one value, "" for none."""
    v = np.asarray([x for x in values if x is not None and not pd.isna(x)], dtype=float)
    if v.size == 0:
        return ""
    if v.size == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def runs_overview(runs: pd.DataFrame) -> pd.DataFrame:
    """What was run where: one row per (experiment, dataset, trunk, profile and the fields changed
    from it, device, epochs) with the seeds, the number of runs and their total wall time."""
    if runs.empty:
        return pd.DataFrame()
    df = runs.copy()
    df["dataset"] = [
        DATASET_LABELS.get(d, d) + (f" ({p} preset)" if d == "synthreid" and p else "")
        for d, p in zip(df["dataset"], df.get("synth_preset", [""] * len(df)), strict=True)
    ]
    df["hardware"] = df.get("hardware", pd.Series([""] * len(df))).fillna("")
    df["changed from profile"] = [profile_changes(row) for _, row in df.iterrows()]
    keys = [
        k
        for k in ("experiment", "dataset", "arch", "profile", "changed from profile", "device",
                  "hardware", "epochs")
        if k in df
    ]  # fmt: skip
    rows = []
    for values, g in df.groupby(keys, dropna=False, sort=True):
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        row["seeds"] = ", ".join(str(int(s)) for s in sorted(g["seed"].unique()))
        row["runs"] = len(g)
        row["settings"] = g["label"].nunique()
        row["wall time (h)"] = round(float(g["wall_time_s"].fillna(0).sum()) / 3600, 2)
        rows.append(row)
    return pd.DataFrame(rows)


def headline(runs: pd.DataFrame, metric: str) -> pd.Series:
    """The run's headline value of ``metric`` (the eval_feature's), else z's."""
    if metric in runs:
        return runs[metric].astype(float)
    return runs[f"z.{metric}"].astype(float)


def curves_long(runs: pd.DataFrame) -> pd.DataFrame:
    """The training curves of the runs in long format: one row per (run, epoch) with the run's
    group, label, seed and the curve's keys (epoch, lr, loss, ce, triplet, images_per_s, ...)."""
    frames = []
    for _, run in runs.iterrows():
        curve = run.get("curve")
        if not isinstance(curve, list) or not curve:
            continue
        c = pd.DataFrame(curve)
        c["run_id"], c["label"], c["group"], c["seed"] = (
            run["run_id"],
            run["label"],
            run["group"],
            run["seed"],
        )
        frames.append(c)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_dataset_statistics(path: str | Path) -> dict:
    """The ``dataset_statistics`` a results file recorded: {split: {ids, images, cameras}}."""
    return json.loads(Path(path).read_text()).get("dataset_statistics") or {}


def used_dataset_statistics(runs: pd.DataFrame) -> pd.DataFrame:
    """The split sizes each dataset had in our runs (``dataset_statistics`` of the results
    files): rows (dataset, split), columns ids, images, cameras; one entry per distinct dataset."""
    if runs.empty:
        return pd.DataFrame()
    rows = {}
    for _, run in runs.iterrows():
        name = DATASET_LABELS.get(run.get("dataset"), str(run.get("dataset")))
        if run.get("dataset") == "synthreid" and run.get("synth_preset"):
            name += f" ({run.get('synth_preset')} preset)"
        if name in {k[0] for k in rows}:
            continue
        for split, values in run_dataset_statistics(run["path"]).items():
            rows[(name, split)] = values
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["dataset", "split"])
    return out
