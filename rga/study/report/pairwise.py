"""Pairwise verdicts: paired per-seed differences, Holm's correction over a family, power.

A claim "better beats worse" is a set of pairs (one setting of its better side, one of its worse
side). Each pair is tested on its paired per-seed differences d_s = better_s - worse_s (same
seed: same data order, same initial weights of the shared parts):

* mean, 95 % t-interval of the mean and the two-sided p-value of the paired t-test (H0: the
  mean difference is 0);
* Holm's step-down correction over a *family* of pairs (every pair of every claim of one study
  and one metric), so that the chance of any false "holds" or "reversed" in the family stays at
  or below ``ALPHA``;
* a pair **holds** when its adjusted p-value is below ``ALPHA`` and its mean is positive,
  is **reversed** when the adjusted p-value is below ``ALPHA`` and its mean is negative, and is
  otherwise **undecided**;
* a claim **holds** when every pair holds, is **reversed** when every pair is reversed, is
  **mixed** when some pairs hold or are reversed and the others are not all alike, and is
  otherwise **inconclusive** (:func:`claim_verdict`).

An inconclusive claim says what it rules out (:func:`largest_gain_not_ruled_out`), and every
claim shows the smallest effect its seeds detect with 80 % power (:func:`detectable_effect`).
The plan that fixed this procedure before the official-init study's results is
``experiments/plans/official-init.md``; ``tests/test_pairwise.py`` measures its false-verdict
rate on simulated studies in which every setting shares one distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

ALPHA = 0.05  # family-wise error rate of Holm's correction; two-sided tests
POWER = 0.8  # the power at which the detectable effect is stated
CONFIDENCE = 0.95  # of the t-interval of each pair's mean difference

__all__ = [
    "ALPHA",
    "POWER",
    "PairTest",
    "claim_verdict",
    "detectable_effect",
    "holm",
    "largest_gain_not_ruled_out",
    "pair_test",
    "pair_verdict",
    "paired_p_values",
    "pooled_sd",
]


class PairTest(tuple):
    """(n, mean, sd, low, high, p) of one pair's paired differences; NaNs where undefined."""

    __slots__ = ()
    _fields = ("n", "mean", "sd", "low", "high", "p")

    def __new__(cls, n, mean, sd, low, high, p):
        return super().__new__(cls, (n, mean, sd, low, high, p))

    n = property(lambda self: self[0])
    mean = property(lambda self: self[1])
    sd = property(lambda self: self[2])
    low = property(lambda self: self[3])
    high = property(lambda self: self[4])
    p = property(lambda self: self[5])


def pair_test(differences: Iterable[float], confidence: float = CONFIDENCE) -> PairTest:
    """The paired t-test of per-seed ``differences`` (better minus worse).

    ``pair_test([1, 2, 3])``: n 3, mean 2, sd 1, t = 2 / (1 / sqrt 3) = 3.464 on 2 df, so
    p = 0.0742 and the 95 % interval is 2 ± 4.303 / sqrt 3 = [-0.484, 4.484]. With fewer than two
    values the sd, interval and p are NaN; with a zero sd and a non-zero mean p is 0.
    """
    from scipy.stats import t

    d = np.asarray([float(x) for x in differences], dtype=float)
    d = d[~np.isnan(d)]
    n = int(d.size)
    if n == 0:
        return PairTest(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean = float(d.mean())
    if n < 2:
        return PairTest(1, mean, math.nan, math.nan, math.nan, math.nan)
    sd = float(d.std(ddof=1))
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return PairTest(n, mean, sd, mean - half, mean + half, float(paired_p_values(d)))


def paired_p_values(differences: np.ndarray) -> np.ndarray:
    """Two-sided p-values of the paired t-test along the last axis of ``differences`` (..., n),
    n >= 2 seeds: what :func:`pair_test` computes, for many pairs at once (p = 0 for a zero sd
    and a non-zero mean, 1 for all zeros)."""
    from scipy.stats import t

    d = np.asarray(differences, dtype=float)
    n = d.shape[-1]
    mean, se = d.mean(-1), d.std(-1, ddof=1) / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(se > 0, np.abs(mean) / se, np.where(mean == 0, 0.0, np.inf))
    return 2 * t.sf(statistic, n - 1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given; NaN stays NaN and does not count
    towards the family's size.

    ``holm([0.01, 0.04, 0.03])``: sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04,
    made non-decreasing: 0.03, 0.06, 0.06, so [0.03, 0.06, 0.06].
    """
    p = [float(x) for x in p_values]
    valid = [i for i, x in enumerate(p) if not math.isnan(x)]
    m = len(valid)
    adjusted = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(sorted(valid, key=lambda i: p[i])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def pair_verdict(mean: float, adjusted_p: float, alpha: float = ALPHA) -> str:
    """ "holds", "reversed" or "undecided" for one pair (see the module docstring)."""
    if math.isnan(adjusted_p) or adjusted_p >= alpha:
        return "undecided"
    return "holds" if mean > 0 else "reversed"


def claim_verdict(pair_verdicts: Sequence[str]) -> str:
    """A claim's verdict from its pairs': "holds" (all hold), "reversed" (all reversed), "mixed"
    (some decided, not all alike) or "inconclusive" (none decided)."""
    if not pair_verdicts:
        return "not run"
    decided = {v for v in pair_verdicts if v != "undecided"}
    if not decided:
        return "inconclusive"
    if len(decided) == 1 and len(decided) == len(set(pair_verdicts)):
        return decided.pop()
    return "mixed"


def largest_gain_not_ruled_out(highs: Iterable[float]) -> float:
    """The highest upper bound of a claim's pairs' 95 % intervals: a gain of the better side
    above it, over any setting of the worse side, is ruled out at 95 % (NaN without bounds)."""
    h = [float(x) for x in highs if not math.isnan(float(x))]
    return max(h) if h else math.nan


def pooled_sd(tests: Iterable[PairTest]) -> float:
    """The sd of paired differences pooled over pairs (variances weighted by their degrees of
    freedom); NaN when no pair has two seeds."""
    pairs = [(t.n - 1, t.sd) for t in tests if t.n >= 2 and not math.isnan(t.sd)]
    df = sum(d for d, _ in pairs)
    if df == 0:
        return math.nan
    return math.sqrt(sum(d * s * s for d, s in pairs) / df)


def detectable_effect(n: int, sd: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest mean difference a two-sided paired t-test at level ``alpha`` detects with
    probability ``power`` from ``n`` seeds whose differences have sd ``sd`` (noncentral t);
    NaN for fewer than two seeds or an unknown sd.

    For n = 5, sd = 1: t(0.975, 4) = 2.776, and the noncentrality that gives power 0.8 is 3.76,
    so 3.76 / sqrt 5 = 1.68 (the normal approximation, 2.8 sd / sqrt n, says 1.25).
    """
    from scipy.optimize import brentq
    from scipy.stats import nct, t

    if n < 2 or math.isnan(sd) or sd <= 0:
        return math.nan
    df = n - 1
    critical = t.ppf(1 - alpha / 2, df)

    def shortfall(delta: float) -> float:
        ncp = delta * math.sqrt(n) / sd
        # the far tail is ~0 and can come back NaN at a large noncentrality
        far = float(np.nan_to_num(nct.cdf(-critical, df, ncp)))
        return float(nct.sf(critical, df, ncp)) + far - power

    high = sd
    while shortfall(high) < 0:  # widen until the power is reached (nct fails at huge ncp)
        high *= 2
    return float(brentq(shortfall, 1e-9 * sd, high))
