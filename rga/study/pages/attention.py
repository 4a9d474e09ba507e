"""The Attention maps page (``book/attention.md``): supplementary Figures 1 and 2 redrawn from
the saved attention arrays (drawn by :mod:`rga.study.report.attention_figures`, as the Probe
page's figures are), the part scores of Figure 2 as a table and sentences, the fourth module's
scores in words, and the page's opening answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from IPython.display import Markdown

from rga.study.report.attention_arrays import AttentionArrays
from rga.study.report.attention_figures import (  # noqa: F401  (the page's cells call them)
    compare_saved_models,
    listed,
    module_label,
    saved_stages_figure,
    seed_label,
)
from rga.study.report.attention_parts import BODY_PARTS, PART_SCORE_COLUMNS
from rga.study.report.labels import setting_label
from rga.study.report.runs import format_mean_sd
from rga.synth import PARTS

__all__ = [
    "answer",
    "compare_saved_models",
    "figure_caption",
    "fourth_map_numbers",
    "fourth_map_reading",
    "parts_sentences",
    "parts_summary",
    "saved_stages_figure",
]


def figure_caption(
    saved: Mapping[str, AttentionArrays], shipped: set[str] | None = None
) -> Markdown:
    """What a figure of :func:`compare_saved_models` or :func:`saved_stages_figure` shows: its
    runs (id, seed, profile), why those seeds, how the maps are drawn and scored.

    ``shipped``: the run ids whose weights the repository ships (default: read from
    ``rga.study.probe_weights``), named as the Probe page's models."""
    if shipped is None:
        from rga.study.probe_weights import shipped_runs

        shipped = {entry["run_id"] for entry in shipped_runs()}
    runs = "; ".join(
        f"{label}: `{a.meta.get('run_id')}` ({seed_label(a)}, {a.meta.get('profile')} profile, "
        f"{a.meta.get('epochs')} epochs)"
        for label, a in saved.items()
    )
    seeds = {a.meta.get("seed") for a in saved.values()}
    which = f"seed {seeds.pop()}" if len(seeds) == 1 else "the seed named in each row"
    probe = [label for label, a in saved.items() if a.meta.get("run_id") in shipped]
    also = (
        f" The Probe page runs the same {'run' if len(probe) == 1 else 'runs'} of "
        f"{listed(probe)}, whose weights the repository ships."
        if probe
        else ""
    )
    scored = (
        " Under each map, the share of its mass on the person mask (the per-image value the "
        "precision tables below average over the test images; for it the map is upsampled "
        "bilinearly to the mask, as there); under each image, the person's share of the "
        "pixels, which is what a uniform map scores."
        if all(a.masks is not None for a in saved.values())
        else " These runs saved no person masks, so no score is given per image."
    )
    return Markdown(
        f"Runs: {runs}. Shown is {which}: the lowest seed recorded for each model, taken "
        "whatever its maps look like (`rga.study.report.select_attention_arrays`), so the "
        f"pictures are not a chosen best case.{also} Each map is drawn on the module's own "
        "feature grid, one flat cell per position, with the person mask outlined in white. "
        "Colours span each row's own range, from its smallest to its largest value over the "
        "row's images (the colour bar at its right gives both): rows differ in range, so read "
        f"each row against its own bar.{scored}"
    )


# --- the opening answer -----------------------------------------------------------------------


def _checks(n: int) -> str:
    return "the check" if n == 1 else f"the {n} checks"


def _verdicts(verdicts: pd.Series) -> str:
    """ "it holds", "all 4 are inconclusive", "3 inconclusive, 1 holds"."""
    counts = verdicts.value_counts()
    if len(counts) > 1:
        return ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    verdict = counts.index[0]
    if len(verdicts) == 1:
        return f"it {verdict}" if verdict == "holds" else f"it is {verdict}"
    return (
        f"all {len(verdicts)} hold" if verdict == "holds" else f"all {len(verdicts)} are {verdict}"
    )


def answer(
    precision: pd.DataFrame,
    claims: pd.DataFrame,
    profile: str,
    study: str,
    maps_profile: str | None = None,
) -> Markdown:
    """The page's answer in three sentences, from the scores and verdicts of one study.

    Args:
        precision: ``rga.study.report.attention_precision_table`` of that study's runs.
        claims: ``rga.study.report.claims.study_claims()`` (the attention claims are picked).
        profile: the study's profile (e.g. "pretrained-ones").
        study: how the text names it (``rga.study.report.studies.PROFILE_NAMES[profile]``).
        maps_profile: the profile of the runs whose maps the figures draw, named when it is
            not ``profile``.
    """
    checks = claims[
        claims["metric"].isin(["AUROC", "mass on person"]) & (claims["profile"] == profile)
    ]
    fourth = precision[precision["stage"] == 4]
    if checks.empty or fourth.empty:
        return Markdown(
            "The supplementary shows pictures of attention maps as evidence that RGA-SC attends "
            "more precisely to the person than CBAM or RGA-SC without relations. This page "
            "answers with scores once the study's runs are recorded; the sections below say "
            "which are missing."
        )
    seeds = sorted({int(s) for s in checks["seeds"] if pd.notna(s)})
    seeds_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
    means = fourth.groupby("setting")["mass_on_person"].mean().sort_values()
    low, high = means.index[0], means.index[-1]
    chance = fourth["chance"].mean()
    whose = (
        f" (from runs of the `{maps_profile}` profile, whose maps are saved for all three models)"
        if maps_profile not in (None, profile)
        else ""
    )
    return Markdown(
        "Does RGA-SC's attention cover the person more precisely than CBAM-CS's or than RGA-SC "
        f"without relations, as the supplementary's Figure 1 suggests? In {study}, "
        f"{_checks(len(checks))} of that claim (against each model, in AUROC and in mass on the "
        f"person, {seeds_text} seeds): {_verdicts(checks['verdict'])}. At the fourth module "
        f"the settings put between {means.iloc[0]:.3f} ({low}) and {means.iloc[-1]:.3f} "
        f"({high}) of their attention mass on the person, means over seeds, against "
        f"{chance:.3f} for a uniform map. Below, each map{whose} is drawn on its module's "
        "feature grid with the person outlined and that share printed under it."
    )


# --- Figure 2 in numbers: the part scores -------------------------------------------------------


def parts_summary(parts: pd.DataFrame) -> pd.DataFrame:
    """``rga.study.report.attention_parts.attention_parts_table`` (one model) as the page's
    table: one row per (runs of, module), columns ("variance explained", "by the 7 regions" |
    "person vs background") in percent and ("mean gate", <region>), mean ± sd over seeds, and
    the number of seeds. Empty in, empty out."""
    if parts.empty:
        return pd.DataFrame()
    rows = {}
    for (group, stage), g in parts.groupby(["group", "stage"], sort=False):
        row = {
            ("variance explained", "by the 7 regions"): _percent(g["explained"]),
            ("variance explained", "person vs background"): _percent(g["explained_person"]),
        }
        for part in PARTS:
            row[("mean gate", part)] = format_mean_sd(g[f"mean_{part}"].astype(float), digits=3)
        row[("seeds", "")] = g["seed"].nunique()
        rows[(group, module_label(stage))] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["runs of", "module"])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def _percent(shares: pd.Series) -> str:
    """Shares as "mean ± sd %" over seeds; "constant map" when no seed's map varied."""
    values = shares.astype(float)
    if values.isna().all():
        return "constant map"
    return f"{format_mean_sd(100 * values, digits=0)} %"


def parts_sentences(parts: pd.DataFrame) -> list[str]:
    """One sentence per stage, from the means over seeds of ``attention_parts_table`` (one
    model): how much of the map the parts explain, beyond person vs background, which region
    gets the highest and which the lowest gate, and how many body parts get less than the
    background."""
    sentences = []
    for stage, g in parts.groupby("stage"):
        means = g[PART_SCORE_COLUMNS].astype(float).mean()
        gates = {p: means[f"mean_{p}"] for p in PARTS if pd.notna(means[f"mean_{p}"])}
        module = module_label(stage)
        if not gates:
            continue
        if pd.isna(means["explained"]):
            sentences.append(
                f"{module}: the map is constant over each image (gate {gates[PARTS[0]]:.3f}), "
                "so no region gets more attention than another."
            )
            continue
        top, bottom = max(gates, key=gates.get), min(gates, key=gates.get)
        below = [p for p in BODY_PARTS if p in gates and gates[p] < gates.get("background", -1)]
        if not below:
            versus = "every body part gets more than the background."
        elif len(below) == len(BODY_PARTS):
            versus = "all six body parts get less than the background."
        else:
            verb = "gets" if len(below) == 1 else "get"
            versus = f"{len(below)} of the six body parts ({', '.join(below)}) {verb} less than the background."
        sentences.append(
            f"{module}: the seven regions explain {means['explained']:.0%} of the map's variance "
            f"over the pixels, person versus background alone {means['explained_person']:.0%}; "
            f"the highest mean gate is on the {top} ({gates[top]:.3f}), the lowest on the "
            f"{bottom} ({gates[bottom]:.3f}); {versus}"
        )
    return sentences


def fourth_map_numbers(precision: pd.DataFrame, runs: pd.DataFrame, profile: str) -> dict[str, str]:
    """What the page's prose cites of the fourth module's scores in ``profile``'s runs: the
    lowest and highest mean over seeds of the mass on the person across settings
    (``mass_low``, ``mass_high``), the uniform map's share (``chance``, the mean mask area) and
    the lowest and highest AUROC of RGA-SC conv2-5_x's seeds (``rga_sc_auroc_low``/``_high``);
    "–" where there is none."""
    ids = set(runs.loc[runs["profile"] == profile, "run_id"]) if not runs.empty else set()
    fourth = precision[(precision["stage"] == 4) & precision["run_id"].isin(ids)]
    if fourth.empty:
        return dict.fromkeys(
            ("mass_low", "mass_high", "chance", "rga_sc_auroc_low", "rga_sc_auroc_high"), "–"
        )
    means = fourth.groupby("setting")["mass_on_person"].mean()
    rga_sc = fourth.loc[fourth["setting"] == setting_label("rga-sc", (1, 2, 3, 4)), "auroc"]
    return {
        "mass_low": f"{means.min():.2f}",
        "mass_high": f"{means.max():.2f}",
        "chance": f"{fourth['chance'].mean():.3f}",
        "rga_sc_auroc_low": f"{rga_sc.min():.2f}" if not rga_sc.empty else "–",
        "rga_sc_auroc_high": f"{rga_sc.max():.2f}" if not rga_sc.empty else "–",
    }


def fourth_map_reading(precision: pd.DataFrame, runs: pd.DataFrame, claims: pd.DataFrame,
                       profile: str) -> str:  # fmt: skip
    """The fourth module's scores in ``profile``'s runs, in words, all computed: each check's
    verdict in both scores, where the settings' mass on the person sits against a uniform map,
    which setting's AUROC varies most over seeds, and which settings' AUROC is below 0.5 (more
    on the background than on the person) in every seed."""
    numbers = fourth_map_numbers(precision, runs, profile)
    ids = set(runs.loc[runs["profile"] == profile, "run_id"]) if not runs.empty else set()
    fourth = precision[(precision["stage"] == 4) & precision["run_id"].isin(ids)]
    rows = claims[(claims["profile"] == profile)
                  & claims["metric"].isin(["AUROC", "mass on person"])]  # fmt: skip
    if fourth.empty or rows.empty:
        return "No run of this study has scored attention maps yet."
    checks = []
    for text, group in rows.groupby("claim", sort=False):
        against = text.rsplit("than ", 1)[-1].removesuffix("'s")
        verdicts = ", ".join(f"*{v}* in {m}" for m, v in zip(group["metric"], group["verdict"],
                                                              strict=True))  # fmt: skip
        checks.append(f"against {against}, {verdicts}")
    spread = fourth.groupby("setting")["auroc"].agg(lambda a: a.max() - a.min())
    widest = spread.idxmax()
    below = [s for s, g in fourth.groupby("setting") if (g["auroc"] < 0.5).all()]
    sentences = [
        f"The two checks: {'; '.join(checks)}.",
        f"The settings' fourth maps put from {numbers['mass_low']} to {numbers['mass_high']} of "
        f"their mass on the person (means over seeds), against {numbers['chance']} for a uniform "
        "map.",
        f"The AUROC varies most over seeds for {widest} (from "
        f"{fourth.loc[fourth['setting'] == widest, 'auroc'].min():.2f} to "
        f"{fourth.loc[fourth['setting'] == widest, 'auroc'].max():.2f}).",
    ]
    if below:
        sentences.append(
            f"{', '.join(below)} ha{'s' if len(below) == 1 else 've'} an AUROC below 0.5 in every "
            "seed: the map is more on the background than on the person."
        )
    return " ".join(sentences)
