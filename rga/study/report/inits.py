"""The official BN init beside its recorded deviation (gamma = 1): the two studies in the paper's
regime, compared (the plan: ``experiments/plans/official-init.md``, "The two inits side by side").

Both studies share every run whose model the init cannot change (the baseline, SE, NL, CBAM;
:func:`rga.study.report.runs.study_profiles`), so the two differ only in the RGA runs, seed by seed:

* :func:`init_verdicts`: each claim's verdict in both studies, side by side;
* :func:`init_effect`: for each RGA setting, its metric under the official init minus under
  gamma = 1 at the same seed, with the mean and 95 % t-interval. For RGA-SC after all four stages
  this is also how much the init moves its margin against the baseline (the baseline run of a
  seed is the same in both studies).
"""

from __future__ import annotations

import pandas as pd

from rga.engine.config import ATTENTION_BN_KINDS
from rga.study.report.formats import interval_text, mean_sd, t_interval
from rga.study.report.labels import setting_label, setting_sort_key

__all__ = ["COLUMNS", "OFFICIAL", "ONES", "init_effect", "init_verdicts"]

OFFICIAL, ONES = "pretrained", "pretrained-ones"
COLUMNS = {OFFICIAL: "official init (the study)", ONES: "gamma = 1 (the deviation)"}


def init_verdicts(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim, metric) of :func:`rga.study.report.claims.check_claims` rows: the
    verdict in each study (``COLUMNS``; "not run" where a study has no row) and whether the init
    changes it ("yes", "no", or "not yet known" while the official study's verdict is pending or
    not run)."""
    rows = claims[claims["profile"].isin(list(COLUMNS))]
    table = rows.pivot_table(
        index=["claim", "metric"], columns="profile", values="verdict", aggfunc="first", sort=False
    ).reindex(columns=list(COLUMNS))
    table = table.fillna("not run").rename(columns=COLUMNS)
    official, ones = table[COLUMNS[OFFICIAL]], table[COLUMNS[ONES]]
    settled = ~official.isin(["pending", "not run"])
    changes = (official != ones).map({True: "yes", False: "no"})
    table["the init changes the verdict"] = changes.where(settled, "not yet known")
    return table.reset_index()


def init_effect(runs: pd.DataFrame, metric: str = "mAP") -> pd.DataFrame:
    """One row per RGA setting with runs in both studies: the per-seed difference of ``metric``
    (official init minus gamma = 1, same seed; percentage points), its mean ± sd, 95 %
    t-interval and values by seed, and the seeds. ``runs`` as :func:`rga.study.report.load_runs`
    (any experiments; each run once per study)."""
    columns = ["setting", "difference", "95 % CI", "by seed", "seeds"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    rga = runs[runs["profile"].isin(list(COLUMNS)) & runs["kind"].isin(ATTENTION_BN_KINDS)]
    values = rga.drop_duplicates(["run_id", "profile"]).pivot_table(
        index=["setting_key", "seed"], columns="profile", values=metric, aggfunc="first"
    )
    if values.empty or not set(COLUMNS) <= set(values.columns):
        return pd.DataFrame(columns=columns)
    difference = (values[OFFICIAL] - values[ONES]).dropna()
    rows = []
    for key, d in difference.groupby(level="setting_key", sort=False):
        d = d.droplevel("setting_key").sort_index()
        rows.append(
            {
                "setting": setting_label(*key),
                "difference": mean_sd(d, 1, signed=True),
                "95 % CI": interval_text(t_interval(d), 1),
                "by seed": ", ".join(f"{v:+.1f} (s{int(s)})" for s, v in d.items()),
                "seeds": len(d),
                "_order": setting_sort_key(key),
            }
        )
    out = pd.DataFrame(rows).sort_values("_order", kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)
