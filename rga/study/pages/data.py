"""The code behind the Data page (``book/data.md``): the real datasets' published sizes,
SynthReID's presets, a sample of it, the data our runs used and the training augmentation."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

import pandas as pd
import torch
from matplotlib.figure import Figure
from PIL import Image

from rga.data.cuhk03 import CUHK03_PUBLISHED
from rga.data.market1501 import MARKET1501_PUBLISHED
from rga.data.msmt17 import MSMT17_PUBLISHED
from rga.study.report.formats import count

__all__ = [
    "Sample",
    "augmentation_figure",
    "presets_table",
    "published_table",
    "smoke_sample",
    "used_data",
]


def published_table() -> pd.DataFrame:
    """Identities and images of each split of the real datasets, as published."""
    published = {
        "Market-1501": MARKET1501_PUBLISHED,
        "CUHK03 (L), new protocol": CUHK03_PUBLISHED["labeled"],
        "CUHK03 (D), new protocol": CUHK03_PUBLISHED["detected"],
        "MSMT17": MSMT17_PUBLISHED,
    }
    rows = [{"dataset": name, "split": split, "identities": count(ids), "images": count(images)}
            for name, counts in published.items() for split, (ids, images) in counts.items()]  # fmt: skip
    table = pd.DataFrame(rows).pivot(index="dataset", columns="split",
                                     values=["identities", "images"])  # fmt: skip
    return table.reindex(columns=["train", "query", "gallery"], level=1)


def presets_table() -> pd.DataFrame:
    """SynthReID's presets (``rga.synth.PRESETS``), one column each."""
    from rga.synth import PRESETS

    return pd.DataFrame(
        {
            name: {k: str(v) for k, v in dataclasses.asdict(cfg).items()}
            for name, cfg in PRESETS.items()
        }  # fmt: skip
    )


@dataclasses.dataclass
class Sample:
    """SynthReID generated into a temporary ``folder`` (the dataset's own folder, ``root``, is
    inside it), loaded (``dataset``) at ``size`` (height, width); :meth:`remove` deletes it."""

    folder: str
    root: str
    dataset: object
    size: tuple[int, int]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def smoke_sample() -> Sample:
    """SynthReID's ``smoke`` preset generated at the ``cpu`` profile's size in a temporary
    folder (the page removes it when done)."""
    from rga.data import load_dataset
    from rga.engine.config import PROFILES
    from rga.synth import ensure_synthreid

    size = {"height": PROFILES["cpu"].height, "width": PROFILES["cpu"].width}
    cache = tempfile.mkdtemp(prefix="synthreid-book-")
    root = ensure_synthreid(cache, preset="smoke", **size)
    synth = load_dataset("synthreid", cache, preset="smoke", verbose=False, **size)
    return Sample(cache, root, synth, (size["height"], size["width"]))


def used_data():
    """The datasets our runs used, with their statistics; or how to make runs when none exist."""
    from rga.study.report.paths import missing_results_message, results_dir
    from rga.study.report.runs import load_runs, used_dataset_statistics

    used = used_dataset_statistics(load_runs())
    if used.empty:
        return missing_results_message(
            "results files",
            results_dir() / "<experiment>" / "*.json",
            "papermill experiments/plugin_position.ipynb out.ipynb -p profile cpu",
        )
    return used


def augmentation_figure(
    image_path: str, size: tuple[int, int], n: int = 8, seed: int = 0
) -> Figure:
    """An image and ``n`` draws of the training transform applied to it."""
    from rga.analysis.draw import denormalize
    from rga.data import build_transforms

    torch.manual_seed(seed)
    transform = build_transforms(*size, train=True)
    image = Image.open(image_path).convert("RGB")
    fig = Figure(figsize=(9, 2.4), layout="constrained")
    axes = fig.subplots(1, n + 1)
    axes[0].imshow(image)
    axes[0].set_title("original", fontsize=8)
    for ax in axes[1:]:
        ax.imshow(denormalize(transform(image)))
    for ax in axes:
        ax.set_axis_off()
    return fig
