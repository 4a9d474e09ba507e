"""The book's glossary: one name and one colour for every dataset, model kind, position, setting
and metric, so that every table, figure and sentence says the same thing the same way.

A *setting* is what one row of a paper table names: a model kind (``"rga-sc"``, ``"cbam"``, ...,
or ``"none"`` for the baseline), the stages it sits after (``positions``, 1 = after conv2_x) and,
for the RGA kinds with relations, the relation embedding (main paper Table 4). Its label is the
kind's label and the position's, e.g. "RGA-SC conv4_x", "RGA-SC conv2-5_x" (after all four
stages), "CBAM-CS conv2-5_x"; its colour is fixed (:func:`setting_colour`), the same in every
figure.

The ``label`` field of a results file (``rga.engine.config.model_label``) is not shown anywhere:
it predates this glossary ("RGA-SC (no relation) conv2-5_x", "CBAM conv2-5_x") and committed
results files hold it, so the report names runs from their ``kind`` and ``positions`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DATASET_LABELS = {
    "market1501": "Market-1501",
    "cuhk03-labeled": "CUHK03 (L)",
    "cuhk03-detected": "CUHK03 (D)",
    "msmt17": "MSMT17",
    "synthreid": "SynthReID",
}
BASELINE = "none"  # the `kind` of a baseline run in results tables (rga.study.results writes it)
ALL_FOUR = "1,2,3,4"  # the positions key of a module after every stage
DEFAULT_EMBEDDING = "asymmetric"  # the official relation embeddings (theta != phi)

# Every model kind, in the order of the main paper's Tables 1 and 2: its label (the paper's name)
# and what it is. Kinds in NOT_IMPLEMENTED are designs of the paper's Table 2 this project has not
# built; they appear in the paper's columns only.
KIND_LABELS = {
    BASELINE: "Baseline",
    "rga-s-norel": "RGA-S w/o Rel.",
    "rga-s-noori": "RGA-S w/o Ori.",
    "rga-s": "RGA-S",
    "rga-c-norel": "RGA-C w/o Rel.",
    "rga-c-noori": "RGA-C w/o Ori.",
    "rga-c": "RGA-C",
    "rga-sc-parallel": "RGA-S//C",
    "rga-cs": "RGA-CS",
    "rga-sc": "RGA-SC",
    "rga-sc-norel": "RGA-SC w/o Rel.",
    "cbam-s": "CBAM-S",
    "fc-s": "FC-S",
    "nonlocal": "NL",
    "snl": "SNL",
    "se": "SE",
    "cbam-c": "CBAM-C",
    "fc-c": "FC-C",
    "cbam": "CBAM-CS",
    "fc-sc-parallel": "FC-S//C",
}
KIND_DESCRIPTIONS = {
    BASELINE: "ResNet with last stride 1, BNNeck and classifier; no attention module",
    "rga-s-norel": "spatial RGA fed with each position's own feature only (no relations)",
    "rga-s-noori": "spatial RGA fed with the relations only (no original feature)",
    "rga-s": "spatial relation-aware global attention",
    "rga-c-norel": "channel RGA fed with each channel's own feature only (no relations)",
    "rga-c-noori": "channel RGA fed with the relations only (no original feature)",
    "rga-c": "channel relation-aware global attention",
    "rga-sc-parallel": "spatial and channel RGA in parallel",
    "rga-cs": "channel RGA, then spatial RGA",
    "rga-sc": "spatial RGA, then channel RGA: the paper's model",
    "rga-sc-norel": "RGA-SC without the relation term (supplementary Figure 1)",
    "cbam-s": "CBAM's spatial attention alone",
    "fc-s": "spatial attention from fully connected layers (not built here)",
    "nonlocal": "non-local block (embedded Gaussian)",
    "snl": "simplified non-local block (not built here)",
    "se": "squeeze-and-excitation channel attention",
    "cbam-c": "CBAM's channel attention alone",
    "fc-c": "channel attention from fully connected layers (not built here)",
    "cbam": "CBAM: channel attention, then spatial attention",
    "fc-sc-parallel": "FC-S and FC-C in parallel (not built here)",
}
NOT_IMPLEMENTED = frozenset({"fc-s", "snl", "fc-c", "fc-sc-parallel"})

STAGE_LABELS = {1: "conv2_x", 2: "conv3_x", 3: "conv4_x", 4: "conv5_x"}
EMBEDDING_LABELS = {
    "none": "w/o embedding",
    "symmetric": "symmetric embedding",
    "asymmetric": "asymmetric embeddings",
}


@dataclass(frozen=True)
class Metric:
    """A metric's label, its unit ("%" or "") and what it means."""

    label: str
    unit: str
    meaning: str

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


METRICS = {
    "R1": Metric(
        "R1",
        "%",
        "Rank-1: the share of queries whose closest gallery image shows the same person "
        "(gallery images of the query's identity from the query's camera are ignored)",
    ),
    "mAP": Metric(
        "mAP",
        "%",
        "mean average precision: the average precision of each query's ranked gallery, "
        "averaged over queries",
    ),
    "mINP": Metric(
        "mINP",
        "%",
        "mean inverse negative penalty (Ye et al., 2021): for each query, its number of correct "
        "matches divided by the rank of its last correct match, averaged over queries; low when "
        "the hardest match lies deep in the ranking",
    ),
    "mass_on_person": Metric(
        "mass on person",
        "",
        "the share of a spatial attention map's total weight that falls on person pixels; a "
        "uniform map scores the person's share of the image (chance)",
    ),
    "auroc": Metric(
        "AUROC",
        "",
        "the attention value used as a person-versus-background score: 0.5 is chance, 1 means "
        "every person pixel gets more attention than every background pixel, below 0.5 means "
        "the map prefers the background",
    ),
    "chance": Metric(
        "chance",
        "",
        "the mass on person of a uniform map: the mean share of the image the person mask covers",
    ),
    "loss": Metric("total loss", "", "cross-entropy plus triplet loss (weights 1 and 1)"),
    "ce": Metric(
        "cross-entropy",
        "",
        "label-smoothed cross-entropy of the identity classifier; ln K for a uniform guess over "
        "K training identities",
    ),
    "triplet": Metric("triplet loss", "", "batch-hard triplet loss, margin 0.3"),
    "lr": Metric("learning rate", "", "the learning rate of the epoch"),
}

# Statistics and other words the book uses, defined once (shown on the Introduction page).
TERMS = {
    "mean ± sd": "the mean over seeds and the sample standard deviation (n − 1) over seeds",
    "95 % CI [a, b]": "the t-interval of the mean over seeds, mean ± t(0.975, n − 1) · sd / √n; "
    "with 3 seeds t = 4.30, so the interval spans the mean ± 2.5 sd",
    "seed": "one training run of a setting; seeds change the initialisation and the batch order",
    "percentage points": "differences of two percentages (R1, mAP), e.g. 23.2 % − 21.0 % = 2.2",
    "margin": "of a claim in one seed: the worst setting on its better side minus the best "
    "setting on its worse side, in percentage points for R1 and mAP and in AUROC or "
    "mass-on-person units for attention scores; shown to describe a claim, it decides no verdict",
    "pair": "one setting of a claim's better side against one of its worse side; its paired "
    "difference is better minus worse in the same seed, with a mean, a 95 % t-interval and a "
    "p-value of the paired t-test",
    "Holm's correction": "the p-values of every pair of every claim of one study and one metric "
    "(the family) adjusted together, so that the chance of any false call in the family stays at "
    "or below 5 %",
    "holds": "a pair's or claim's verdict: the pair's corrected p-value is below 0.05 and its "
    "mean positive; a claim holds when every pair holds",
    "reversed": "the same with the mean negative: the side the paper says is worse does better; a "
    "claim is reversed when every pair is",
    "mixed": "a claim's verdict when some of its pairs hold or are reversed and the others are not "
    "all alike",
    "inconclusive": "a claim's verdict when no pair is decided after the correction; it states "
    "the largest gain its intervals leave open",
    "detectable at 80 % power": "the smallest mean difference a claim's seeds would detect in a "
    "two-sided paired t-test at level 0.05 four times in five (noncentral t, the sd of the "
    "differences pooled over the family)",
    "not testable": "a claim's verdict when a model on either side did not fit its training "
    "identities (final cross-entropy at least 90 % of ln K, a uniform guess): its margins say "
    "nothing about the claim",
    "pending": "a claim's verdict in the study in the paper's regime (pretrained profile) while "
    "some of the seeds the study plans for the claim's models have no runs yet; "
    '"seeds" then reads "2 of 5"',
    "not run": "our results files lack a setting the claim needs",
    "runs of": "a group of runs with the same dataset, network, input size, epochs, profile, "
    "device and changed fields; only runs of one group are pooled as seeds of a setting",
    "the spec": "a written description of what the official code "
    "(microsoft/Relation-Aware-Global-Attention-Networks) does, prepared for this study from "
    "every file of that repository, its issues and the supplementary material; cited by "
    "section, e.g. “spec 2.2”; shipped as the appendix page “The official code, as read for "
    "this study”",
    "run id": "the name of a run's results file and checkpoint folder: "
    "dataset-network-kind-p<positions>-s<seed>-<hash of the configuration>",
}

# One colour per setting. Families share a hue: RGA-S oranges, RGA-C cyans, RGA-SC reds and
# pinks, sequential and parallel RGA purples, CBAM blues; single-stage RGA-SC is a green ramp
# from conv2_x (light) to conv5_x (dark).
KIND_COLOURS = {
    BASELINE: "#4d4d4d",
    "rga-sc": "#d62728",
    "rga-sc-norel": "#e377c2",
    "rga-s": "#ff7f0e",
    "rga-s-norel": "#ffbb78",
    "rga-s-noori": "#bcbd22",
    "rga-c": "#17becf",
    "rga-c-norel": "#9edae5",
    "rga-c-noori": "#0e6b73",
    "rga-cs": "#9467bd",
    "rga-sc-parallel": "#c5b0d5",
    "cbam": "#1f77b4",
    "cbam-s": "#aec7e8",
    "cbam-c": "#393b79",
    "se": "#843c39",
    "nonlocal": "#e7ba52",
    "fc-s": "#bdbdbd",
    "snl": "#bdbdbd",
    "fc-c": "#bdbdbd",
    "fc-sc-parallel": "#bdbdbd",
}
SINGLE_STAGE_COLOURS = {"1": "#a1d99b", "2": "#74c476", "3": "#31a354", "4": "#006d2c"}
EMBEDDING_COLOURS = {"none": "#8c564b", "symmetric": "#ff9896"}
OTHER_COLOUR = "#7f7f7f"


def positions_key(positions) -> str:
    """Canonical text of a positions value: (1, 2) / [1, 2] / "1,2" / "(1, 2)" -> "1,2";
    None, NaN, () and "" -> ""."""
    if positions is None or (isinstance(positions, float) and np.isnan(positions)):
        return ""
    if isinstance(positions, str):
        digits = positions.replace("(", " ").replace(")", " ").replace(",", " ").split()
        return ",".join(str(int(p)) for p in sorted(digits, key=int))
    if isinstance(positions, int | np.integer):
        return str(int(positions))
    return ",".join(str(int(p)) for p in sorted(positions))


def normalise_kind(kind) -> str:
    """A run's attention kind with every spelling of "no attention" (None, NaN, "", "none") as
    ``"none"``, the baseline's kind in results tables."""
    if kind is None or (isinstance(kind, float) and np.isnan(kind)):
        return BASELINE
    if str(kind).lower() in ("none", ""):
        return BASELINE
    return str(kind)


def embedding_key(embedding) -> str:
    """A run's relation embedding; absent (older results files, non-RGA kinds) is the default."""
    if embedding is None or (isinstance(embedding, float) and np.isnan(embedding)):
        return DEFAULT_EMBEDDING
    return str(embedding) or DEFAULT_EMBEDDING


def position_label(positions) -> str:
    """Where the modules sit: "conv4_x" (one stage), "conv2-5_x" (all four, or any contiguous
    run of stages), "conv2,4_x" (others), "" (none)."""
    key = positions_key(positions)
    if not key:
        return ""
    stages = [int(p) + 1 for p in key.split(",")]  # stage 1 is after conv2_x
    if len(stages) == 1:
        return f"conv{stages[0]}_x"
    if stages == list(range(stages[0], stages[-1] + 1)):
        return f"conv{stages[0]}-{stages[-1]}_x"
    return "conv" + ",".join(map(str, stages)) + "_x"


Setting = tuple[str, str, str]  # (kind, positions key, embedding)


def setting_key(kind, positions, embedding=None) -> Setting:
    """The identity of a setting: (kind, positions key, embedding); the baseline is
    ("none", "", "asymmetric") whatever its other fields say."""
    kind = normalise_kind(kind)
    if kind == BASELINE:
        return (BASELINE, "", DEFAULT_EMBEDDING)
    return (kind, positions_key(positions), embedding_key(embedding))


def setting_label(kind, positions=None, embedding=None, with_position: bool = True) -> str:
    """ "Baseline", "RGA-SC conv4_x", "CBAM-CS conv2-5_x", "RGA-SC conv2-5_x, symmetric
    embedding" (the embedding named only when it is not the default). Without
    ``with_position`` the position is left out ("RGA-SC, symmetric embedding"), for a table or
    figure that says once where all its settings sit (:func:`common_position`)."""
    kind, key, embedding = setting_key(kind, positions, embedding)
    if kind == BASELINE:
        return KIND_LABELS[BASELINE]
    where = position_label(key) if with_position else ""
    label = " ".join(p for p in (KIND_LABELS.get(kind, kind), where) if p)
    if embedding != DEFAULT_EMBEDDING:
        label += ", " + EMBEDDING_LABELS.get(embedding, f"{embedding} embedding")
    return label


def common_position(settings) -> str:
    """The position label all the settings with a module share ("conv2-5_x"), or "" when they
    sit at different positions (or there is none)."""
    placed = {key for kind, key, _ in settings if kind != BASELINE}
    return position_label(placed.pop()) if len(placed) == 1 else ""


def setting_sort_key(setting: Setting) -> tuple:
    """Display order: kinds as in the paper's tables; single stages first (conv2_x to conv5_x),
    then several; asymmetric embeddings last (the paper's Table 4 order)."""
    kind, key, embedding = setting
    kinds = list(KIND_LABELS)
    stages = tuple(int(p) for p in key.split(",")) if key else ()
    embeddings = list(EMBEDDING_LABELS)
    return (
        kinds.index(kind) if kind in kinds else len(kinds),
        len(stages),
        stages,
        embeddings.index(embedding) if embedding in embeddings else len(embeddings),
    )


def setting_colour(kind, positions=None, embedding=None) -> str:
    """The setting's fixed colour (hex): RGA-SC after one stage on a green ramp, RGA-SC with
    other embeddings in their own colours, every other setting in its kind's colour."""
    kind, key, embedding = setting_key(kind, positions, embedding)
    if embedding != DEFAULT_EMBEDDING:
        return EMBEDDING_COLOURS.get(embedding, OTHER_COLOUR)
    if kind == "rga-sc" and key in SINGLE_STAGE_COLOURS:
        return SINGLE_STAGE_COLOURS[key]
    return KIND_COLOURS.get(kind, OTHER_COLOUR)


def metric_label(name: str, unit: bool = False) -> str:
    """A metric's label ("mass on person", "AUROC"), with its unit when ``unit`` ("mAP (%)")."""
    metric = METRICS.get(name)
    if metric is None:
        return name
    return metric.axis if unit else metric.label


def run_settings(runs: pd.DataFrame) -> list[Setting]:
    """The setting of each run (a row of :func:`rga.study.report.runs.load_runs`)."""
    kinds = runs["kind"] if "kind" in runs else [None] * len(runs)
    positions = runs["positions"] if "positions" in runs else [()] * len(runs)
    embeddings = runs["rga_embedding"] if "rga_embedding" in runs else [None] * len(runs)
    return [setting_key(*s) for s in zip(kinds, positions, embeddings, strict=True)]


def kinds_table() -> pd.DataFrame:
    """The glossary of model kinds: label, kind (the config value), what it is, colour."""
    return pd.DataFrame(
        [
            {
                "label": label,
                "kind": "none (baseline)" if kind == BASELINE else kind,
                "what it is": KIND_DESCRIPTIONS[kind],
                "colour": KIND_COLOURS[kind],
            }
            for kind, label in KIND_LABELS.items()
        ]
    )


def positions_table() -> pd.DataFrame:
    """The glossary of positions: label, positions (config value), where the modules sit."""
    rows = [
        {
            "label": position_label(str(stage)),
            "positions": f"({stage},)",
            "where": f"one module after the last block of {name}",
            "colour of RGA-SC there": SINGLE_STAGE_COLOURS[str(stage)],
        }
        for stage, name in STAGE_LABELS.items()
    ]
    rows.append(
        {
            "label": position_label(ALL_FOUR),
            "positions": "(1, 2, 3, 4)",
            "where": "one module after each of the four stages (the supplementary's "
            "“ResBlock conv2,3,4,5_x”); the paper's models",
            "colour of RGA-SC there": KIND_COLOURS["rga-sc"],
        }
    )
    return pd.DataFrame(rows)


def terms_table() -> pd.DataFrame:
    """The glossary of metrics and statistical terms: term, meaning."""
    rows = [
        {"term": m.axis, "meaning": m.meaning}
        for name, m in METRICS.items()
        if name in ("R1", "mAP", "mINP", "mass_on_person", "auroc", "chance")
    ]
    rows += [{"term": term, "meaning": meaning} for term, meaning in TERMS.items()]
    return pd.DataFrame(rows)
