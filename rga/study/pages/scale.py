"""The code behind the Scale and faithfulness page (``book/scale.md``): the RGA modules' internal
sizes in the study, in each scale probe and in the paper's network, read from the built models
(:func:`rga.analysis.module_sizes.rga_sizes`, never typed); each probe's progress, claims and
margins beside the study's, judged by the page's plan (:mod:`rga.study.report.scale_probes`);
probe 3's record, when a GPU ran it; and the official BN init against gamma = 1
(:mod:`rga.study.report.inits`)."""

from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
from IPython.display import Markdown, display

from rga.analysis.module_sizes import cbam_sizes, rga_sizes
from rga.engine.config import PROFILES, RunConfig, make_config
from rga.study.report.formats import MISSING
from rga.study.report.styling import styled

__all__ = [
    "SIZE_LABELS",
    "ScalePage",
    "cbam_sizes_table",
    "gpu_tables",
    "probe_table",
    "scale_settings",
    "sizes_table",
]

# The columns the page shows, of rga_sizes's, in words.
SIZE_LABELS = {
    "positions": "positions N",
    "affinity_channels": "channels of the spatial affinities C'",
    "spatial_head_hidden": "spatial gate head, hidden units",
    "channel_head_hidden": "channel gate head, hidden units",
}


def scale_settings(study: RunConfig | None = None) -> dict[str, RunConfig]:
    """RGA-SC after all four stages in: the study (``pretrained`` profile), probe 1 (the
    official internal ratios, ``rga_ratios=(1, 1, 8)``), probe 2 (the input at 192x96) and the
    paper's network (``paper`` profile: ResNet-50 at 256x128)."""
    study = study or make_config("pretrained")
    rga_sc = {"kind": "rga-sc", "positions": (1, 2, 3, 4)}
    study = dataclasses.replace(study, **rga_sc)
    return {
        "the study (96x48)": study,
        "probe 1: official ratios": dataclasses.replace(study, rga_ratios=(1, 1, 8)),
        "probe 2: 192x96": dataclasses.replace(
            study, height=2 * study.height, width=2 * study.width
        ),  # fmt: skip
        "the paper's network": dataclasses.replace(PROFILES["paper"], **rga_sc),
    }


def sizes_table(settings: dict[str, RunConfig] | None = None) -> pd.DataFrame:
    """One row per (setting, stage): N, C' and the hidden units of the two gate heads."""
    frames = []
    for label, config in (settings or scale_settings()).items():
        sizes = rga_sizes(config)[["stage", *SIZE_LABELS]].rename(columns=SIZE_LABELS)
        frames.append(sizes.assign(setting=label))
    table = pd.concat(frames, ignore_index=True)
    return table.set_index(["setting", "stage"])


def cbam_sizes_table(study: RunConfig | None = None) -> pd.DataFrame:
    """CBAM-CS's shared MLP per stage: channels C and hidden units, in the study (r = 16), in
    probe 1 (r = 2) and in the paper's network (ResNet-50, r = 16); read from the built models."""
    from rga.study.experiments import OFFICIAL_SIZES_CBAM

    study = dataclasses.replace(
        study or make_config("pretrained"), kind="cbam", positions=(1, 2, 3, 4)
    )
    settings = {
        "the study (96x48)": study,
        "probe 1: official widths": dataclasses.replace(
            study, cbam_reduction=OFFICIAL_SIZES_CBAM["cbam_reduction"]
        ),
        "the paper's network": dataclasses.replace(PROFILES["paper"], kind="cbam"),
    }
    frames = [cbam_sizes(config).assign(setting=label) for label, config in settings.items()]
    table = pd.concat(frames, ignore_index=True).rename(
        columns={"channels": "channels C", "mlp_hidden": "MLP hidden units"}
    )
    return table.set_index(["setting", "stage"])


def _signed(value: float, low: float = math.nan, high: float = math.nan, digits: int = 1) -> str:
    """ "+1.2 [-0.3, +2.7]"; "+1.2" without an interval; "–" for NaN."""
    if value is None or math.isnan(value):
        return MISSING
    text = f"{value:+.{digits}f}"
    return text if math.isnan(low) else f"{text} [{low:+.{digits}f}, {high:+.{digits}f}]"


def probe_table(shifts: pd.DataFrame, probe: str) -> pd.DataFrame:
    """One probe's rows of :func:`rga.study.report.scale_probes.margin_shifts` as the page shows
    them: the claim's pair and metric, both verdicts and margins, the move with its interval,
    Holm-adjusted p and per-seed values, and the judgement."""
    rows = shifts[shifts["probe"] == probe]
    return pd.DataFrame(
        {
            "pair": rows["pair"],
            "metric": rows["metric"],
            "probe: verdict, margin": [f"{v}, {_signed(m)}" for v, m in
                                       zip(rows["probe verdict"], rows["probe margin"], strict=True)],
            "study: verdict, margin": [f"{v}, {_signed(m)}" for v, m in
                                       zip(rows["study verdict"], rows["study margin"], strict=True)],
            "move (probe - study), 95 % CI": [
                _signed(m, lo, hi) for m, lo, hi in
                zip(rows["move"], rows["move low"], rows["move high"], strict=True)
            ],
            "Holm p": [MISSING if math.isnan(p) else f"{p:.3f}" for p in rows["move p (Holm)"]],
            "move by seed": [", ".join(f"{d:+.1f} (s{s})" for s, d in by_seed) or MISSING
                             for by_seed in rows["move by seed"]],
            "judgement": rows["judgement"],
        }
    )  # fmt: skip


def _claim_clause(row) -> str:
    """One claim in a sentence: its verdict here against the study's, and what its margin did."""
    claim = f"“{row['claim']}”"
    if row["judgement"] == "not testable":
        return f"{claim} is not testable (a model did not train)."
    verdict = (
        f"stays {row['probe verdict']}"
        if row["probe verdict"] == row["study verdict"]
        else f"changes verdict, “{row['probe verdict']}” here against “{row['study verdict']}” "
        "in the study"
    )
    ci = f"95 % CI [{row['move low']:+.1f}, {row['move high']:+.1f}]"
    detected = (
        "a move the seeds detect" if row["moves"] else "a move the seeds cannot tell from zero"
    )
    return (f"{claim} {verdict}: its margin is {_signed(row['probe margin'])} here against "
            f"{_signed(row['study margin'])} in the study, {detected} "
            f"({_signed(row['move'])} points, {ci}).")  # fmt: skip


def own_verdicts(probes: pd.DataFrame, probe: str) -> Markdown:
    """The probe's verdicts on its own runs in words, as the Results page gives the study's: each
    decided pair, or what an inconclusive claim rules out and what its seeds detect.
    ``probes``: :func:`rga.study.report.scale_probes.probe_claims` rows."""
    from rga.study.report.claim_text import verdict_sentences

    rows = probes[probes["probe"] == probe] if not probes.empty else probes
    if rows.empty:
        return Markdown("")
    return Markdown(f"Its verdicts on its own runs:\n\n{verdict_sentences(rows).data}")


def findings_text(shifts: pd.DataFrame, probe: str) -> str:
    """What changed under ``probe`` and what did not, in words, once its claims are judged: each
    claim in mAP (the verdict here against the study's, the margin's move), then R1's count;
    "" while any of its claims is pending."""
    rows = shifts[shifts["probe"] == probe]
    if rows.empty or (rows["judgement"] == "pending").any():
        return ""
    primary = rows[rows["metric"] == "mAP"].drop_duplicates("claim")
    untestable = primary["judgement"] == "not testable"
    changed = (~untestable & (primary["probe verdict"] != primary["study verdict"])).sum()
    head = (f"none of its {len(primary)} verdicts changes" if changed == 0 else
            f"{changed} of its {len(primary)} verdicts change")  # fmt: skip
    if untestable.any():
        head += f", and {untestable.sum()} cannot be tested"
    clauses = " ".join(_claim_clause(r) for _, r in primary.iterrows())
    text = f"**What changed.** In mAP, {head}. {clauses}"
    r1 = rows[rows["metric"] == "R1"].drop_duplicates("claim")
    if not r1.empty:
        moved = r1[r1["probe verdict"] != r1["study verdict"]]
        text += f" In R1, {len(r1) - len(moved)} of {len(r1)} verdicts are the study's."
        text += "".join(" " + _claim_clause(r) for _, r in moved.iterrows())
    return text


def longer_schedule_cost(probe: pd.DataFrame, chosen: str, longer: str, asked: bool) -> str:
    """What the probe's runs cost under the ``chosen`` schedule and about what they would under
    the ``longer`` one (training time times the ratio of epochs), which the rule ``asked`` for
    or not. ``probe``: ``load_runs`` rows (``train_time_s``: seconds of training, one core
    each)."""
    from rga.study.regime import GRID

    hours = probe["train_time_s"].astype(float).sum() / 3600
    ratio = GRID[longer]["epochs"] / GRID[chosen]["epochs"]
    cost = (f"the probe's {len(probe)} runs ({hours:.1f} hours of training in all, one core "
            f"each) would take about {hours * ratio:.1f} hours (x{ratio:.1f})")  # fmt: skip
    if asked:
        return f"Under {longer}, {cost}."
    return f"The rule does not ask for {longer}; under it {cost}."


GPU_RECORD = "gpu_scale_probe.json"  # under benchmarks/results/, where a lent GPU's record goes
THROUGHPUT_LABELS = {
    "baseline": "baseline",
    "rga-sc factorised": "RGA-SC, relations factorised (ours)",
    "rga-sc materialised": "RGA-SC, relations materialised (official computation)",
}


def gpu_tables(record: dict) -> list[pd.DataFrame]:
    """Probe 3's record (``benchmarks/gpu_scale_probe.py``) as the page shows it: the training
    throughput and peak memory of each variant on the GPU, then each seed's pair of runs (both
    models' z mAP and R1 and RGA-SC minus the baseline). Empty tables where a part did not run."""
    throughput = pd.DataFrame(
        [
            {
                "variant": THROUGHPUT_LABELS.get(r["variant"], r["variant"]),
                "training images/s": f"{r['train_images_per_s']:.0f}",
                "peak memory (MiB)": f"{r['peak_memory_mib']:.0f}",
                "inference images/s": f"{r['inference_images_per_s']:.0f}",
            }
            for r in (record.get("throughput") or {}).get("rows", [])
            if "train_images_per_s" in r
        ]
    )
    done = {(r["model"], r["seed"]): r for r in record.get("runs", []) if "metrics" in r}
    rows = []
    for seed in sorted({s for _, s in done}):
        pair = [done.get((model, seed)) for model in ("baseline", "rga-sc")]
        if None in pair:
            continue
        (base, rga) = (r["metrics"]["z"] for r in pair)
        rows.append(
            {
                "seed": str(seed),
                "epochs": str(pair[0]["epochs"]),
                "baseline mAP, R1": f"{base['mAP']:.1f}, {base['R1']:.1f}",
                "RGA-SC mAP, R1": f"{rga['mAP']:.1f}, {rga['R1']:.1f}",
                "RGA-SC - baseline, mAP": f"{rga['mAP'] - base['mAP']:+.1f}",
                "RGA-SC - baseline, R1": f"{rga['R1'] - base['R1']:+.1f}",
            }
        )
    return [throughput, pd.DataFrame(rows)]


def gpu_record() -> dict | None:
    """Probe 3's record in ``benchmarks/results/`` (None until a GPU has run it)."""
    from rga.study.report.paths import repo_root

    path = repo_root() / "benchmarks" / "results" / GPU_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


class ScalePage:
    """The page's data, loaded once: each probe's claims (:func:`probe_claims`), the study's, the
    margins' moves, the probes' progress, the two studies' runs for the init comparison and
    probe 3's record (:func:`gpu_record`)."""

    def __init__(self):
        from rga.study.report.claims import study_claims
        from rga.study.report.paper import PAPER_TABLES
        from rga.study.report.runs import load_runs
        from rga.study.report.scale_probes import margin_shifts, probe_claims, probe_progress

        self.probes = probe_claims()
        self.study = study_claims()
        self.shifts = margin_shifts(self.probes, self.study)
        self.progress = probe_progress()
        frames = [r for r in (load_runs(e) for e in PAPER_TABLES) if not r.empty]
        self.runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.gpu = gpu_record()

    def answer(self) -> Markdown:
        """Two or three sentences: how far each probe has got and its judgements so far."""
        from rga.study.report.scale_probes import scale_status

        return Markdown(f"**In short.** {scale_status(self.shifts, self.progress)} "
                        f"{self.gpu_status()}")  # fmt: skip

    def gpu_status(self) -> str:
        """Whether probe 3 ran: its record's device and when, or that it has not."""
        if self.gpu is None:
            return ("Probe 3 (the paper's network on a GPU) has not run: no GPU was lent to this "
                    "issue's working sessions; its script, `benchmarks/gpu_scale_probe.py`, is "
                    "ready and tried on the CPU.")  # fmt: skip
        device = (self.gpu.get("machine") or {}).get("gpu", "a GPU")
        return f"Probe 3 ran on {device} ({self.gpu.get('created', 'date not recorded')})."

    def show_gpu(self):
        """Probe 3: its status, then its record's tables when a GPU ran it."""
        display(Markdown(self.gpu_status()))
        for table in gpu_tables(self.gpu) if self.gpu else []:
            if not table.empty:
                display(styled(table, index=False))

    def show_sizes(self):
        return styled(sizes_table().astype(str), nowrap=True)

    def show_cbam_sizes(self):
        return styled(cbam_sizes_table().astype(str), nowrap=True)

    def show_progress(self):
        return styled(self.progress.astype(str), index=False)

    def cpus(self, name: str) -> str:
        """The CPU families the probe's runs (its own and those it takes from the study)
        trained on, with their counts: pairs across two families compare runs that round
        differently (the Reproduce page measures by how much)."""
        from rga.study.report.runs import cpu_family
        from rga.study.report.scale_probes import PROBES, probe_runs

        probe = next(p for p in PROBES if p.name == name)
        runs = probe_runs(probe)
        if runs.empty or "hardware" not in runs:
            return ""
        counts = runs["hardware"].dropna().map(cpu_family).value_counts()
        listed = ", ".join(
            f"{family} ({n} run{'s' if n != 1 else ''})" for family, n in counts.items()
        )
        note = (
            " (pairs across the two compare runs that round differently)" if len(counts) > 1 else ""
        )
        return f"Its runs trained on: {listed}{note}."

    def show_probe(self, name: str):
        """One probe's findings: its runs' CPUs, what changed in words, the table of margins and
        moves (:func:`probe_table`), then its own verdicts in words (:func:`own_verdicts`)."""
        table = probe_table(self.shifts, name)
        if table.empty:
            return Markdown(f"No claim of probe *{name}* has runs yet.")
        cpus = self.cpus(name)  # reads the probe's results files: once
        if cpus:
            display(Markdown(cpus))
        nowrap = ["metric", "probe: verdict, margin", "study: verdict, margin",
                  "move (probe - study), 95 % CI", "Holm p"]  # fmt: skip
        findings = findings_text(self.shifts, name)
        if findings:
            display(Markdown(findings))
        display(styled(table, index=False, nowrap=nowrap))
        return own_verdicts(self.probes, name)

    def show_convergence(self) -> Markdown:
        """The rule's convergence measure at 192x96 (RGA-SC x4, seed 0, the chosen schedule
        against the next longer one) and what the longer schedule would cost the probe."""
        from rga.engine.config import LARGE_PROFILE
        from rga.study import regime
        from rga.study.report.runs import load_runs

        choice = regime.committed_choice()
        if not choice or not choice["schedule"]:
            return Markdown("No schedule is chosen yet, so there is nothing to check at 192x96.")
        probe = load_runs("scale_positions", profiles=(LARGE_PROFILE,))
        runs = regime.init_check_runs(
            load_runs("regime", profiles=(LARGE_PROFILE,)), probe, profile=LARGE_PROFILE
        )
        chosen, longer = choice["schedule_name"], regime.next_longer(choice["schedule_name"])
        table = regime.convergence_table(runs)
        text = regime.init_check_text(
            table, chosen, where="at 192x96", stands="the study's schedule serves at this size too"
        )
        excess = regime.init_check_excess(table, chosen)
        if not probe.empty and excess is not None:
            text += " " + longer_schedule_cost(probe, chosen, longer, asked=excess > regime.ENOUGH)
        return Markdown(text)

    def show_init_verdicts(self):
        """Each accuracy claim's verdict under the official init and under gamma = 1."""
        from rga.study.report.inits import init_verdicts

        claims = self.study[self.study["metric"].isin(["mAP", "R1"])]
        return styled(init_verdicts(claims), index=False, nowrap=["metric"])

    def show_init_effect(self):
        from rga.study.report.inits import init_effect

        effect = init_effect(self.runs) if not self.runs.empty else pd.DataFrame()
        if effect.empty:
            return Markdown("No RGA setting has runs under both inits yet.")
        return styled(effect, index=False, nowrap=["setting", "difference", "95 % CI"])
