"""The parts of an experiment's page, the same for every experiment: what was run (or that our
runs are pending), the paper's table beside ours, ordering against ordering, the gains, the
claims and the training curves.

Each function returns something a page shows as a cell's value (a Styler, a Figure, Markdown),
so the four experiment pages are a handful of calls each and never copies of one another.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from rga.study.report.formats import MISSING
from rga.study.report.paper import (
    PAPER_TABLES,
    groups_legend,
    ordering_agreement,
    ordering_table,
    paper_vs_ours_table,
    settings_long,
)
from rga.study.report.paths import results_dir

TAU = "Kendall's tau"  # the column of ordering_agreement

__all__ = [
    "claims_table",
    "comparison",
    "example_run_id",
    "gains_figure",
    "ordering",
    "ordering_sentence",
    "status",
    "styled",
    "verdict_sentences",
    "with_swatches",
]


def styled(
    table: pd.DataFrame,
    caption: str | None = None,
    index: bool = True,
    nowrap: bool | list[str] = False,
):
    """A text table as the book shows it: a Styler, with an optional caption above it and the
    index hidden unless ``index``. Cells are text already (:mod:`rga.study.report.formats`).

    ``nowrap``: True keeps every data cell and the row labels on their lines (a "mean ± sd"
    never breaks at its spaces, "conv2-5_x" never at its hyphen; a cell's own line breaks, such
    as the confidence interval under a mean, stay); a list of columns does so for those only.
    """
    style = table.style.format(escape="html").format_index(escape="html", axis=0)
    style = style.format_index(escape="html", axis=1)
    if not index:
        style = style.hide(axis="index")
    if caption:
        style = style.set_caption(caption)
    if nowrap is True:
        style = style.set_table_styles(
            [{"selector": "td, th.row_heading", "props": "white-space: pre;"}], overwrite=False
        )
    elif nowrap:
        style = style.set_properties(subset=list(nowrap), **{"white-space": "pre"})
    return style


def with_swatches(table: pd.DataFrame):
    """A glossary table whose colour column (hex codes) shows a square in each colour."""
    column = next(c for c in table.columns if "colour" in c)
    return (
        styled(
            table, index=False, nowrap=["label", "positions"] if "positions" in table else ["label"]
        )
        .apply(lambda col: [f"color: {c}; font-size: 1.3em" for c in col], subset=[column])
        .format({column: lambda c: "■"})
    )


def example_run_id(runs: pd.DataFrame) -> str:
    """A real run id to show as an example: RGA-SC after all four stages, the lowest seed (else
    the first run)."""
    from rga.study.report.labels import setting_key

    wanted = setting_key("rga-sc", "1,2,3,4")
    chosen = runs[[k == wanted for k in runs["setting_key"]]]
    chosen = chosen if not chosen.empty else runs
    return str(chosen.sort_values("seed")["run_id"].iloc[0])


def _relative(path) -> str:
    from rga.study.report.paths import _relative as relative

    return relative(path)


def status(runs: pd.DataFrame, experiment: str, root=None) -> Markdown:
    """A sentence on what our runs of ``experiment`` are: the groups of runs, the number of runs
    and seeds; or, without runs, that they are pending and the page shows the paper alone. Either
    way it names the study's profiles (``runs`` is :func:`rga.study.report.runs.load_runs` of
    them) and how many runs of other profiles the folder holds and the page leaves out."""
    from rga.study.report.runs import STUDY_PROFILES, left_out_profiles, left_out_text

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


def comparison(runs: pd.DataFrame, paper: pd.DataFrame, experiment: str):
    """The paper's table for ``experiment`` beside ours (:func:`paper_vs_ours_table`)."""
    spec = PAPER_TABLES[experiment]
    table = paper_vs_ours_table(runs, paper, table=spec.table)
    caption = f"{spec.title[0].upper()}{spec.title[1:]}: the paper (real data, one run each)"
    if not runs.empty:
        caption += " beside ours (SynthReID; mean ± sd over seeds, 95 % CI below)"
    return styled(table, caption, nowrap=True)


def ordering(runs: pd.DataFrame, paper: pd.DataFrame, experiment: str, metric: str = "mAP"):
    """The paper's ranking of the settings beside ours, best first (:func:`ordering_table`)."""
    table = ordering_table(runs, paper, PAPER_TABLES[experiment].table, metric)
    what = "The settings both have" if not runs.empty else "The paper's settings"
    where = f", all after {table.attrs['position']}" if table.attrs.get("position") else ""
    return styled(table, f"{what}{where}, best {metric} first", nowrap=True)


def ordering_sentence(
    runs: pd.DataFrame, paper: pd.DataFrame, experiment: str, metric: str = "mAP"
) -> Markdown:
    """In words: how many pairs of settings we order as the paper does, per dataset."""
    if runs.empty:
        return Markdown("Our ordering appears beside the paper's once our runs exist.")
    agreement = ordering_agreement(runs, paper, PAPER_TABLES[experiment].table, metric)
    parts = []
    for _, row in agreement.iterrows():
        if row["pairs"] == 0:
            continue
        parts.append(
            f"against the paper on {row['against'].removeprefix('paper, ')}, {row['ours']} order "
            f"{row['same order']} of the {row['pairs']} pairs of settings the same way and "
            f"{row['opposite order']} the other way round"
            + (f" ({row['tied']} tied in the paper)" if row["tied"] else "")
            + f" (Kendall's τ = {row[TAU]})"
        )
    if not parts:
        return Markdown("Our runs share fewer than two settings with the paper's table.")
    return Markdown(
        f"By {metric}: " + "; ".join(parts) + ". Kendall's τ is (same − opposite) / pairs: "
        "1 is the paper's ordering, −1 its reverse."
    )


def gains_figure(runs: pd.DataFrame, paper: pd.DataFrame, experiment: str):
    """Each setting's gain over the baseline, paper and ours (:func:`plot_gains`)."""
    from rga.study.report.plots import plot_gains

    return plot_gains(settings_long(runs, paper, table=PAPER_TABLES[experiment].table))


MARGIN = "margin, 95 % CI"


def claims_table(
    claims: pd.DataFrame,
    experiment: str | None = None,
    run: bool = True,
    keys: tuple[str, ...] = ("claim", "metric"),
    sides: bool = False,
):
    """The claim checks (:func:`rga.study.report.claims.check_claims`) of ``experiment`` (all
    when None) whose verdict is not "not run" (``run``) or is (not ``run``), as a Styler: ``keys``
    as the index, then the verdict, its pairs (:func:`pairs_text`), seeds ("2 of 5" where the
    study plans more), the smallest effect the seeds detect with 80 % power (and why not
    testable, where a claim is not) and the paper's margins (with ``sides``, our two sides'
    mean ± sd first); a sentence when there is none."""
    rows = claims if experiment is None else claims[claims["experiment"] == experiment]
    rows = rows[(rows["verdict"] != "not run") == run]
    if rows.empty:
        return Markdown(
            "No claim of this experiment has runs yet." if run else "None: every claim has runs."
        )
    paper_columns = [c for c in rows.columns if c.startswith("paper, ")]
    keys = list(keys)
    if rows["runs of"].nunique() > 1:  # several studies: named by profile if that tells them apart
        by_profile = "profile" in rows and rows["profile"].nunique() == rows["runs of"].nunique()
        keys.append("profile" if by_profile else "runs of")
    table = rows.assign(
        **{
            DETECTABLE: [_points(r, r["detectable"]) for _, r in rows.iterrows()],
            PAIRS: [pairs_text(r["pairs"], r["metric"]) for _, r in rows.iterrows()],
        }
    )
    if "seeds planned" in rows:  # "2 of 5": the study plans more seeds (verdict "pending")
        table["seeds"] = [
            f"{n} of {int(p)}" if pd.notna(p) and p else str(n)
            for n, p in zip(rows["seeds"], rows["seeds planned"], strict=True)
        ]
    columns = ([*(["better side", "worse side"] if sides else []), "verdict", PAIRS, "seeds",
                DETECTABLE] if run else [])  # fmt: skip
    if run and "why not testable" in rows and (rows["why not testable"] != "").any():
        columns.append("why not testable")
    table = table.set_index(keys)[columns + paper_columns].replace("", MISSING).astype(str)
    wrapped = ("verdict", PAIRS, "why not testable")
    return styled(table, nowrap=[c for c in table.columns if c not in wrapped])


PAIRS = "pairs: mean difference [95 % CI], Holm p; by seed"
DETECTABLE = "detectable at 80 % power"


def _digits(metric: str) -> int:
    return 1 if metric in ("mAP", "R1") else 3


def _pair_label(pair: dict, pairs: list[dict]) -> str:
    """The pair's name: "vs CBAM-CS conv2-5_x" when every pair of the claim has the same better
    setting, "RGA-SC conv3_x vs" when they share the worse one, else "A vs B"."""
    if len({p["better"] for p in pairs}) == 1:
        return f"vs {pair['worse']}"
    if len({p["worse"] for p in pairs}) == 1:
        return f"{pair['better']} vs"
    return f"{pair['better']} vs {pair['worse']}"


def pairs_text(pairs: list[dict], metric: str) -> str:
    """A claim's pairs, one line each: "vs Baseline: -3.5 [-4.3, -2.7], p 0.007 reversed;
    -3.6, -2.6, -3.2, -4.0, -4.2" (mean difference, 95 % t-interval, Holm-adjusted p, the
    pair's verdict, the differences of seeds 0, 1, ... in order; "s3:" marks a seed after a
    gap); "–" without pairs."""
    digits = _digits(metric)
    lines = []
    for pair in pairs:
        interval = (
            ""
            if pd.isna(pair["low"])
            else f" [{pair['low']:+.{digits}f}, {pair['high']:+.{digits}f}]"
        )
        p = "" if pd.isna(pair["p"]) else f", p {pair['p']:.3f}"
        seeds = [s for s, _ in pair["by seed"]]
        labelled = seeds != list(range(len(seeds)))
        values = ", ".join(
            (f"s{s}: " if labelled else "") + f"{v:+.{digits}f}" for s, v in pair["by seed"]
        )
        lines.append(
            f"{_pair_label(pair, pairs)}: {pair['mean']:+.{digits}f}{interval}{p} "
            f"{pair['verdict']}; {values}"
        )
    return "\n".join(lines) or MISSING


def _points(row: pd.Series, value: float) -> str:
    """ "1.2 points" for R1 and mAP, "0.043" for attention scores; "–" for NaN."""
    if pd.isna(value):
        return MISSING
    return f"{value:.1f} points" if row["metric"] in ("mAP", "R1") else f"{value:.3f}"


def _metric_phrase(row: pd.Series) -> str:
    """One metric's verdict in words: "*reversed* in mAP (RGA-SC conv2-5_x − Baseline -3.5,
    95 % CI [-4.3, -2.7], Holm p 0.002)" for each decided pair; for an inconclusive claim, what
    its intervals rule out and what its seeds could detect."""
    digits = _digits(row["metric"])
    pairs = list(row["pairs"])
    decided = [p for p in pairs if p["verdict"] in ("holds", "reversed")]
    verdict = f"*{row['verdict']}* in {row['metric']}"
    if row["verdict"] in ("holds", "reversed", "mixed"):
        shown = "; ".join(
            f"{p['better']} − {p['worse']} {p['mean']:+.{digits}f}, 95 % CI "
            f"[{p['low']:+.{digits}f}, {p['high']:+.{digits}f}], Holm p {p['p']:.3f}"
            for p in decided
        )
        undecided = len(pairs) - len(decided)
        rest = f"; {undecided} of {len(pairs)} pairs undecided" if undecided else ""
        return f"{verdict} ({shown}{rest})"
    detect = f"the seeds detect {_points(row, row['detectable'])} with 80 % power"
    bound = row["rules out above"]
    if pd.notna(bound) and bound <= 0:
        return (
            f"{verdict}: every pair's 95 % interval lies below zero (the highest bound "
            f"{_points(row, bound)}), so no gain is left open, but not every pair is decided "
            f"after Holm's correction; {detect}"
        )
    return (
        f"{verdict}: a gain above {_points(row, bound)} over any setting of the worse side is "
        f"ruled out at 95 %, and {detect}"
    )


def verdict_sentences(claims: pd.DataFrame) -> Markdown:
    """The verdicts of :func:`rga.study.report.claims.check_claims` rows (one group of runs) in
    words, one item per claim: each metric's verdict with its decided pairs (mean difference,
    95 % t-interval, Holm p) or, when inconclusive, what it rules out and what the seeds detect,
    and the number of seeds; "pending" with the seeds in and planned; "not testable" with why.
    Claims without runs are left out; a sentence when none has any."""
    rows = claims[claims["verdict"] != "not run"]
    if rows.empty:
        return Markdown("No claim has runs in this study yet.")
    items = []
    for text, group in rows.groupby("claim", sort=False):
        first = group.iloc[0]
        source = f" ({first['source']})" if first.get("source") else ""
        planned = first.get("seeds planned")
        if (group["verdict"] == "pending").any():
            body = f"*pending*: {int(first['seeds'])} of {int(planned)} planned seeds are in."
        elif (group["verdict"] == "not testable").any():
            body = f"*not testable*: {first['why not testable']}."
        else:
            seeds = int(group["seeds"].min())
            body = " and ".join(_metric_phrase(r) for _, r in group.iterrows())
            body = f"{body}; {seeds} seed{'s' if seeds != 1 else ''}."
        items.append(f"- **{text}**{source}: {body}")
    return Markdown("\n".join(items))
