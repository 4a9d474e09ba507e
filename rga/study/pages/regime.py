"""The code behind the Regime page (``book/regime.md``): the pretrained trunk's provenance, the schedule grid and the rule's outcome.

Reads ``experiments/pretrained/trunk.json``, ``experiments/regime/choice*.json`` and the results
files of the ``regime`` experiment; shows training losses only (the rule never saw a test metric,
and this page keeps it so).
"""

from __future__ import annotations

import json

import pandas as pd
from IPython.display import Markdown
from matplotlib.figure import Figure

from rga.study.regime import GRID, convergence_table, data_tag, data_where, schedule_name
from rga.study.report.paths import repo_root
from rga.study.report.studies import study_progress

__all__ = [
    "answer",
    "choice_text",
    "grid_findings",
    "grid_runs",
    "grid_view",
    "init_check",
    "progress_view",
    "regime_intro",
    "trunk_lines",
    "load_choice",
    "plot_regime_losses",
    "regime_table",
    "trunk_table",
]


def load_choice(name: str = "choice.json") -> dict | None:
    """A committed outcome of the rule (``experiments/regime/<name>``); None when absent."""
    path = repo_root() / "experiments" / "regime" / name
    return json.loads(path.read_text()) if path.is_file() else None


def trunk_table(manifest: dict) -> pd.DataFrame:
    """The trunk's provenance as a two-column table (what, value)."""
    config = manifest["config"]
    hardware = manifest.get("hardware") or {}
    versions = manifest.get("versions") or {}
    last = manifest["curve"][-1]
    rows = {
        "file": manifest["file"],
        "sha256": manifest["sha256"],
        "network": f"{manifest['arch']} trunk (stem, conv2_x to conv5_x), "
        f"{config['height']}x{config['width']} input",
        "trained on": f"SynthReID `{config['synth_preset']}` preset: "
        f"{manifest['dataset_statistics']['train']['ids']:,} identities, "
        f"{manifest['dataset_statistics']['train']['images']:,} images "
        f"(data fingerprint {manifest['data']['fingerprint'][:9]})",
        "schedule": f"{config['epochs']} epochs, LR {config['base_lr']:.0e} halved at epochs "
        + ", ".join(str(s) for s in config["lr_steps"]),
        "final training loss": f"{last['loss']:.3f} (cross-entropy {last['ce']:.3f}, "
        f"triplet {last['triplet']:.3f})",
        "trained where": f"{hardware.get('device_name', '?')}, torch {versions.get('torch', '?')}"
        if versions
        else str(hardware.get("device_name", "?")),
        "commit": f"{manifest['git_commit'][:10]}" + (" (dirty)" if manifest["git_dirty"] else ""),
        "training time": f"{manifest['train_time_s'] / 60:.1f} min",
    }
    return pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name="trunk"))


def regime_table(runs: pd.DataFrame) -> pd.DataFrame:
    """`convergence_table` of the regime runs, formatted for the page, in the grid's order (a
    first column names the data when the runs trained on more than one)."""
    table = convergence_table(runs)
    if table.empty:
        return table
    order = {name: i for i, name in enumerate(GRID)}
    datas = {tag: i for i, tag in enumerate(dict.fromkeys(table["data"]))}
    table = table.sort_values(
        ["data", "schedule", "model"],
        key=lambda c: (
            c.map(order) if c.name == "schedule" else c.map(datas) if c.name == "data" else c
        ),
    )
    where = data_where(runs)
    out = pd.DataFrame(
        {
            **({"data": table["data"].map(where)} if len(datas) > 1 else {}),
            "schedule": table["schedule"],
            "model": table["model"].map({"none": "Baseline", "rga-sc": "RGA-SC conv2-5_x"}),
            "final loss": table["final loss"].map("{:.3f}".format),
            "change over last tenth": table["change over last tenth"].map("{:.1%}".format),
            "above next longer": table["above next longer"].map(
                lambda v: "–" if pd.isna(v) else f"{v:+.1%}"
            ),
            "trained enough (≤ 5%)": table["trained enough"].map({True: "yes", False: "no"}),
        }
    )
    return out.reset_index(drop=True)


def plot_regime_losses(runs: pd.DataFrame) -> Figure:
    """Training loss per epoch under each schedule, one panel per model (dashed: runs on the
    second data set, when there are two)."""
    from matplotlib import colormaps

    models = (("none", "Baseline"), ("rga-sc", "RGA-SC conv2-5_x"))
    datas = list(dict.fromkeys(data_tag(run) for _, run in runs.iterrows()))
    styles = ("-", "--", ":", "-.")
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colours = colormaps["viridis"]
    names = list(GRID)
    legend = {}  # label: ((data set, schedule), line), in the legend's order once sorted
    for ax, (kind, title) in zip(axes, models, strict=True):
        for _, run in runs[runs["kind"].fillna("none") == kind].iterrows():
            name = schedule_name(run)
            loss = [e["loss"] for e in run["curve"]]
            second = datas.index(data_tag(run))
            label = name if second == 0 else f"{name}, data {data_tag(run)}"
            (line,) = ax.plot(
                range(1, len(loss) + 1),
                loss,
                lw=1.0,
                ls=styles[second % len(styles)],
                color=colours(names.index(name) / max(len(names) - 1, 1)),
            )
            legend.setdefault(label, ((second, names.index(name)), line))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylim(0.8, 4.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss (CE + triplet)")
    labels = sorted(legend, key=lambda label: legend[label][0])
    fig.legend(
        [legend[label][1] for label in labels],
        labels,
        loc="outside lower center",
        ncols=3,
        fontsize="small",
    )
    return fig


def trunk_lines() -> Markdown:
    """The trunk's provenance as a list, or how to make it."""
    from rga.study.pretrain import trunk_manifest

    manifest = trunk_manifest()
    if manifest is None:
        return Markdown("The trunk has not been made yet: "
                        "`papermill experiments/pretrain.ipynb out.ipynb`.")  # fmt: skip
    rows = trunk_table(manifest)["value"].items()
    return Markdown("\n".join(f"* **{what}**: {value}" for what, value in rows))


def regime_intro() -> Markdown:
    """The grid and the rule, as :mod:`rga.study.regime`'s docstring states them."""
    from rga.study import regime

    text = regime.__doc__.split("The table also shows")[0]
    return Markdown(text.split("pretrained trunk (``pretrained`` profile).")[1])


def grid_runs() -> pd.DataFrame:
    """The grid's runs: it was run with gamma = 1 in RGA's BNs (its baseline runs serve both
    inits)."""
    from rga.study.report.runs import load_runs

    return load_runs("regime", profiles=("pretrained-ones",))


def answer(choice: dict | None, check: Markdown) -> Markdown:
    """The page's answer: what the rule chose (``choice``, :func:`load_choice`) and whether it
    stands under the official init (``check``, :func:`init_check` of that choice)."""
    return Markdown(f"**In short.** {choice_text(choice, None).data}{check.data}")


def grid_view(runs: pd.DataFrame) -> list:
    """The grid's table and training losses, or how to run it."""
    if runs.empty:
        return [Markdown("No regime runs yet: `papermill experiments/regime.ipynb out.ipynb`.")]
    return [regime_table(runs).style.hide(axis="index"), plot_regime_losses(runs)]


def choice_text(choice: dict | None, first: dict | None) -> Markdown:
    """What the rule chose (or that it chose nothing, or was not applied), and what its first
    version chose."""
    if choice is None:
        text = "The rule has not been applied yet."
    elif choice["schedule"] is None:
        text = (f"**By the rule (version {choice['rule']['version']}), no schedule of the grid "
                "has converged, so none is chosen and the study's tables have not been run.** ")  # fmt: skip
    else:
        text = f"The rule chose **{choice['schedule_name']}**; the `pretrained` profile uses it. "
    if first is not None:
        text += (
            f"The rule's first version, applied to the grid up to 100 epochs, chose "
            f"{first['schedule_name'] or 'nothing'} (kept in "
            "`experiments/regime/choice-rule1.json`)."
        )
    return Markdown(text)


def grid_findings(runs: pd.DataFrame) -> Markdown:
    from rga.study import regime

    return Markdown(regime.grid_findings(regime.convergence_table(runs), data_where(runs)))


def init_check(choice: dict | None) -> Markdown:
    """The rule's measure of the chosen schedule under the official BN init."""
    from rga.study import regime
    from rga.study.report.runs import load_runs

    if choice is None or choice["schedule"] is None:
        return Markdown("")
    runs = regime.init_check_runs(load_runs("regime", profiles=("pretrained",)),
                                  load_runs("plugin_position", profiles=("pretrained",)))  # fmt: skip
    return Markdown(regime.init_check_text(regime.convergence_table(runs), choice["schedule_name"]))


def progress_view(choice: dict | None) -> list:
    """How far the study's tables are: a sentence and :func:`rga.study.report.studies.study_progress`."""
    from rga.study.report.styling import styled

    if choice is None or choice["schedule"] is None:
        return [Markdown("No schedule is chosen, so the study's tables are not run: the next "
                         "step is a longer schedule in the grid's shape, judged by the same "
                         "rule.")]  # fmt: skip
    progress = study_progress()
    total = progress.iloc[-1]
    return [
        Markdown(
            "Every model of the ablation tables trains from the trunk under the chosen schedule, and "
            "the from-scratch regime is kept in the `cpu` profile (the page *Why RGA does not train "
            f"from scratch*). Of the {total['runs planned']} runs this plans (each run once), "
            f"{total['runs finished']} have results files; `python -m rga.study.pipeline` runs the "
            "rest (finished runs are found by their results files and not retrained)."
        ),
        styled(progress, index=False),
    ]
