"""The code behind the Scale and faithfulness page (``book/scale.md``): the RGA modules'
internal sizes in the study, in each scale probe and in the paper's network, read from the built
models (:func:`rga.analysis.module_sizes.rga_sizes`), never typed."""

from __future__ import annotations

import dataclasses

import pandas as pd

from rga.analysis.module_sizes import rga_sizes
from rga.engine.config import PROFILES, RunConfig, make_config

__all__ = ["SIZE_LABELS", "scale_settings", "sizes_table"]

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
