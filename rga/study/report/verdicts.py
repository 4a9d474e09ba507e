"""When a claim cannot be tested: a model on either side did not train.

A claim's verdict comes from its pairs (:mod:`rga.study.report.pairwise`, applied by
:mod:`rga.study.report.claims`); before that, a claim is **not testable** when a model on either
side did not fit its training identities: its final cross-entropy is at least 90 % of ln K, what
a uniform guess over the K training identities scores. (Whether the schedule lets the models
converge is decided once, for the whole study, by the rule of rga.study.regime; a single run's
last epochs are not judged here, because the compressed schedule's last LR step falls in them.)
A verdict about models that did not train says nothing about the claim.
"""

from __future__ import annotations

import math

NEAR_UNIFORM = 0.9  # final CE >= this x ln K: the model did not fit its training identities


def fit_problem(curve: list[dict] | None, train_ids: int | None) -> str:
    """Why a run's model did not train, in words ("" when it did): its final cross-entropy is
    near a uniform guess over its `train_ids` identities. No curve: "no training curve"."""
    if not curve:
        return "no training curve"
    ce = curve[-1].get("ce")
    if train_ids and ce is not None and ce >= NEAR_UNIFORM * math.log(train_ids):
        return f"cross-entropy {ce:.2f} near a uniform guess (ln {train_ids} = {math.log(train_ids):.2f})"
    return ""
