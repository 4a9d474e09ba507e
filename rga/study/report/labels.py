"""The names the book gives things: datasets, model kinds, supplementary Table 2's settings.

One place for every label, so tables, figures and text say the same thing the same way.
"""

from __future__ import annotations

import numpy as np

DATASET_LABELS = {
    "market1501": "Market-1501",
    "cuhk03-labeled": "CUHK03 (L)",
    "cuhk03-detected": "CUHK03 (D)",
    "msmt17": "MSMT17",
    "synthreid": "SynthReID",
}
BASELINE = (
    "none"  # the `kind` of a baseline run in results tables (rga.study.results writes None so)
)
KIND_LABELS = {
    BASELINE: "Baseline",
    "rga-sc": "RGA-SC",
    "rga-s": "RGA-S",
    "rga-c": "RGA-C",
    "rga-sc-norel": "RGA-SC w/o Rel.",
    "rga-s-norel": "RGA-S w/o Rel.",
    "rga-c-norel": "RGA-C w/o Rel.",
    "rga-s-noori": "RGA-S w/o Ori.",
    "rga-c-noori": "RGA-C w/o Ori.",
    "rga-sc-parallel": "RGA-S//C",
    "rga-cs": "RGA-CS",
    "cbam": "CBAM",
    "cbam-s": "CBAM-S",
    "cbam-c": "CBAM-C",
    "se": "SE",
    "nonlocal": "NL",
}
# Supplementary Table 2 rows, in its order, keyed by our `positions`.
TABLE2_SETTINGS = {
    "": "Baseline",
    "1": "ResBlock conv2_x",
    "2": "ResBlock conv3_x",
    "3": "ResBlock conv4_x",
    "4": "ResBlock conv5_x",
    "1,2,3,4": "ResBlock conv2,3,4,5_x",
}


def positions_key(positions) -> str:
    """Canonical text of a positions value: (1, 2) / [1, 2] / "1,2" / "(1, 2)" -> "1,2";
    None, NaN, () and "" -> ""."""
    if positions is None or (isinstance(positions, float) and np.isnan(positions)):
        return ""
    if isinstance(positions, str):
        digits = [
            p for p in positions.replace("(", " ").replace(")", " ").replace(",", " ").split()
        ]
        return ",".join(str(int(p)) for p in sorted(digits, key=int))
    if isinstance(positions, (int, np.integer)):
        return str(int(positions))
    return ",".join(str(int(p)) for p in sorted(positions))


def normalise_kind(kind) -> str:
    """A run's attention kind with every spelling of "no attention" (None, NaN, "none") as
    ``"none"``, the baseline's kind in results tables."""
    if kind is None or (isinstance(kind, float) and np.isnan(kind)) or str(kind).lower() == "none":
        return BASELINE
    return str(kind)


def table2_setting(kind, positions) -> str:
    """The row name of supplementary Table 2 for a run: "Baseline", "ResBlock conv3_x", ..."""
    key = positions_key(positions)
    if normalise_kind(kind) == BASELINE or key == "":
        return "Baseline"
    if key in TABLE2_SETTINGS:
        return TABLE2_SETTINGS[key]
    return "ResBlock conv" + ",".join(str(int(p) + 1) for p in key.split(",")) + "_x"
