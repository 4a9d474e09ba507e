"""``load_dataset(name, root, **options)``: one plain dict of loaders, keyed by dataset name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rga.data.cuhk03 import load_cuhk03
from rga.data.dataset import ReIDDataset
from rga.data.market1501 import load_market1501, read_market_layout
from rga.data.msmt17 import load_msmt17


def load_cuhk03_labeled(root: str | Path, verbose: bool = True) -> ReIDDataset:
    return load_cuhk03(root, variant="labeled", verbose=verbose)


def load_cuhk03_detected(root: str | Path, verbose: bool = True) -> ReIDDataset:
    return load_cuhk03(root, variant="detected", verbose=verbose)


def load_synthreid(
    root: str | Path, preset: str = "cpu", verbose: bool = True, **overrides
) -> ReIDDataset:
    """SynthReID: generated into the cache folder ``root`` on first use, then read as Market-1501.

    ``preset`` and ``overrides`` go to :func:`rga.synth.ensure_synthreid`. There are no
    published counts, so no count warning; the ``masks/`` side folder is ignored here.
    """
    from rga.synth import ensure_synthreid  # imported on use: only this loader needs it

    folder = ensure_synthreid(Path(root).expanduser(), preset=preset, **overrides)
    return read_market_layout(Path(folder), "synthreid", published=None, verbose=verbose)


LOADERS: dict[str, Callable[..., ReIDDataset]] = {
    "market1501": load_market1501,
    "cuhk03-labeled": load_cuhk03_labeled,
    "cuhk03-detected": load_cuhk03_detected,
    "msmt17": load_msmt17,
    "synthreid": load_synthreid,
}


def load_dataset(name: str, root: str | Path, **options) -> ReIDDataset:
    """Load dataset ``name`` from ``root``; ``options`` go to its loader (e.g. ``verbose=False``,
    ``version="v2"`` for MSMT17, ``preset="smoke"`` for SynthReID)."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(LOADERS)}") from None
    return loader(root, **options)
