"""Our runs as tables: the results files loaded with their labels, what was run where, curves.

Our runs are the results files read by :func:`rga.study.results.load_results` (one row per file),
with the glossary's names added (:func:`load_runs`). Two experiments that share a model hold the
same run (the same run id) in both folders: wherever runs of several experiments are pooled,
each run id counts once (:func:`unique_runs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from rga.study.report.formats import count, duration, format_field, mean_sd
from rga.study.report.labels import (
    DATASET_LABELS,
    KIND_LABELS,
    position_label,
    run_settings,
    setting_label,
)
from rga.study.report.paths import Notice, _relative, in_comparisons, results_dir

# The profiles of the study's runs: the book shows these runs and no others (a smoke run a user
# made to try a notebook writes into the same folders). `cpu`: the first study, from scratch;
# `pretrained`: the study in the paper's regime, from the pretrained trunk, with the official BN
# init of the attention modules; `pretrained-ones`: the same with gamma = 1 (the recorded
# deviation: the study's first tables). See :func:`study_profiles`.
STUDY_PROFILES = ("cpu", "pretrained-ones", "pretrained")


def load_runs(
    experiment: str | None = None,
    root: str | Path | None = None,
    profiles: tuple[str, ...] | None = STUDY_PROFILES,
) -> pd.DataFrame:
    """The results files of one experiment (or of all) as a DataFrame, one row per file.

    Uses :func:`rga.study.results.load_results`; adds ``experiment`` (the folder the file is
    in), ``setting_key`` ((kind, positions, embedding)), ``setting`` (its label, e.g.
    "RGA-SC conv4_x"), ``model`` (the kind's label), ``position`` ("conv4_x", "conv2-5_x"),
    ``group`` (:func:`run_group_label`) and ``shared_with`` (the other experiments whose folders
    hold the same run id, when all experiments are loaded). Only runs of ``profiles``: by
    default the study's (:data:`STUDY_PROFILES`); None keeps every run. Empty when there are
    none.
    """
    folder = results_dir(experiment, root)
    paths = sorted(
        p
        for p in folder.rglob("*.json")
        if p.parent.name != "attention" and (experiment or in_comparisons(p, root))
    )
    if not paths:
        return pd.DataFrame()
    from rga.study.results import load_results

    df = study_profiles(load_results(paths))
    if profiles is not None:
        profile = df["profile"] if "profile" in df else pd.Series([None] * len(df))
        df = df[profile.isin(profiles).to_numpy()].reset_index(drop=True)
        if df.empty:
            return pd.DataFrame()
    df["experiment"] = [Path(p).parent.name for p in df["path"]]
    keys = run_settings(df)
    df["kind"] = [k for k, _, _ in keys]
    df["setting_key"] = keys
    df["setting"] = [setting_label(*k) for k in keys]
    df["model"] = [KIND_LABELS.get(k, k) for k, _, _ in keys]
    df["position"] = [position_label(p) for _, p, _ in keys]
    df["group"] = [run_group_label(row) for _, row in df.iterrows()]
    folders = df.groupby("run_id")["experiment"].agg(lambda e: sorted(set(e)))
    df["shared_with"] = [
        [e for e in folders[r] if e != own]
        for r, own in zip(df["run_id"], df["experiment"], strict=True)
    ]
    return df


def study_profiles(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (:func:`rga.study.results.load_results`) with each run under the study it belongs
    to. The two studies in the paper's regime were both trained as profile ``pretrained``
    (``rga.engine.config.STUDY_BN_INITS``): an RGA run with ``attention_bn_init="ones"`` is the
    gamma = 1 study's (``pretrained-ones``); a run whose model the init cannot change (baseline,
    SE, NL, CBAM: ``rga.engine.config.ATTENTION_BN_KINDS``) serves both, so its row appears
    under each profile, with that profile's init. Other rows are unchanged."""
    from rga.engine.config import ATTENTION_BN_KINDS, STUDY_BN_INITS

    if df.empty or not {"profile", "attention_bn_init", "kind"} <= set(df.columns):
        return df
    in_regime = df["profile"].isin(list(STUDY_BN_INITS))
    rga = df["kind"].isin(ATTENTION_BN_KINDS)
    by_init = {init: profile for profile, init in STUDY_BN_INITS.items()}
    own = df[in_regime & rga].assign(profile=lambda d: d["attention_bn_init"].map(by_init))
    shared = [
        df[in_regime & ~rga].assign(profile=profile, attention_bn_init=init)
        for profile, init in STUDY_BN_INITS.items()
    ]
    return pd.concat([df[~in_regime], own, *shared], ignore_index=True)


def run_profiles(profile: str | None, kind: str | None, attention_bn_init: str | None) -> set:
    """The study profiles one run belongs to (:func:`study_profiles`, for one run): e.g.
    {"pretrained-ones"} for a gamma = 1 RGA run trained as ``pretrained``, both regime
    profiles for its baseline."""
    from rga.engine.config import ATTENTION_BN_KINDS, STUDY_BN_INITS

    if profile not in STUDY_BN_INITS:
        return {profile}
    if kind in ATTENTION_BN_KINDS:
        return {p for p, init in STUDY_BN_INITS.items() if init == attention_bn_init}
    return set(STUDY_BN_INITS)


def left_out_profiles(
    experiments: Iterable[str] | None = None, root: str | Path | None = None
) -> dict[str, int]:
    """{profile: number of results files} of the profiles outside :data:`STUDY_PROFILES` that the
    results folders of `experiments` (default all) hold: the runs :func:`load_runs` leaves out."""
    folders = (
        [results_dir(e, root) for e in experiments] if experiments else [results_dir(None, root)]
    )
    left_out: dict[str, int] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
            if path.parent.name == "attention" or not (experiments or in_comparisons(path, root)):
                continue
            profile = json.loads(path.read_text()).get("config", {}).get("profile")
            if profile not in STUDY_PROFILES:  # both regime studies are trained as `pretrained`
                left_out[str(profile)] = left_out.get(str(profile), 0) + 1
    return dict(sorted(left_out.items()))


def left_out_text(left_out: dict[str, int]) -> str:
    """ "2 of the smoke profile, 1 of the paper profile" (:func:`left_out_profiles`)."""
    return ", ".join(f"{n} of the {p} profile" for p, n in left_out.items())


def profiles_shown(
    experiments: Iterable[str] | None = None, root: str | Path | None = None
) -> Notice:
    """A note for a page: which profiles its runs come from (:data:`STUDY_PROFILES`), and how
    many runs of other profiles the results folders of `experiments` (default all) hold and the
    page leaves out."""
    body = (
        f"The runs on this page are the study's: profiles {', '.join(STUDY_PROFILES)} "
        "(rga.study.report.STUDY_PROFILES)."
    )
    left_out = left_out_profiles(experiments, root)
    if left_out:
        body += f" Other runs in the results folders are left out: {left_out_text(left_out)}."
    return Notice(title="Runs shown", body=body, kind="note")


def unique_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each run id once per study profile (the first file of it): what statistics
    pooled over several experiments must use, since two experiments that share a model hold the
    same run. A run both regime studies share stays once in each (:func:`study_profiles`)."""
    if runs.empty or "run_id" not in runs:
        return runs
    key = ["run_id", "profile"] if "profile" in runs else ["run_id"]
    return runs.drop_duplicates(key).reset_index(drop=True)


# Shown in the group label itself, or set per model by an experiment (never a reason to split).
_LABELLED_FIELDS = {
    "dataset", "synth_preset", "arch", "height", "width", "epochs", "profile", "device",
    "kind", "positions", "seed", "rga_embedding",
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
    """:func:`profile_overrides` as text, each value formatted for what it holds
    (:func:`rga.study.report.formats.format_field`), e.g. "base_lr=1e-3,
    attention_bn_init=uniform"."""
    return ", ".join(
        f"{k}={format_field(k, _as_plain(v))}" for k, v in profile_overrides(row).items()
    )


def run_group_label(row) -> str:
    """What a run's numbers are, in words: dataset (and SynthReID preset), trunk, input size,
    epochs, profile and device, e.g. "ours: SynthReID (cpu preset), resnet18, 128x64, 60 epochs,
    cpu profile, on cpu"; then any field that differs from the profile ("cpu profile with
    base_lr=1e-3"), so that runs of different settings are never pooled as seeds of one."""
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


def _shared_note(g: pd.DataFrame) -> str:
    """ "6 also in attention_variants": the runs of ``g`` that other experiments' folders hold."""
    others: dict[str, int] = {}
    for shared in g["shared_with"] if "shared_with" in g else []:
        for other in shared:
            others[other] = others.get(other, 0) + 1
    return "; ".join(f"{n} also in {other}" for other, n in sorted(others.items()))


def _total_row(runs: pd.DataFrame, first: str) -> dict:
    """The last row of an overview: every run once, however many folders and studies hold it."""
    once = runs.drop_duplicates("run_id")
    return {
        first: "all experiments, each run once",
        "runs": count(len(once)),
        "wall time (h:mm)": duration(once["wall_time_s"].astype(float).sum()),
    }


def hardware_and_time(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, group): the hardware, the number of runs (and how many of them
    another experiment's folder also holds), their total and mean wall time (training +
    evaluation, h:mm), the mean training throughput and the code version; a last row counts
    every run once."""
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
                "runs": count(len(g)),
                "shared": _shared_note(g),
                "wall time (h:mm)": duration(wall.sum()),
                "per run (h:mm)": duration(wall.mean()),
                "train images/s": count(g["images_per_s"].astype(float).mean()),
                "code version": ", ".join(commits),
            }
        )
    if rows and runs["experiment"].nunique() > 1:
        rows.append(_total_row(runs, "experiment"))
    return pd.DataFrame(rows).fillna("")


def format_mean_sd(values: Iterable[float], digits: int = 1) -> str:
    """ "71.2 ± 0.8" (sample sd over seeds), "71.2" for one value, "–" for none
    (:func:`rga.study.report.formats.mean_sd`)."""
    return mean_sd(values, digits)


def runs_overview(runs: pd.DataFrame) -> pd.DataFrame:
    """What was run where: one row per (experiment, group of runs) with the number of settings,
    the seeds, the number of runs (and how many of them another experiment's folder holds too:
    a model two experiments share is trained once) and their wall time (h:mm); when several
    experiments are shown, a last row counts every run once."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for (experiment, group), g in runs.groupby(["experiment", "group"], sort=True):
        rows.append(
            {
                "experiment": experiment,
                "runs of": group.removeprefix("ours: "),
                "settings": count(len(set(g["setting_key"]))),
                "seeds": ", ".join(str(int(s)) for s in sorted(g["seed"].unique())),
                "runs": count(len(g)),
                "shared": _shared_note(g),
                "wall time (h:mm)": duration(g["wall_time_s"].astype(float).fillna(0).sum()),
            }
        )
    if runs["experiment"].nunique() > 1:
        rows.append(_total_row(runs, "experiment"))
    return pd.DataFrame(rows).fillna("")


def headline(runs: pd.DataFrame, metric: str) -> pd.Series:
    """The run's headline value of ``metric`` (the eval_feature's), else z's."""
    if metric in runs:
        return runs[metric].astype(float)
    return runs[f"z.{metric}"].astype(float)


def curves_long(runs: pd.DataFrame) -> pd.DataFrame:
    """The training curves of the runs in long format: one row per (run, epoch) with the run's
    group, setting (its label), setting_key, seed and the curve's keys (epoch, lr, loss, ce,
    triplet, images_per_s, and any metric a run recorded at some epochs, e.g. mAP). Each run id
    once."""
    frames = []
    for _, run in unique_runs(runs).iterrows():
        curve = run.get("curve")
        if not isinstance(curve, list) or not curve:
            continue
        c = pd.DataFrame(curve)
        c["run_id"], c["setting"], c["group"], c["seed"] = (
            run["run_id"],
            run["setting"],
            run["group"],
            run["seed"],
        )
        c["setting_key"] = [run["setting_key"]] * len(c)
        frames.append(c)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_dataset_statistics(path: str | Path) -> dict:
    """The ``dataset_statistics`` a results file recorded: {split: {ids, images, cameras}}."""
    return json.loads(Path(path).read_text()).get("dataset_statistics") or {}


def used_dataset_statistics(runs: pd.DataFrame) -> pd.DataFrame:
    """The split sizes each dataset had in our runs (``dataset_statistics`` of the results
    files): rows (dataset, split), columns ids, images, cameras as counts ("1,800"); one entry
    per distinct dataset."""
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
    return out.map(count)


def experiment_status(runs: pd.DataFrame, experiment: str, root=None) -> Markdown:
    """A sentence on what our runs of ``experiment`` are: the groups of runs, the number of runs
    and seeds; or, without runs, that they are pending and the page shows the paper alone. Either
    way it names the study's profiles (``runs`` is :func:`rga.study.report.runs.load_runs` of
    them) and how many runs of other profiles the folder holds and the page leaves out."""
    from rga.study.report.paper import groups_legend

    folder = _relative(results_dir(experiment, root))
    left_out = left_out_profiles([experiment], root)
    profiles = ", ".join(STUDY_PROFILES)
    if runs.empty:
        held = (
            f" (it holds runs of other profiles only, left out: {left_out_text(left_out)})"
            if left_out
            else ""
        )
        return Markdown(
            f"**Our runs of this experiment are pending.** There are no results files of the "
            f"study's profiles ({profiles}) in `{folder}/` yet{held}, so the tables below show "
            f"the paper's numbers alone. They fill in with ours when the experiment has been run "
            f"(`experiments/{experiment}.ipynb` with papermill, see the Reproduce page) and the "
            "book is rebuilt."
        )
    seeds = ", ".join(str(int(s)) for s in sorted(runs["seed"].unique()))
    groups = groups_legend(runs).split("\n")
    if len(groups) == 1:
        what = f'("ours" in the tables) are runs of {groups[0].removeprefix("ours: ")}'
    else:
        what = "are runs of several groups, named in the tables as follows: " + "; ".join(groups)
    shown = f"the study's profiles ({profiles})"
    if left_out:
        shown += f"; runs of other profiles in the folder are left out: {left_out_text(left_out)}"
    return Markdown(
        f"Our runs {what}: {runs['run_id'].nunique()} results files in `{folder}/`, seeds {seeds}, "
        f"of {shown}."
    )


def cpu_family(hardware) -> str:
    """ "AMD EPYC" or "Intel Xeon" from a results file's CPU string (the same CPU is written
    with and without its clock speed); the string itself otherwise."""
    text = str(hardware)
    for family in ("AMD EPYC", "Intel Xeon"):
        if all(word in text for word in family.split()):
            return family
    return text
