"""When a claim is not testable: a model that did not fit its training identities."""

from rga.study.report.verdicts import fit_problem


def test_fit_problems():
    trained = [{"loss": 5.0 - e / 10, "ce": 1.0} for e in range(30)]
    assert fit_problem(trained, 200) == ""  # a falling loss is the schedule rule's concern
    uniform = [{"loss": 5.3, "ce": 5.2}] * 30  # ln 200 = 5.30
    assert "near a uniform guess" in fit_problem(uniform, 200)
    assert fit_problem(uniform, 1000) == ""  # ln 1000 = 6.91: 5.2 is below 90% of it
    assert fit_problem([], 200) == "no training curve"
