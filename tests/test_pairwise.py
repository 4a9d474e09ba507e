"""The pairwise verdict procedure: hand-computed cases, and its false-verdict rate simulated."""

import math

import numpy as np
import pytest

from rga.study.report.pairwise import (
    ALPHA,
    claim_verdict,
    detectable_effect,
    holm,
    largest_gain_not_ruled_out,
    pair_test,
    pair_verdict,
    paired_p_values,
    pooled_sd,
)


def test_pair_test_by_hand():
    # d = 1, 2, 3: mean 2, sd 1, se 1/sqrt 3, t = 3.464 on 2 df, p = 0.0742, t(0.975, 2) = 4.303
    n, mean, sd, low, high, p = pair_test([1, 2, 3])
    assert (n, mean, sd) == (3, 2.0, 1.0)
    assert low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-5)
    assert high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-5)
    assert p == pytest.approx(0.07418, abs=1e-5)
    assert pair_test([-1, -2, -3]).p == pytest.approx(p)  # two-sided
    assert pair_test([2.0, 2.0]).p == 0.0 and pair_test([0.0, 0.0]).p == 1.0
    assert paired_p_values(np.array([[1, 2, 3], [-1, -2, -3]])) == pytest.approx([p, p])
    one = pair_test([1.5, float("nan")])
    assert one.n == 1 and one.mean == 1.5 and math.isnan(one.p) and math.isnan(one.high)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    out = holm([0.02, float("nan"), 0.3])  # NaN is not part of the family: m = 2
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.3)
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 x 0.8 capped at 1; monotone


def test_pair_and_claim_verdicts():
    assert pair_verdict(1.2, 0.01) == "holds"
    assert pair_verdict(-1.2, 0.01) == "reversed"
    assert pair_verdict(-1.2, ALPHA) == "undecided"
    assert pair_verdict(3.0, float("nan")) == "undecided"
    assert claim_verdict(["holds", "holds"]) == "holds"
    assert claim_verdict(["reversed"]) == "reversed"
    assert claim_verdict(["reversed", "undecided"]) == "mixed"
    assert claim_verdict(["holds", "reversed"]) == "mixed"
    assert claim_verdict(["undecided", "undecided"]) == "inconclusive"
    assert claim_verdict([]) == "not run"


def test_what_an_inconclusive_claim_rules_out_and_the_detectable_effect():
    assert largest_gain_not_ruled_out([0.4, 1.3, float("nan")]) == 1.3
    assert math.isnan(largest_gain_not_ruled_out([]))
    # variances 1 (2 df) and 2 (4 df) pooled by degrees of freedom: (2 * 1 + 4 * 2) / 6
    pooled = pooled_sd([pair_test([1, 2, 3]), pair_test([0, 2, 4, 2, 2]), pair_test([5])])
    assert pooled == pytest.approx(math.sqrt(10 / 6))
    # n = 5, sd = 1: noncentrality 3.76 for power 0.8 at t(0.975, 4) = 2.776
    assert detectable_effect(5, 1.0) == pytest.approx(1.682, abs=1e-3)
    assert detectable_effect(3, 1.0) > detectable_effect(5, 1.0) > 2.8 / math.sqrt(5)
    assert detectable_effect(5, 2.0) == pytest.approx(2 * detectable_effect(5, 1.0))
    assert math.isnan(detectable_effect(1, 1.0)) and math.isnan(detectable_effect(5, math.nan))


def _simulated_rate(seeds: int, better: int, worse: int, studies: int, rng) -> float:
    """The share of simulated studies in which a claim of `better` against `worse` settings,
    every setting drawn from one distribution (a shared per-seed effect plus noise of sd 0.6,
    the study's seed-to-seed sd), is called "holds" or "reversed" (or "mixed")."""
    seed_effect = rng.normal(0, 1.0, size=(studies, 1, seeds))
    values = seed_effect + rng.normal(0, 0.6, size=(studies, better + worse, seeds))
    pairs = [(b, better + w) for b in range(better) for w in range(worse)]
    differences = np.stack(
        [values[:, b] - values[:, w] for b, w in pairs], 1
    )  # (studies, pairs, seeds)
    p_values = paired_p_values(differences)
    false = 0
    for study, p in zip(differences, p_values, strict=True):
        adjusted = holm(p)
        verdicts = [pair_verdict(d.mean(), q) for d, q in zip(study, adjusted, strict=True)]
        false += claim_verdict(verdicts) != "inconclusive"
    return false / studies


@pytest.mark.parametrize("seeds", [3, 5])
@pytest.mark.parametrize("better, worse", [(1, 1), (1, 2), (1, 4), (2, 2)])
def test_the_false_verdict_rate_stays_at_the_nominal_rate(seeds, better, worse):
    """With Holm's correction over a claim's pairs, a study in which no setting differs calls
    the claim anything but inconclusive in at most ALPHA of cases. 2,000 simulated studies: the
    rate's standard error is about 0.005 at 5 %, so 0.015 (three of them) is the tolerance."""
    rng = np.random.default_rng(1000 * seeds + 10 * better + worse)
    rate = _simulated_rate(seeds, better, worse, 2000, rng)
    assert rate <= ALPHA + 0.015
