"""The claim checks of :mod:`rga.study.report.claims` as the book shows them: a table (verdict,
pairs, seeds, the effect the seeds detect, the paper's margins) and the verdicts in words."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from rga.study.report.formats import MISSING
from rga.study.report.styling import styled

__all__ = [
    "DETECTABLE",
    "PAIR_COLUMNS",
    "SEEDS",
    "claims_table",
    "pair_rows",
    "verdict_sentences",
]

DETECTABLE = "detectable at 80 % power"


def claims_table(
    claims: pd.DataFrame,
    experiment: str | None = None,
    run: bool = True,
    sides: bool = False,
):
    """The claim checks (:func:`rga.study.report.claims.check_claims`) of ``experiment`` (all
    when None) whose verdict is not "not run" (``run``) or is (not ``run``), as a Styler.

    With ``run``: one line per pair (:func:`pair_rows`), narrow enough for the text column: the
    claim with the paper's own check of it on its first line, each metric's verdict (and why not
    testable) and its seeds ("2 of 5" where the study plans more) with the smallest effect they
    detect at 80 % power on that metric's first line (with ``sides``, our two sides' mean ± sd
    last). Without ``run``: each claim and metric with the paper's margins. A sentence when there is no such
    claim."""
    rows = claims if experiment is None else claims[claims["experiment"] == experiment]
    rows = rows[(rows["verdict"] != "not run") == run]
    if rows.empty:
        return Markdown(
            "No claim of this experiment has runs yet." if run else "None: every claim has runs."
        )
    paper_columns = [c for c in rows.columns if c.startswith("paper, ")]
    keys = ["claim", "metric"]
    if rows["runs of"].nunique() > 1:  # several studies: named by profile if that tells them apart
        by_profile = "profile" in rows and rows["profile"].nunique() == rows["runs of"].nunique()
        keys.append("profile" if by_profile else "runs of")
    table = rows.assign(**{DETECTABLE: [_points(r, r["detectable"]) for _, r in rows.iterrows()]})
    if "seeds planned" in rows:  # "2 of 5": the study plans more seeds (verdict "pending")
        table["seeds"] = [
            f"{n} of {int(p)}" if pd.notna(p) and p else str(n)
            for n, p in zip(rows["seeds"], rows["seeds planned"], strict=True)
        ]
    if not run:
        table = table.set_index(keys)[paper_columns].replace("", MISSING).astype(str)
        return styled(table, nowrap=True)
    long = []
    for _, group in table.groupby([keys[0], *keys[2:]], sort=False):
        for m, (_, row) in enumerate(group.iterrows()):
            pairs = pair_rows(list(row["pairs"]), row["metric"]) or [
                dict.fromkeys(PAIR_COLUMNS, MISSING)
            ]
            for i, pair in enumerate(pairs):  # a claim's and a metric's cells on their first line
                first = i == 0
                line = {
                    "claim": _claim_cell(row, keys, paper_columns) if first and m == 0 else "",
                    "metric: verdict": _verdict_cell(row) if first else "",
                    **pair,
                    SEEDS: f"{row['seeds']}\n{row[DETECTABLE]}" if first else "",
                }
                if sides:
                    for side in ("better side", "worse side"):
                        line[side] = str(row[side]) if first else ""
                long.append(line)
    out = pd.DataFrame(long)
    return styled(
        out.astype(str), index=False, nowrap=["metric: verdict", "difference, 95 % CI", SEEDS]
    )


def _claim_cell(row: pd.Series, keys: list[str], paper_columns: list[str]) -> str:
    """The claim's text, the study when the table holds several, and the paper's own check of
    it on each dataset ("paper: CUHK03 (L) +2.2 (holds); Market-1501 +1.8 (holds)")."""
    text = str(row["claim"])
    text += "".join(f" ({row[k]})" for k in keys[2:])
    paper = [f"{c.removeprefix('paper, ')} {row[c]}" for c in paper_columns if row[c] != ""]
    return text + (f"\npaper: {'; '.join(paper)}" if paper else "")


def _verdict_cell(row: pd.Series) -> str:
    """ "mAP: reversed"; a claim that is not testable says why."""
    why = row.get("why not testable", "")
    return f"{row['metric']}: {row['verdict']}" + (
        f"\n({why})" if isinstance(why, str) and why else ""
    )


PAIR_COLUMNS = ("pair", "difference, 95 % CI", "Holm p, pair's verdict")
SEEDS = "seeds, detectable at 80 % power"


def pair_rows(pairs: list[dict], metric: str) -> list[dict]:
    """A claim's pairs, one dict each (``PAIR_COLUMNS``): the pair's name, its mean difference
    with the 95 % t-interval over the differences of seeds 0, 1, ... in order ("s3:" marks a
    seed after a gap), and the Holm-adjusted p over the pair's verdict."""
    digits = _digits(metric)
    out = []
    for pair in pairs:
        interval = (
            ""
            if pd.isna(pair["low"])
            else f" [{pair['low']:+.{digits}f}, {pair['high']:+.{digits}f}]"
        )
        seeds = [s for s, _ in pair["by seed"]]
        labelled = seeds != list(range(len(seeds)))
        values = ", ".join(
            (f"s{s}: " if labelled else "") + f"{v:+.{digits}f}" for s, v in pair["by seed"]
        )
        out.append(
            {
                "pair": _pair_label(pair, pairs),
                "difference, 95 % CI": f"{pair['mean']:+.{digits}f}{interval}\nby seed: {values}",
                "Holm p, pair's verdict": (
                    pair["verdict"] if pd.isna(pair["p"]) else f"{pair['p']:.3f}\n{pair['verdict']}"
                ),
            }
        )
    return out


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
