"""The claim checks of the Results page against hand-made runs."""

import pandas as pd

from rga.study.report.claims import CLAIMS, check_claims, claim_margins, setting_summary
from rga.study.report.labels import setting_key

GROUP = "ours: test"


def runs(values: dict[tuple[str, str], list[float]], metric="mAP") -> pd.DataFrame:
    """One run per (side, seed): {(kind, positions): [value of seed 0, seed 1, ...]}."""
    rows = [
        {"kind": kind, "positions": positions, "seed": seed, "group": GROUP, metric: value}
        for (kind, positions), per_seed in values.items()
        for seed, value in enumerate(per_seed)
    ]
    return pd.DataFrame(rows)


def claim(text_start: str):
    return next(c for c in CLAIMS if c.text.startswith(text_start))


def test_margin_is_worst_better_minus_best_worse_per_seed():
    single = claim("RGA-SC after any single stage")
    r = runs(
        {
            ("none", ""): [10.0, 10.0],
            ("rga-sc", "1"): [12.0, 11.0],
            ("rga-sc", "2"): [15.0, 9.0],  # seed 1: one single stage below the baseline
            ("rga-sc", "3"): [13.0, 14.0],
            ("rga-sc", "4"): [11.0, 12.0],
        }
    )
    m = claim_margins(r, single, "mAP")
    assert m["margin"].tolist() == [1.0, -1.0]  # min(12, 15, 13, 11) - 10; min(11, 9, 14, 12) - 10
    table = check_claims({"plugin_position": r})
    row = table[(table["claim"] == single.text) & (table["metric"] == "mAP")].iloc[0]
    assert row["verdict"] == "inconclusive" and row["seeds"] == 2
    assert row["margin"] == "0.0 ± 1.4" and row["margin by seed"] == "+1.0 (s0), -1.0 (s1)"


def test_a_seed_missing_a_side_is_left_out_and_verdicts_read_the_sign():
    norel = claim("The relations help")
    r = runs({("rga-sc", "1,2,3,4"): [5.0, 6.0, 7.0], ("rga-sc-norel", "1,2,3,4"): [8.0, 9.0]})
    m = claim_margins(r, norel, "mAP")
    assert m["seed"].tolist() == [0, 1] and m["margin"].tolist() == [-3.0, -3.0]
    table = check_claims({"attention_variants": r})
    row = table[(table["claim"] == norel.text) & (table["metric"] == "mAP")].iloc[0]
    assert row["verdict"] == "reversed" and row["why not testable"] == ""
    row = table[(table["claim"] == norel.text) & (table["metric"] == "R1")].iloc[0]
    assert row["verdict"] == "not run" and row["seeds"] == 0
    given = check_claims({"attention_variants": r}, only_given=True)
    assert set(given["claim"]) == {c.text for c in CLAIMS if c.experiment == "attention_variants"}


def test_precision_claims_read_the_fourth_module():
    cbam = claim("RGA-SC's fourth spatial attention is more on the person than CBAM")
    scores = {
        "rga-sc": {
            "4": {"auroc": 0.8, "mass_on_person": 0.5},
            "1": {"auroc": 0.1, "mass_on_person": 0.1},
        },
        "cbam": {
            "4": {"auroc": 0.6, "mass_on_person": 0.4},
            "1": {"auroc": 0.9, "mass_on_person": 0.9},
        },
    }
    r = pd.DataFrame(
        [
            {"kind": k, "positions": "1,2,3,4", "seed": 0, "group": GROUP, "attention_precision": s}
            for k, s in scores.items()
        ]
    )
    m = claim_margins(r, cbam, "AUROC")
    assert m["margin"].round(6).tolist() == [0.2]
    row = check_claims({"attention_variants": r})
    row = row[(row["claim"] == cbam.text) & (row["metric"] == "mass on person")].iloc[0]
    assert row["verdict"] == "inconclusive" and row["margin"] == "0.100"  # one seed


def test_paper_margins_come_from_the_papers_tables():
    def rows(table, values):
        return [
            {
                "table": table,
                "dataset_label": "D",
                "metric": "mAP",
                "setting_key": setting_key(kind, positions),
                "value": v,
            }
            for (kind, positions), v in values.items()
        ]

    paper = pd.DataFrame(
        rows(
            "supp-table2",
            {
                ("none", ""): 70.0,
                ("rga-sc", "1"): 71.0,
                ("rga-sc", "2"): 73.0,
                ("rga-sc", "3"): 72.0,
                ("rga-sc", "4"): 72.0,
                ("rga-sc", "1,2,3,4"): 75.0,
            },
        )
        + rows("table2", {("rga-sc", "1,2,3,4"): 77.4, ("cbam", "1,2,3,4"): 73.0})
    )
    table = check_claims({}, paper).set_index(["claim", "metric"])
    assert table.loc[(claim("RGA-SC after any single").text, "mAP"), "paper, D"] == "+1.0 (holds)"
    assert table.loc[(claim("conv3_x and conv4_x").text, "mAP"), "paper, D"] == "+0.0 (tie)"
    assert table.loc[(claim("RGA-SC beats CBAM").text, "mAP"), "paper, D"] == "+4.4 (holds)"
    assert table.loc[(claim("RGA-SC beats CBAM").text, "mAP"), "verdict"] == "not run"
    assert table.loc[(claim("The relations help").text, "mAP"), "paper, D"] == "–"  # no numbers


def test_margins_come_with_their_t_interval_and_runs_count_once():
    both = claim("Both attentions together")
    r = runs({("rga-sc", "1,2,3,4"): [3.0, 4.0, 5.0], ("rga-s", "1,2,3,4"): [1.0, 1.0, 1.0],
              ("rga-c", "1,2,3,4"): [2.0, 2.0, 2.0]})  # fmt: skip
    r["run_id"] = [f"r{i}" for i in range(len(r))]
    doubled = pd.concat([r, r], ignore_index=True)  # the same runs in two folders
    for frame in (r, doubled):
        row = check_claims({"attention_variants": frame}).set_index(["claim", "metric"])
        row = row.loc[(both.text, "mAP")]
        # margins 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.303, so 2 ± 2.48
        assert (row["margin"], row["95 % CI"], row["seeds"]) == ("2.0 ± 1.0", "[-0.5, 4.5]", 3)
        assert row["verdict"] == "inconclusive"  # the interval contains 0


def test_a_side_at_chance_makes_the_claim_not_testable(tmp_path):
    """A margin of a model that did not fit its training identities says nothing: the verdict
    is "not testable", whatever the interval, and the reason names the setting and seeds."""
    import json

    stats = tmp_path / "run.json"
    stats.write_text(json.dumps({"dataset_statistics": {"train": {"ids": 100}}}))
    norel = claim("The relations help")
    r = runs({("rga-sc", "1,2,3,4"): [5.0, 6.0, 7.0], ("rga-sc-norel", "1,2,3,4"): [1.0, 1.5, 1.0]})
    r["setting"] = ["RGA-SC"] * 3 + ["RGA-SC w/o Rel."] * 3
    r["path"] = str(stats)
    fitted, chance = [{"ce": 1.2}], [{"ce": 4.3}]  # ln 100 = 4.61; 0.9 of it = 4.14
    r["curve"] = [fitted, chance, fitted, fitted, fitted, fitted]
    row = check_claims({"attention_variants": r}).set_index(["claim", "metric"])
    row = row.loc[(norel.text, "mAP")]
    assert row["verdict"] == "not testable"
    assert row["why not testable"] == (
        "RGA-SC, seed 1: final cross-entropy 4.30 near a uniform guess (ln 100 = 4.61)"
    )
    r["curve"] = [fitted] * 6  # every model fitted: the interval decides
    row = check_claims({"attention_variants": r}).set_index(["claim", "metric"])
    assert row.loc[(norel.text, "mAP"), "verdict"] == "holds"


def test_a_claim_of_the_study_is_pending_until_its_planned_seeds_are_in():
    """In the study's profile the pipeline plans 5 seeds for the baseline and RGA-SC x4 and 3
    for single stages; a verdict on fewer would be stated too early. Other profiles plan none."""
    from rga.study.report import claim_text as sections
    from rga.study.report.claims import planned_seeds

    all_four, single = (
        claim("RGA-SC after all four stages beats the baseline"),
        claim("RGA-SC after any"),
    )
    assert planned_seeds(all_four, "pretrained") == 5
    assert planned_seeds(single, "pretrained") == 3  # the single stages have 3 seeds
    assert planned_seeds(all_four, "cpu") is None and planned_seeds(all_four, None) is None
    values = {("none", ""): [10.0, 10.5, 11.0], ("rga-sc", "1,2,3,4"): [14.0, 15.0, 16.0]}
    for profile, expected in (("cpu", "holds"), ("pretrained", "pending")):
        r = runs(values).assign(profile=profile)
        row = check_claims({"plugin_position": r}).set_index(["claim", "metric"])
        assert row.loc[(all_four.text, "mAP"), "verdict"] == expected, profile
    shown = sections.claims_table(check_claims({"plugin_position": r}, only_given=True)).data
    mine = shown[shown["claim"].str.startswith(all_four.text)].index[0]
    assert shown.loc[mine, "metric: verdict"] == "mAP: pending"
    assert shown.loc[mine, "seeds, detectable at 80 % power"].startswith("3 of 5\n")
    five = {k: v + [v[-1] + 1, v[-1] + 2] for k, v in values.items()}
    row = check_claims({"plugin_position": runs(five).assign(profile="pretrained")})
    row = row.set_index(["claim", "metric"]).loc[(all_four.text, "mAP")]
    assert (row["verdict"], row["seeds"], row["seeds planned"]) == ("holds", 5, 5)


def assert_verdicts(claims: pd.DataFrame, stated: dict[tuple[str, str], str]):
    """Each {(start of a claim's text, metric): verdict} of ``stated`` is the verdict of that row
    of ``claims`` (a check_claims table)."""
    verdicts = claims.set_index(["claim", "metric"])["verdict"]
    for (start, metric), verdict in stated.items():
        assert verdicts[(claim(start).text, metric)] == verdict, (start, metric)


def test_the_from_scratch_page_states_its_claims_not_testable():
    """book/from_scratch.md ("The claims from scratch"): every claim the from-scratch runs can
    check is not testable, since RGA-SC after all four stages does not fit its training ids."""
    import rga.study.report as report

    runs = report.load_runs("from_scratch")
    if runs.empty:
        return  # a checkout without committed results has no prose to match
    claims = check_claims({"plugin_position": runs, "attention_variants": runs})
    checked = claims[claims["verdict"] != "not run"]
    assert len(checked) >= 4 and (checked["verdict"] == "not testable").all()
    assert set(checked["seeds"]) == {3}


def _study_runs(experiment: str) -> pd.DataFrame:
    """The committed runs of ``experiment`` of the paper-regime study with gamma = 1
    (``pretrained-ones``), the one the book's prose describes until the official-init study is
    complete."""
    import rga.study.report as report

    runs = report.load_runs(experiment)
    return runs[runs["profile"] == "pretrained-ones"] if not runs.empty else runs


def _study_claims() -> pd.DataFrame:
    """check_claims over every table of the gamma = 1 study: the Holm family of each metric
    holds all of its pairs, as on the book's pages (``study_claims``)."""
    import rga.study.report as report

    return check_claims({e: _study_runs(e) for e in report.PAPER_TABLES})


def _final_ce_by_setting(runs: pd.DataFrame) -> pd.Series:
    """Mean over seeds of each setting's last-epoch cross-entropy."""
    return runs.assign(ce=[c[-1]["ce"] for c in runs["curve"]]).groupby("setting")["ce"].mean()


def test_prose_on_the_study_in_the_papers_regime_matches_the_committed_runs():
    """book/results.md ("Supplementary Table 2 in the paper's regime") and
    book/plugin_position.md state these verdicts and remarks on the pretrained study's
    plugin_position runs; if new results change one, update the prose there with this test."""
    runs = _study_runs("plugin_position")
    if runs.empty:
        return  # a checkout without committed results has no prose to match
    stated = {
        ("RGA-SC after any single stage", "mAP"): "inconclusive",
        ("RGA-SC after any single stage", "R1"): "inconclusive",
        ("RGA-SC after all four stages beats the baseline", "mAP"): "reversed",
        ("RGA-SC after all four stages beats the baseline", "R1"): "inconclusive",
        ("RGA-SC after all four stages beats RGA-SC after any", "mAP"): "mixed",
        ("RGA-SC after all four stages beats RGA-SC after any", "R1"): "mixed",
        ("conv3_x and conv4_x", "mAP"): "inconclusive",
        ("conv3_x and conv4_x", "R1"): "inconclusive",
    }
    claims = _study_claims().set_index(["claim", "metric"])
    assert_verdicts(claims.reset_index(), stated)
    # R1 against the baseline: every pair's interval below zero, yet not decided after Holm
    assert (
        claims.loc[(claim("RGA-SC after all four stages beats the b").text, "R1")][
            "rules out above"
        ]
        < 0
    )
    # against the single stages one pair is decided: conv4_x in mAP, conv3_x in R1
    for metric, stage in (("mAP", "RGA-SC conv4_x"), ("R1", "RGA-SC conv3_x")):
        row = claims.loc[(claim("RGA-SC after all four stages beats RGA-SC").text, metric)]
        decided = [p["worse"] for p in row["pairs"] if p["verdict"] == "reversed"]
        assert decided == [stage], metric
    by_seed = runs.pivot_table(index="seed", columns="setting", values="mAP")
    singles = by_seed[[f"RGA-SC conv{s}_x" for s in (2, 3, 4, 5)]].dropna()
    all_four = by_seed["RGA-SC conv2-5_x"]
    # all four below the baseline and every single position, in every seed
    assert (all_four < by_seed["Baseline"]).all()
    assert (all_four[singles.index] < singles.min(axis=1)).all()
    # conv5_x the weakest single position in every seed
    assert (singles.idxmin(axis=1) == "RGA-SC conv5_x").all()
    # every setting fits its training identities about equally well (final CE within 5 %)
    final_ce = _final_ce_by_setting(runs)
    assert final_ce.max() < 1.05 * final_ce.min()


def test_prose_on_embedding_functions_in_the_papers_regime_matches_the_committed_runs():
    """book/results.md ("Main Table 4 in the paper's regime") and book/embedding_functions.md
    ("What these runs show") state these facts about the pretrained study's embedding runs; if
    new results change one, update the prose there with this test."""
    runs = _study_runs("embedding_functions")
    if runs.empty:
        return
    claims = _study_claims().set_index(["claim", "metric"])
    for metric in ("mAP", "R1"):
        row = claims.loc[(claim("Asymmetric embeddings").text, metric)]
        assert row["verdict"] == "inconclusive", metric
    asymmetric = "RGA-SC conv2-5_x"
    symmetric, none = f"{asymmetric}, symmetric embedding", f"{asymmetric}, w/o embedding"
    by_seed = {
        m: runs.pivot_table(index="seed", columns="setting", values=m) for m in ("mAP", "R1")
    }
    for metric, values in by_seed.items():
        assert (values[none] > values[asymmetric]).all(), metric
        # symmetric and asymmetric change places from seed to seed
        assert (values[symmetric] > values[asymmetric]).nunique() == 2, metric
    final_ce = _final_ce_by_setting(runs)
    assert final_ce.max() < 1.02 * final_ce.min()
    # with either learned embedding below the baseline in every seed; without one, close to it
    plugin = _study_runs("plugin_position")
    baseline = plugin[plugin["setting"] == "Baseline"].set_index("seed")["mAP"]
    mean_ap = by_seed["mAP"]
    for setting in (asymmetric, symmetric):
        assert (mean_ap[setting] < baseline[mean_ap.index]).all(), setting
    assert ((mean_ap[none] - baseline[mean_ap.index]).abs() < 3).all()


def test_prose_on_attention_variants_in_the_papers_regime_matches_the_committed_runs():
    """book/results.md ("Main Table 1 in the paper's regime") and book/attention_variants.md
    ("What these runs show") state these facts about the pretrained study's attention_variants
    runs; if new results change one, update the prose there with this test."""
    runs = _study_runs("attention_variants")
    if runs.empty:
        return
    claims = _study_claims()
    stated = {
        ("Both attentions together", "mAP"): "inconclusive",
        ("Both attentions together", "R1"): "mixed",
        ("Spatial, then channel", "mAP"): "inconclusive",
        ("Spatial, then channel", "R1"): "inconclusive",
        ("RGA-S beats RGA-S w/o", "mAP"): "inconclusive",
        ("RGA-S beats RGA-S w/o", "R1"): "inconclusive",
        ("RGA-C beats RGA-C w/o", "mAP"): "inconclusive",
        ("RGA-C beats RGA-C w/o", "R1"): "inconclusive",
        ("The relations help", "mAP"): "inconclusive",
        ("The relations help", "R1"): "inconclusive",
        ("RGA-SC beats CBAM-CS", "mAP"): "reversed",
        ("RGA-SC beats CBAM-CS", "R1"): "inconclusive",
    }
    assert_verdicts(claims, stated)
    by_claim = claims.set_index(["claim", "metric"])
    # the relations claim in mAP: every pair's interval below zero, not decided after Holm
    assert by_claim.loc[(claim("The relations help").text, "mAP")]["rules out above"] < 0
    # the combination claim in R1: decided against RGA-C only
    row = by_claim.loc[(claim("Both attentions together").text, "R1")]
    assert [p["worse"] for p in row["pairs"] if p["verdict"] == "reversed"] == ["RGA-C conv2-5_x"]
    # both precision claims inconclusive over five seeds, in both scores
    fourth_map = "RGA-SC's fourth spatial attention is more on the person than"
    for start in (f"{fourth_map} CBAM-CS", f"{fourth_map} RGA-SC w/o"):
        for metric in ("AUROC", "mass on person"):
            row = by_claim.loc[(claim(start).text, metric)]
            assert row["verdict"] == "inconclusive", (start, metric)
            assert row["seeds"] == 5, (start, metric)
    # every setting fits its training identities about equally well (final CE within 3 %)
    final_ce = _final_ce_by_setting(runs)
    assert final_ce.max() < 1.03 * final_ce.min()
    by_seed = runs.pivot_table(index="seed", columns="setting", values="mAP")
    rga_sc, base = by_seed["RGA-SC conv2-5_x"], by_seed["Baseline"]
    # RGA-SC the lowest setting by mean mAP over seeds
    assert by_seed.mean().idxmin() == "RGA-SC conv2-5_x"
    # RGA-SC below RGA-S and RGA-C in every seed; at least one other order above it in every seed
    for other in ("RGA-S conv2-5_x", "RGA-C conv2-5_x"):
        assert (rga_sc[by_seed[other].notna()] < by_seed[other].dropna()).all(), other
    orders = by_seed[["RGA-CS conv2-5_x", "RGA-S//C conv2-5_x"]].dropna()
    assert (rga_sc[orders.index] < orders.max(axis=1)).all()
    # every channel-only and combined RGA below the baseline in every seed; the spatial-only
    # modules within two mAP points of it, above it in some runs and below in others
    gaps = by_seed.sub(base, axis=0)
    for setting in gaps:
        if setting.startswith(("RGA-C", "RGA-SC", "RGA-S//C")):
            assert (gaps[setting].dropna() < 0).all(), setting
    # ... in mAP only: in R1 some of them are above the baseline in some seed
    r1 = runs.pivot_table(index="seed", columns="setting", values="R1")
    channel = [s for s in r1 if s.startswith(("RGA-C", "RGA-SC", "RGA-S//C"))]
    assert (r1[channel].sub(r1["Baseline"], axis=0) > 0).any().any()
    spatial_gaps = gaps[[s for s in gaps if s.startswith(("RGA-S ", "RGA-S w/o"))]].stack().dropna()
    assert len(spatial_gaps) == 9 and (spatial_gaps.abs() < 2).all()
    assert (spatial_gaps > 0).any() and (spatial_gaps < 0).any()
    # the spatial module without relations has the highest mean mAP of the three spatial ones
    spatial = by_seed[[s for s in by_seed if s.startswith(("RGA-S ", "RGA-S w/o"))]].mean()
    assert spatial.idxmax() == "RGA-S w/o Rel. conv2-5_x"
    # RGA-S below RGA-S w/o Rel. in every seed; RGA-C above its best ablation in some seeds only
    spatial_margin = (by_seed["RGA-S conv2-5_x"] - by_seed["RGA-S w/o Rel. conv2-5_x"]).dropna()
    assert len(spatial_margin) == 3 and (spatial_margin < 0).all()
    channel = by_seed[[f"RGA-C w/o {a}. conv2-5_x" for a in ("Rel", "Ori")]].max(axis=1)
    channel_margin = (by_seed["RGA-C conv2-5_x"] - channel).dropna()
    assert (channel_margin > 0).any() and (channel_margin < 0).any()
    # five seeds: RGA-SC below RGA-SC w/o Rel. and below CBAM-CS in every seed, by 1.5 and 3.8
    # points on average; CBAM-CS within two points of the baseline in every seed
    for other, mean_gap in (("RGA-SC w/o Rel. conv2-5_x", 1.5), ("CBAM-CS conv2-5_x", 3.8)):
        gap = (by_seed[other] - rga_sc).dropna()
        assert len(gap) == 5 and (gap > 0).all() and round(gap.mean(), 1) == mean_gap, other
    assert gaps["CBAM-CS conv2-5_x"].abs().max() < 2


def test_prose_on_attention_designs_in_the_papers_regime_matches_the_committed_runs():
    """book/results.md ("Main Table 2 in the paper's regime") and book/attention_designs.md
    ("What these runs show") state these facts about the pretrained study's attention_designs
    runs; if new results change one, update the prose there with this test."""
    runs = _study_runs("attention_designs")
    if runs.empty:
        return
    stated = {
        ("RGA-S beats the other spatial", "mAP"): "inconclusive",
        ("RGA-S beats the other spatial", "R1"): "inconclusive",
        ("RGA-C beats the other channel", "mAP"): "inconclusive",
        ("RGA-C beats the other channel", "R1"): "inconclusive",
    }
    assert_verdicts(_study_claims(), stated)
    final_ce = _final_ce_by_setting(runs)
    assert final_ce.max() < 1.02 * final_ce.min()
    by_seed = {
        m: runs.pivot_table(index="seed", columns="setting", values=m) for m in ("mAP", "R1")
    }
    mean_ap = by_seed["mAP"]
    # RGA-S below the better of CBAM-S and NL, RGA-C below the better of SE and CBAM-C in mAP,
    # in every seed; RGA-C level with them in R1 (every seed's margin within half a point)
    rivals = {"RGA-S": ("CBAM-S", "NL"), "RGA-C": ("SE", "CBAM-C")}
    for rga, others in rivals.items():
        best = mean_ap[[f"{o} conv2-5_x" for o in others]].max(axis=1)
        margin = (mean_ap[f"{rga} conv2-5_x"] - best).dropna()
        assert len(margin) == 3 and (margin < 0).all(), rga
    r1 = by_seed["R1"]
    r1_margin = r1["RGA-C conv2-5_x"] - r1[["SE conv2-5_x", "CBAM-C conv2-5_x"]].max(axis=1)
    assert r1_margin.dropna().abs().max() < 0.5
    # the non-relational designs within 1.5 mAP points of the baseline in every seed, both signs
    gaps = mean_ap.sub(mean_ap["Baseline"], axis=0)
    designs = [f"{d} conv2-5_x" for d in ("CBAM-S", "CBAM-C", "CBAM-CS", "SE", "NL")]
    design_gaps = gaps[designs].stack().dropna()
    assert (design_gaps.abs() < 1.5).all() and (design_gaps > 0).any() and (design_gaps < 0).any()


def test_prose_on_attention_precision_in_the_papers_regime_matches_the_committed_runs():
    """book/attention.md (after "In the study in the paper's regime") and book/results.md state
    these facts about the fourth module's spatial maps in the pretrained attention_variants runs."""
    import rga.study.report as report

    runs = _study_runs("attention_variants")
    if runs.empty:
        return
    precision = report.attention_precision_table(runs)
    fourth = precision[precision["stage"] == 4]
    chance = fourth["chance"].mean()
    assert round(chance, 3) == 0.286
    mass = fourth.groupby("model")["mass_on_person"].mean()
    # every setting's mean mass on person between 0.24 and 0.31: about a uniform map's
    assert mass.min() > 0.24 and mass.max() < 0.31
    # RGA-SC's fourth map has the widest range over seeds (max - min) of both scores
    for score in ("auroc", "mass_on_person"):
        spread = fourth.groupby("model")[score].agg(lambda v: v.max() - v.min())
        assert spread.idxmax() == "RGA-SC", score
    rga_sc = fourth[fourth["model"] == "RGA-SC"]["auroc"]
    assert rga_sc.min() < 0.2 and rga_sc.max() > 0.6
    assert (fourth[fourth["model"] == "RGA-S w/o Rel."]["auroc"] < 0.5).all()


def test_the_bn_init_remarks_of_the_from_scratch_page_match_the_committed_runs():
    """book/from_scratch.md: with BN gamma ~ U(0, 1), RGA-SC (all four) has a higher mAP than the
    same model with gamma = 1 (the from-scratch runs) and a lower one than the baseline, seed by
    seed. Update the prose with this test if new results change them."""
    import rga.study.report as report

    runs, check = report.load_runs("from_scratch"), report.load_runs("bn_init_check")
    if runs.empty or check.empty:
        return
    by_seed = runs.pivot_table(index="seed", columns="model", values="mAP")
    assert len(check) == 3
    for run in check.itertuples():
        assert by_seed["RGA-SC"][run.seed] < run.mAP < by_seed["Baseline"][run.seed]


def test_setting_summary_puts_one_setting_in_a_row():
    runs = pd.DataFrame(
        {
            "seed": [1, 0],
            "R1": [10.0, 12.0],
            "mAP": [5.0, 7.0],
            "curve": [[{"ce": 5.0}, {"ce": 4.0}], [{"ce": 5.0}, {"ce": 4.2}]],
        }
    )
    row = setting_summary(runs, "uniform")
    assert row == {
        "setting": "uniform",
        "R1": "11.0 ± 1.4",
        "mAP": "6.0 ± 1.4",
        "mAP, 95 % CI": "[-6.7, 18.7]",  # 6 ± 12.706 · 1.414 / sqrt(2)
        "mAP by seed": "7.0, 5.0",
        "final cross-entropy": "4.10 ± 0.14",
        "seeds": "0, 1",
    }


def test_verdict_sentences_state_each_claim_once_with_its_numbers():
    from rga.study.report.claim_text import verdict_sentences

    all_four, single = (
        claim("RGA-SC after all four stages beats the baseline"),
        claim("RGA-SC after any"),
    )
    values = {("none", ""): [10.0, 10.5, 11.0], ("rga-sc", "1,2,3,4"): [14.0, 14.7, 15.4]}
    values |= {("rga-sc", p): [9.0, 9.5, 9.0] for p in "1234"}
    claims = check_claims({"plugin_position": runs(values)})
    text = verdict_sentences(claims).data
    # all four - baseline: 4.0, 4.2, 4.4 (mean 4.2, sd 0.2: 4.2 ± 4.303 · 0.2 / sqrt 3), t = 36.4
    # on 2 df, p = 0.00075, times the 13 pairs of the family (Holm's first step): 0.0098
    assert (
        f"- **{all_four.text}** (supplementary Table 2): *holds* in mAP (RGA-SC conv2-5_x − "
        "Baseline +4.2, 95 % CI [+3.7, +4.7], Holm p 0.010); 3 seeds."
    ) in text
    assert set(claims.loc[claims["verdict"] != "not run", "family"]) == {13}
    # single stages - baseline: -1, -1, -2 each (mean -1.33, sd 0.58: [-2.77, +0.10])
    assert (
        f"**{single.text}** (supplementary Table 2): *inconclusive* in mAP: a gain above 0.1 points "
        "over any setting of the worse side is ruled out at 95 %"
    ) in text
    assert text.count(all_four.text) == 1 and "R1" not in text  # no R1 values in these runs
    pending = verdict_sentences(
        check_claims({"plugin_position": runs(values).assign(profile="pretrained")})
    )
    assert (
        f"**{all_four.text}** (supplementary Table 2): *pending*: 3 of 5 planned seeds are in."
        in pending.data
    )
    assert verdict_sentences(check_claims({})).data == "No claim has runs in this study yet."


def test_pair_rows_name_each_pair_once_with_its_seeds():
    from rga.study.report.claim_text import pair_rows

    pair = {"better": "RGA-SC conv2-5_x", "worse": "Baseline", "n": 3, "mean": -3.5,
            "low": -4.3, "high": -2.7, "p": 0.007, "verdict": "reversed",
            "by seed": [(0, -3.6), (1, -2.6), (2, -4.3)]}  # fmt: skip
    assert pair_rows([pair], "mAP") == [
        {"pair": "vs Baseline", "difference, 95 % CI": "-3.5 [-4.3, -2.7]\nby seed: -3.6, -2.6, -4.3",
         "Holm p, pair's verdict": "0.007\nreversed"}
    ]  # fmt: skip
    gap = {**pair, "worse": "CBAM-CS conv2-5_x", "by seed": [(0, 1.0), (3, 2.0)]}
    assert pair_rows([pair, gap], "mAP")[1]["difference, 95 % CI"].endswith("s0: +1.0, s3: +2.0")
    shared_worse = [pair, {**pair, "better": "RGA-S conv2-5_x"}]
    assert pair_rows(shared_worse, "mAP")[0]["pair"] == "RGA-SC conv2-5_x vs"
    assert pair_rows([], "mAP") == []


def test_the_claims_table_has_a_line_per_pair_and_the_claims_cells_once():
    from rga.study.report.claim_text import claims_table

    pair = {"better": "A", "worse": "B", "n": 3, "mean": 1.0, "low": 0.5, "high": 1.5,
            "p": 0.01, "verdict": "holds", "by seed": [(0, 1.0), (1, 0.8), (2, 1.2)]}  # fmt: skip
    claims = pd.DataFrame([{
        "claim": "A beats B and C", "metric": "mAP", "runs of": "ours", "verdict": "mixed",
        "pairs": [pair, {**pair, "worse": "C", "verdict": "undecided", "p": 0.2}],
        "seeds": 3, "detectable": 2.0, "paper, Market-1501": "+1.0 (holds)",
    }])  # fmt: skip
    shown = claims_table(claims).data
    # the claim with the paper's check, and the metric's verdict and seeds, on the first line only
    assert list(shown["claim"]) == ["A beats B and C\npaper: Market-1501 +1.0 (holds)", ""]
    assert list(shown["metric: verdict"]) == ["mAP: mixed", ""]
    assert list(shown["pair"]) == ["vs B", "vs C"]  # the shared better side named once, above
    assert list(shown["Holm p, pair's verdict"]) == ["0.010\nholds", "0.200\nundecided"]
    assert list(shown["seeds, detectable at 80 % power"]) == ["3\n2.0 points", ""]
