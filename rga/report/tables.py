"""Tables of the book: the paper's numbers, our runs, and the two joined.

The paper's numbers live in ``book/paper_numbers.csv`` (long format: one row per table,
dataset, setting and metric, with the source of each number). Our runs are the results files
read by :func:`rga.results.load_results` (one row per run). "Paper vs ours" is a join on the
setting (Table 2 row names), never on the dataset: the paper's numbers are on real data, ours
on whatever each run used, and each column says which.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rga.report.paths import book_dir, results_dir

__all__ = [
    "BASELINE",
    "DATASET_LABELS",
    "KIND_LABELS",
    "TABLE2_SETTINGS",
    "attention_precision_table",
    "benchmark_tables",
    "curves_long",
    "discrepancies_table",
    "format_mean_sd",
    "hardware_and_time",
    "load_benchmarks",
    "load_discrepancies",
    "load_paper_numbers",
    "load_runs",
    "normalise_kind",
    "positions_key",
    "precision_summary",
    "profile_changes",
    "profile_overrides",
    "run_dataset_statistics",
    "run_group_label",
    "runs_overview",
    "paper_vs_ours_table",
    "settings_long",
    "table2_setting",
    "used_dataset_statistics",
    "variants_table",
]

DATASET_LABELS = {
    "market1501": "Market-1501",
    "cuhk03-labeled": "CUHK03 (L)",
    "cuhk03-detected": "CUHK03 (D)",
    "msmt17": "MSMT17",
    "synthreid": "SynthReID",
}
BASELINE = "none"  # the `kind` of a baseline run in results tables (rga.results writes None so)
KIND_LABELS = {
    BASELINE: "Baseline",
    "rga-sc": "RGA-SC",
    "rga-s": "RGA-S",
    "rga-c": "RGA-C",
    "rga-sc-norel": "RGA-SC w/o Rel.",
    "rga-s-norel": "RGA-S w/o Rel.",
    "rga-c-norel": "RGA-C w/o Rel.",
    "rga-s-noori": "RGA-S w/o Ori.",
    "rga-c-noori": "RGA-C w/o Ori.",
    "rga-sc-parallel": "RGA-S//C",
    "rga-cs": "RGA-CS",
    "cbam": "CBAM",
    "cbam-s": "CBAM-S",
    "cbam-c": "CBAM-C",
    "se": "SE",
    "nonlocal": "NL",
}
# Supplementary Table 2 rows, in its order, keyed by our `positions`.
TABLE2_SETTINGS = {
    "": "Baseline",
    "1": "ResBlock conv2_x",
    "2": "ResBlock conv3_x",
    "3": "ResBlock conv4_x",
    "4": "ResBlock conv5_x",
    "1,2,3,4": "ResBlock conv2,3,4,5_x",
}


def positions_key(positions) -> str:
    """Canonical text of a positions value: (1, 2) / [1, 2] / "1,2" / "(1, 2)" -> "1,2";
    None, NaN, () and "" -> ""."""
    if positions is None or (isinstance(positions, float) and np.isnan(positions)):
        return ""
    if isinstance(positions, str):
        digits = [
            p for p in positions.replace("(", " ").replace(")", " ").replace(",", " ").split()
        ]
        return ",".join(str(int(p)) for p in sorted(digits, key=int))
    if isinstance(positions, (int, np.integer)):
        return str(int(positions))
    return ",".join(str(int(p)) for p in sorted(positions))


def normalise_kind(kind) -> str:
    """A run's attention kind with every spelling of "no attention" (None, NaN, "none") as
    ``"none"``, the baseline's kind in results tables."""
    if kind is None or (isinstance(kind, float) and np.isnan(kind)) or str(kind).lower() == "none":
        return BASELINE
    return str(kind)


def table2_setting(kind, positions) -> str:
    """The row name of supplementary Table 2 for a run: "Baseline", "ResBlock conv3_x", ..."""
    key = positions_key(positions)
    if normalise_kind(kind) == BASELINE or key == "":
        return "Baseline"
    if key in TABLE2_SETTINGS:
        return TABLE2_SETTINGS[key]
    return "ResBlock conv" + ",".join(str(int(p) + 1) for p in key.split(",")) + "_x"


def load_paper_numbers(path: str | Path | None = None) -> pd.DataFrame:
    """``book/paper_numbers.csv``: columns table, dataset, dataset_label, setting, kind,
    positions, metric, feature, value, source (``value`` a float, ``positions`` canonical text)."""
    path = Path(path) if path is not None else book_dir() / "paper_numbers.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    df["positions"] = df["positions"].map(positions_key)
    return df


def load_discrepancies(path: str | Path | None = None) -> pd.DataFrame:
    """``book/discrepancies.csv``: one row per difference between paper, official code and us."""
    path = Path(path) if path is not None else book_dir() / "discrepancies.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def discrepancies_table(
    profiles: Mapping[str, object], path: str | Path | None = None
) -> pd.DataFrame:
    """The discrepancies table with a "switch" column and, for each of ``profiles``
    ({column title: RunConfig}), the values its config fields take there.

    Raises ValueError when the file names a config field that RunConfig does not have.
    """
    table = load_discrepancies(path)
    named = {f for cell in table["config_fields"] for f in cell.split()}
    for title, config in profiles.items():
        unknown = sorted(f for f in named if not hasattr(config, f))
        if unknown:
            raise ValueError(
                f"discrepancies.csv names config fields {unknown} that {title} does not have; "
                "fix the config_fields column of book/discrepancies.csv"
            )
        table[title] = [
            "; ".join(f"{f} = {getattr(config, f)!r}" for f in cell.split())
            for cell in table["config_fields"]
        ]
    table["switch"] = [
        " · ".join(part for part in (", ".join(cell.split()), other) if part)
        for cell, other in zip(table["config_fields"], table["other_switch"], strict=True)
    ]
    columns = ["topic", "paper", "official code", "this project", "switch", *profiles, "source"]
    return table[columns].set_index("topic")


def load_runs(experiment: str | None = None, root: str | Path | None = None) -> pd.DataFrame:
    """The results files of one experiment (or of all) as a DataFrame, one row per run.

    Uses :func:`rga.results.load_results`; adds ``experiment`` (from the folder when the
    config lacks it), ``setting`` (Table 2 row name), ``model`` (kind label) and ``group``
    (:func:`run_group_label`). An empty DataFrame when there are no files.
    """
    folder = results_dir(experiment, root)
    paths = sorted(p for p in folder.rglob("*.json") if p.parent.name != "attention")
    if not paths:
        return pd.DataFrame()
    from rga.results import load_results

    df = load_results(paths)
    if "experiment" not in df:
        df["experiment"] = [Path(p).parent.name for p in df["path"]]
    kinds = [normalise_kind(k) for k in (df["kind"] if "kind" in df else [None] * len(df))]
    df["kind"] = kinds
    positions = df["positions"] if "positions" in df else pd.Series([()] * len(df))
    df["setting"] = [table2_setting(k, p) for k, p in zip(kinds, positions, strict=True)]
    df["model"] = [KIND_LABELS.get(k, str(k)) for k in kinds]
    df["group"] = [run_group_label(row) for _, row in df.iterrows()]
    return df


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
    from rga.config import PROFILES, RUN_ID_EXCLUDED, make_config

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


def _headline(runs: pd.DataFrame, metric: str) -> pd.Series:
    """The run's headline value of ``metric`` (the eval_feature's), else z's."""
    if metric in runs:
        return runs[metric].astype(float)
    return runs[f"z.{metric}"].astype(float)


def paper_vs_ours_table(
    runs: pd.DataFrame,
    paper: pd.DataFrame,
    metrics: Sequence[str] = ("R1", "mAP"),
    table: str = "supp-table2",
) -> pd.DataFrame:
    """Supplementary Table 2 with our numbers beside it.

    Rows: the Table 2 settings in the paper's order (plus any other setting we ran). Columns:
    ("<dataset label>, paper", metric) for each of the paper's datasets, then for each group of
    our runs (:func:`run_group_label`) (group, metric) as "mean ± sd" over seeds and
    (group, "seeds"). Our runs are those with kind RGA-SC or the baseline.
    """
    p = paper[paper["table"] == table]
    out = p.pivot_table(
        index="setting", columns=["dataset_label", "metric"], values="value", aggfunc="first"
    )
    out = out.reindex(
        columns=pd.MultiIndex.from_product([p["dataset_label"].unique(), list(metrics)])
    )
    out.columns = pd.MultiIndex.from_tuples([(f"{d}, paper", m) for d, m in out.columns])
    out = out.map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    order = list(dict.fromkeys(p["setting"]))
    if not runs.empty:
        ours = runs[runs["kind"].isin([BASELINE, "rga-sc"])]
        for group, g in ours.groupby("group", sort=True):
            for setting, s in g.groupby("setting", sort=False):
                if setting not in order:
                    order.append(setting)
                for m in metrics:
                    out.loc[setting, (group, m)] = format_mean_sd(_headline(s, m))
                out.loc[setting, (group, "seeds")] = str(s["seed"].nunique())
    out = out.reindex(order).fillna("")
    out.index.name = "setting"
    return out


def settings_long(
    runs: pd.DataFrame, paper: pd.DataFrame, metrics=("R1", "mAP"), table="supp-table2"
) -> pd.DataFrame:
    """Long format for plots: one row per (source, setting, metric, seed) with ``value`` and
    ``gain`` (value minus the mean baseline of the same source and metric).

    ``source`` is "paper: <dataset>" or our run group; ``seed`` is NaN for the paper.
    """
    p = paper[(paper["table"] == table) & paper["metric"].isin(metrics)]
    frames = [
        pd.DataFrame(
            {
                "source": "paper: " + p["dataset_label"],
                "setting": p["setting"],
                "metric": p["metric"],
                "seed": np.nan,
                "value": p["value"].to_numpy(),
            }
        )
    ]
    if not runs.empty:
        ours = runs[runs["kind"].isin([BASELINE, "rga-sc"])]
        for m in metrics:
            frames.append(
                pd.DataFrame(
                    {
                        "source": ours["group"],
                        "setting": ours["setting"],
                        "metric": m,
                        "seed": ours["seed"].astype(float),
                        "value": _headline(ours, m).to_numpy(),
                    }
                )
            )
    long = pd.concat(frames, ignore_index=True)
    base = (
        long[long["setting"] == "Baseline"]
        .groupby(["source", "metric"])["value"]
        .mean()
        .rename("baseline")
    )
    long = long.join(base, on=["source", "metric"])
    long["gain"] = long["value"] - long["baseline"]
    return long.drop(columns="baseline")


def variants_table(
    runs: pd.DataFrame, metrics=("R1", "mAP", "mINP"), stage: int = 4
) -> pd.DataFrame:
    """Attention variants: one row per (group, model, positions) with mean ± sd over seeds of
    the headline metrics and of the attention precision at ``stage`` (when recorded)."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    order = list(KIND_LABELS.values())
    for (group, model, pos), g in runs.groupby(
        ["group", "model", runs["positions"].map(positions_key)], sort=False
    ):
        row = {"runs of": group, "model": model, "positions": pos or "-"}
        for m in metrics:
            row[m] = format_mean_sd(_headline(g, m))
        precision = attention_precision_table(g, stages=(stage,))
        for key in ("mass_on_person", "auroc"):
            values = precision[key] if key in precision else []
            row[f"{key} (att{stage})"] = format_mean_sd(values, digits=3)
        row["seeds"] = g["seed"].nunique()
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_order"] = [order.index(m) if m in order else len(order) for m in out["model"]]
    return (
        out.sort_values(["runs of", "_order", "positions"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


PRECISION_COLUMNS = [
    "run_id",
    "group",
    "model",
    "label",
    "seed",
    "stage",
    "mass_on_person",
    "auroc",
    "chance",
]


def attention_precision_table(
    runs: pd.DataFrame, stages: Sequence[int] | None = None
) -> pd.DataFrame:
    """Long table of the runs' attention precision: run_id, group, model, label, seed, stage,
    mass_on_person, auroc, chance. Runs without ``attention_precision`` are skipped."""
    rows = []
    if runs.empty or "attention_precision" not in runs:
        return pd.DataFrame(columns=PRECISION_COLUMNS)
    for _, run in runs.iterrows():
        scores = run["attention_precision"]
        if not isinstance(scores, dict):
            continue
        for stage, values in scores.items():
            stage = int(stage)
            if stages is not None and stage not in stages:
                continue
            rows.append(
                {
                    "run_id": run.get("run_id"),
                    "group": run.get("group"),
                    "model": run.get("model"),
                    "label": run.get("label"),
                    "seed": run.get("seed"),
                    "stage": stage,
                    **{k: values.get(k) for k in ("mass_on_person", "auroc", "chance")},
                }
            )
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def precision_summary(precision: pd.DataFrame) -> pd.DataFrame:
    """:func:`attention_precision_table` summarised: one row per (group, model label, e.g.
    "RGA-SC conv3_x": runs at other positions are not pooled), columns
    ("mass on person" | "AUROC", "att<stage>") as mean ± sd over seeds, and "chance" (the mean
    mask area, what a uniform map's mass on person would be). Empty in, empty out."""
    if precision.empty:
        return pd.DataFrame()
    rows = {}
    for (group, model), g in precision.groupby(["group", "label"], sort=False):
        row = {}
        for key, title in (("mass_on_person", "mass on person"), ("auroc", "AUROC")):
            for stage, s in g.groupby("stage"):
                row[(title, f"att{stage}")] = format_mean_sd(s[key], digits=3)
        row[("chance", "")] = f"{g['chance'].astype(float).mean():.3f}"
        row[("seeds", "")] = g["seed"].nunique()
        rows[(group, model)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "model"])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


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


def benchmark_tables(record: dict) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A benchmark record as (its measurements, {section: table}) for display.

    Measurements are ``rows`` (a list of dicts, one per variant) or ``results`` ({variant:
    {quantity: value}}); every other dict-valued entry (settings, config, machine, ratios,
    targets) becomes a two-column table of its own.
    """
    main = pd.DataFrame()
    if isinstance(record.get("rows"), list):
        main = pd.DataFrame(record["rows"])
    elif isinstance(record.get("results"), dict):
        main = (
            pd.DataFrame.from_dict(record["results"], orient="index")
            .rename_axis("run")
            .reset_index()
        )
    elif isinstance(record.get("results"), list):
        main = pd.DataFrame(record["results"])
    details = {
        key: pd.DataFrame(
            {
                "value": [
                    ", ".join(map(str, v)) if isinstance(v, list) else v for v in value.values()
                ]
            },
            index=pd.Index(list(value), name=key),
        )
        for key, value in record.items()
        if isinstance(value, dict) and key != "results"
    }
    return main, details


def load_benchmarks(root: str | Path | None = None) -> dict[str, dict]:
    """``benchmarks/results/*.json`` as {file stem: record}; a record holds at least ``rows``
    (a list of dicts) and usually ``benchmark``, ``settings``, ``machine``, ``created``."""
    from rga.report.paths import benchmarks_dir

    folder = benchmarks_dir(root)
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
