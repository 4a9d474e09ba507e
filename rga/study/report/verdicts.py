"""How a claim's verdict is reached from paired per-seed margins, and when it cannot be.

A claim compares a "better" side with a "worse" side seed by seed (same seed, same data order,
same initial attention weights). Its verdict comes from the 95% t-interval of the mean of those
paired margins over the seeds:

* **holds**: the whole interval is above 0;
* **reversed**: the whole interval is below 0 (the data say the opposite of the claim);
* **inconclusive**: the interval contains 0 (the seeds do not settle it either way);
* **not testable**: a model on either side did not train: its final cross-entropy is at least
  90% of ln K, what a uniform guess over the K training identities scores. (Whether the schedule
  lets the models converge is decided once, for the whole study, by the rule of
  rga.study.regime; a single run's last epochs are not judged here, because the compressed
  schedule's last LR step falls in them.) A verdict about models that did not train says nothing
  about the claim;
* **not run**: no seed has both sides;
* **pending** (set by rga.study.report.claims): the study's runs are not all in yet; every seed
  it plans for the claim's sides is needed before the verdict is stated.

With one seed there is no interval, and the verdict is "inconclusive" unless not testable.
"""

from __future__ import annotations

import math

import numpy as np

from rga.study.report import formats
from rga.study.report.formats import CONFIDENCE

NEAR_UNIFORM = 0.9  # final CE >= this x ln K: the model did not fit its training identities


def t_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high) of the two-sided t-interval of the mean
    (:func:`rga.study.report.formats.t_interval`, the book's one implementation); low = high =
    mean for one value; NaNs for none."""
    v = [float(x) for x in values if x is not None and not np.isnan(x)]
    if not v:
        return (math.nan, math.nan, math.nan)
    mean = float(np.mean(v))
    interval = formats.t_interval(v, confidence)
    if interval is None:
        return (mean, mean, mean)
    return (mean, *interval)


def format_interval(values, digits: int = 1) -> str:
    """ "[+0.4, +2.1]" (95% t-interval of the mean), "" for fewer than two values."""
    v = [x for x in values if x is not None and not np.isnan(x)]
    if len(v) < 2:
        return ""
    _, low, high = t_interval(v)
    return f"[{low:+.{digits}f}, {high:+.{digits}f}]"


def fit_problem(curve: list[dict] | None, train_ids: int | None) -> str:
    """Why a run's model did not train, in words ("" when it did): its final cross-entropy is
    near a uniform guess over its `train_ids` identities. No curve: "no training curve"."""
    if not curve:
        return "no training curve"
    ce = curve[-1].get("ce")
    if train_ids and ce is not None and ce >= NEAR_UNIFORM * math.log(train_ids):
        return f"cross-entropy {ce:.2f} near a uniform guess (ln {train_ids} = {math.log(train_ids):.2f})"
    return ""


def verdict(margins, problems: list[str] | None = None) -> str:
    """The verdict of a claim from its paired per-seed `margins` and the fit `problems` of the
    runs compared (see the module docstring)."""
    if problems:
        return "not testable"
    v = [x for x in margins if x is not None and not np.isnan(x)]
    if not v:
        return "not run"
    _, low, high = t_interval(v)
    if len(v) >= 2 and low > 0:
        return "holds"
    if len(v) >= 2 and high < 0:
        return "reversed"
    return "inconclusive"
