"""The From-scratch page's three explanations, checked on hand-made summaries."""

import pandas as pd
import pytest

from rga.study.pages.from_scratch.explanations import backward_growth, explanations
from rga.study.report.labels import setting_key

PARTS = ("head", "layer4", "layer3", "layer2", "layer1", "stem")


def row(kind, z: float, spread: tuple[float, float], growth: float, late: float = 1.0) -> dict:
    """A summary row: ‖z‖ after epoch 1 `z`, every gate's sd `spread` (after the first, after
    the last epoch), and a gradient whose norm grows by `growth` from each part to the one
    before it (head norm 2) over the first epochs; the stem's over the head's over the last
    epochs `late`."""
    key = setting_key(kind, "1,2,3,4" if kind else "")
    r = {"setting_key": key, "setting": str(kind), "z first": z, "stem/head late": late}
    for i, part in enumerate(PARTS):
        r[f"grad {part} early"] = 2.0 * growth**i
    r["stem/head early"] = growth ** (len(PARTS) - 1)
    if kind is not None:
        for stage in range(1, 5):
            for gate in ("spatial", "channel"):
                r[f"att{stage}.{gate} sd first"], r[f"att{stage}.{gate} sd last"] = spread
    return r


def summary(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_backward_growth_is_each_part_over_the_next():
    growth = backward_growth(pd.Series(row("rga-sc", 1.0, (0.1, 0.1), 3.0)))
    assert [p for p, _ in growth] == ["layer4", "layer3", "layer2", "layer1", "stem"]
    assert [g for _, g in growth] == pytest.approx([3.0] * 5)


def test_a_gradient_grown_only_in_rga_is_what_separates_it():
    scratch = summary(
        row(None, 10.0, (0, 0), 1.5),
        row("rga-sc", 1.4, (0.004, 0.15), 5.0, late=20.0),  # small z, flat start, growing grad
        row("cbam", 1.7, (0.09, 0.15), 1.2),  # small z too, spread gates, flat gradient
    )
    warm = summary(row(None, 10.0, (0, 0), 1.0), row("rga-sc", 2.5, (0.015, 0.14), 1.5))
    text = explanations(scratch, warm)
    scale, selection, gradient, _, conclusion = text.split("\n")
    assert "0.14 of the baseline's, far below it" in scale
    assert "shared by the two attentions, so they do not explain" in scale
    assert "(RGA-SC's gates start flat)" in selection and "not borne out" in selection
    assert "there too they start flat" in selection
    assert (
        "the opposite of the prediction" in gradient and "this is where RGA-SC differs" in gradient
    )
    assert "RGA-SC conv5_x ×5" in gradient and "CBAM-CS conv5_x ×1.2" in gradient
    assert "from scratch, 20 over the last 5" in gradient
    assert conclusion.startswith("**What the numbers say.** Of the three, only the gradient")


def test_scale_that_only_rga_shows_separates_it():
    scratch = summary(
        row(None, 10.0, (0, 0), 1.5),
        row("rga-sc", 0.5, (0.09, 0.15), 1.5),
        row("cbam", 5.0, (0.09, 0.15), 1.5),
    )
    text = explanations(scratch)
    assert "could be RGA's own" in text and "From the pretrained trunk" not in text
    assert text.endswith("separate RGA-SC from CBAM-CS here: scale.")


def test_nothing_separating_says_so_and_missing_runs_are_named():
    same = summary(
        row(None, 10.0, (0, 0), 1.5),
        row("rga-sc", 5.0, (0.09, 0.15), 1.5),
        row("cbam", 5.0, (0.09, 0.15), 1.5),
    )
    assert "None of the three separates" in explanations(same)
    assert explanations(same.iloc[:2]).endswith("have CBAM-CS.")
    no_grad = same.drop(columns=["stem/head early"])
    assert explanations(no_grad).endswith("have diagnostics.")
