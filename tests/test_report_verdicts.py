"""Verdicts from paired per-seed margins: the t-interval, and when a claim is not testable."""

import math

import pytest

from rga.study.report.verdicts import fit_problem, format_interval, t_interval, verdict


def test_t_interval_against_a_hand_computed_case():
    # mean 2, sd 1 over 3 values; t(0.975, 2) = 4.302653
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-6)
    assert high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-6)
    assert t_interval([5.0]) == (5.0, 5.0, 5.0)
    assert all(math.isnan(x) for x in t_interval([]))
    assert format_interval([1.0, 2.0, 3.0]) == "[-0.5, +4.5]"
    assert format_interval([1.0]) == ""


def test_verdicts():
    assert verdict([1.0, 1.2, 0.9]) == "holds"
    assert verdict([-1.0, -1.2, -0.9]) == "reversed"
    assert verdict([1.0, -1.0, 0.5]) == "inconclusive"
    assert verdict([3.0]) == "inconclusive"  # one seed: no interval
    assert verdict([]) == "not run"
    assert verdict([1.0, 1.2, 0.9], ["loss still changing"]) == "not testable"


def test_fit_problems():
    trained = [{"loss": 5.0 - e / 10, "ce": 1.0} for e in range(30)]
    assert fit_problem(trained, 200) == ""  # a falling loss is the schedule rule's concern
    uniform = [{"loss": 5.3, "ce": 5.2}] * 30  # ln 200 = 5.30
    assert "near a uniform guess" in fit_problem(uniform, 200)
    assert fit_problem(uniform, 1000) == ""  # ln 1000 = 6.91: 5.2 is below 90% of it
    assert fit_problem([], 200) == "no training curve"
