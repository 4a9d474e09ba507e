"""The book's number formats and its glossary, against hand-computed cases."""

import math

import pandas as pd
import pytest

from rga.study.report import formats, labels


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (8e-4, "8e-4"),  # base_lr: was printed "0.001" with display.precision 3
        (5e-4, "5e-4"),  # weight_decay
        (8e-6, "8e-6"),  # warmup_begin_lr: was "0.0"
        (3.125e-6, "3.125e-6"),
        (1e-4, "1e-4"),  # a tolerance: was "0.0"
        (0.0, "0"),
        (-2.5e-3, "-2.5e-3"),
    ],
)
def test_scientific_keeps_small_numbers(value, text):
    assert formats.scientific(value) == text


def test_scientific_rounds_to_its_digits():
    assert formats.scientific(1.7874314528487645e-09, 2) == "1.8e-9"  # an agreement
    assert formats.scientific(5.1128823180465743e-11, 2) == "5.1e-11"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (59, "0:01"), (29, "0:00"), (3600, "1:00"), (8400, "2:20"), (36000, "10:00")],
)
def test_duration_is_hours_and_minutes(seconds, text):
    assert formats.duration(seconds) == text


def test_counts_percentages_ratios_and_missing_values():
    assert formats.count(3368.0) == "3,368"
    assert formats.count(25050176) == "25,050,176"
    assert formats.percent(23.16) == "23.2" and formats.percent(0.04) == "0.0"
    assert formats.decimal(0.56834, 3) == "0.568"
    assert formats.ratio(1.360387) == "1.36x"
    for formatter in (formats.count, formats.percent, formats.scientific, formats.duration):
        assert formatter(float("nan")) == formats.MISSING and formatter(None) == formats.MISSING


def test_mean_sd_and_the_t_interval_by_hand():
    # [20, 22]: mean 21, sample sd sqrt(2) = 1.414; t(0.975, 1) = 12.706, so 21 ± 12.706.
    assert formats.mean_sd([20.0, 22.0]) == "21.0 ± 1.4"
    low, high = formats.t_interval([20.0, 22.0])
    assert (low, high) == pytest.approx((21 - 12.7062, 21 + 12.7062), abs=1e-3)
    assert formats.mean_sd_ci([20.0, 22.0]) == "21.0 ± 1.4\n[8.3, 33.7]"
    # [1, 2, 3]: mean 2, sd 1; t(0.975, 2) = 4.303, so 2 ± 4.303 / sqrt(3) = 2 ± 2.484.
    assert formats.mean_sd_ci([1, 2, 3], 2, separator=" ") == "2.00 ± 1.00 [-0.48, 4.48]"
    assert formats.mean_sd([5.0]) == "5.0" and formats.mean_sd_ci([5.0]) == "5.0"
    assert formats.t_interval([5.0]) is None
    assert formats.mean_sd([]) == formats.MISSING
    assert formats.mean_sd([1.0, float("nan"), 3.0]) == "2.0 ± 1.4"  # missing seeds skipped
    # a difference keeps its sign; zero (also a tiny negative) stays unsigned
    assert formats.mean_sd([2.0, 3.0], signed=True) == "+2.5 ± 0.7"
    assert formats.mean_sd([-2.0, -3.0], signed=True) == "-2.5 ± 0.7"
    assert formats.mean_sd([-0.01, 0.0], signed=True) == "0.0 ± 0.0"


def test_config_fields_are_formatted_by_what_they_hold():
    assert formats.format_field("base_lr", 8e-4) == "8e-4"
    assert formats.format_field("weight_decay", 5e-4) == "5e-4"
    assert formats.format_field("warmup_begin_lr", 8e-6) == "8e-6"
    assert formats.format_field("margin", 0.3) == "0.3"
    assert formats.format_field("lr_factor", 0.5) == "0.5"
    assert formats.format_field("lr_steps", (80, 120)) == "80, 120"
    assert formats.format_field("weights", None) == "none"
    assert formats.format_field("epochs", 600) == "600"


def test_format_columns_formats_each_column_its_own_way():
    table = pd.DataFrame({"lr": [8e-4, math.nan], "images": [3368.0, 12.0], "name": ["a", "b"]})
    out = formats.format_columns(table, {"lr": formats.scientific, "images": formats.count})
    assert out.to_dict("list") == {
        "lr": ["8e-4", formats.MISSING],
        "images": ["3,368", "12"],
        "name": ["a", "b"],
    }


# -- the glossary ------------------------------------------------------------------------------

NEW_KINDS = {
    "rga-s-norel": "RGA-S w/o Rel.",
    "rga-c-norel": "RGA-C w/o Rel.",
    "rga-s-noori": "RGA-S w/o Ori.",
    "rga-c-noori": "RGA-C w/o Ori.",
    "rga-sc-parallel": "RGA-S//C",
    "rga-cs": "RGA-CS",
    "cbam-s": "CBAM-S",
    "cbam-c": "CBAM-C",
    "se": "SE",
    "nonlocal": "NL",
    "rga-sc": "RGA-SC",
    "rga-sc-norel": "RGA-SC w/o Rel.",
    "cbam": "CBAM-CS",
}


def test_every_kind_has_the_papers_label_a_description_and_a_colour():
    for kind, label in NEW_KINDS.items():
        assert labels.KIND_LABELS[kind] == label
        assert labels.KIND_DESCRIPTIONS[kind] and labels.KIND_COLOURS[kind].startswith("#")
    assert set(labels.KIND_LABELS) == set(labels.KIND_DESCRIPTIONS) == set(labels.KIND_COLOURS)


@pytest.mark.parametrize(
    ("positions", "label"),
    [
        ((), ""),
        ((1,), "conv2_x"),
        ([4], "conv5_x"),
        ((1, 2, 3, 4), "conv2-5_x"),  # never "conv2,3,4,5_x" nor "1,2,3,4"
        ("1,2,3,4", "conv2-5_x"),
        ([4, 1, 3, 2], "conv2-5_x"),
        ((2, 3), "conv3-4_x"),
        ((1, 3), "conv2,4_x"),
    ],
)
def test_positions_have_one_label(positions, label):
    assert labels.position_label(positions) == label


@pytest.mark.parametrize(
    ("kind", "positions", "embedding", "label"),
    [
        (None, (), None, "Baseline"),
        ("none", "1,2,3,4", None, "Baseline"),  # a baseline has no module, wherever
        ("rga-sc", (3,), None, "RGA-SC conv4_x"),
        ("rga-sc-norel", (1, 2, 3, 4), None, "RGA-SC w/o Rel. conv2-5_x"),
        ("cbam", (1, 2, 3, 4), None, "CBAM-CS conv2-5_x"),
        ("rga-sc-parallel", (1, 2, 3, 4), None, "RGA-S//C conv2-5_x"),
        ("rga-sc", (1, 2, 3, 4), "asymmetric", "RGA-SC conv2-5_x"),
        ("rga-sc", (1, 2, 3, 4), "symmetric", "RGA-SC conv2-5_x, symmetric embedding"),
        ("rga-sc", (1, 2, 3, 4), "none", "RGA-SC conv2-5_x, w/o embedding"),
    ],
)
def test_setting_labels(kind, positions, embedding, label):
    assert labels.setting_label(kind, positions, embedding) == label


def test_each_setting_has_one_colour_and_no_two_settings_share_one():
    settings = [labels.setting_key(k, "1,2,3,4") for k in labels.KIND_LABELS]
    settings += [labels.setting_key("rga-sc", p) for p in ("1", "2", "3", "4")]
    settings += [labels.setting_key("rga-sc", "1,2,3,4", e) for e in ("symmetric", "none")]
    built = [s for s in settings if s[0] not in labels.NOT_IMPLEMENTED]
    colours = [labels.setting_colour(*s) for s in built]
    assert len(set(colours)) == len(built)
    # the same setting, however it is spelled, gets the same colour
    assert labels.setting_colour("rga-sc", [4, 3, 2, 1]) == labels.setting_colour(
        "rga-sc", "1,2,3,4"
    )
    assert labels.setting_colour(None, ()) == labels.setting_colour("none", "")


def test_metric_names_and_units():
    assert labels.metric_label("mass_on_person") == "mass on person"
    assert labels.metric_label("auroc") == "AUROC"
    assert labels.metric_label("mAP", unit=True) == "mAP (%)"
    assert labels.metric_label("auroc", unit=True) == "AUROC"
    terms = labels.terms_table()["term"].tolist()
    for term in ("mINP (%)", "mean ± sd", "95 % CI [a, b]", "margin", "not testable"):
        assert term in terms
    assert "the spec" in terms and "run id" in terms


def test_settings_sort_in_the_papers_order():
    keys = [
        labels.setting_key("cbam", "1,2,3,4"),
        labels.setting_key("rga-sc", "1,2,3,4"),
        labels.setting_key("rga-sc", "4"),
        labels.setting_key("rga-sc", "1"),
        labels.setting_key(None, ()),
        labels.setting_key("rga-s", "1,2,3,4"),
    ]
    ordered = [labels.setting_label(*k) for k in sorted(keys, key=labels.setting_sort_key)]
    assert ordered == [
        "Baseline",
        "RGA-S conv2-5_x",
        "RGA-SC conv2_x",
        "RGA-SC conv5_x",
        "RGA-SC conv2-5_x",
        "CBAM-CS conv2-5_x",
    ]


def test_an_interval_of_a_bounded_score_stays_within_its_bounds():
    from rga.study.report.formats import mean_sd_ci

    # mean 0.3, sd 0.283; t-interval 0.3 ± 12.706 · 0.2 = [-2.24, 2.84], cut to [0, 1]
    assert mean_sd_ci([0.1, 0.5], 3, bounds=(0.0, 1.0)) == "0.300 ± 0.283\n[0.000, 1.000]"
    assert mean_sd_ci([0.1, 0.5], 3).endswith("[-2.241, 2.841]")
