"""A picture of SynthReID samples next to their masks (for the data chapter of the book)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rga.synth.plan import SPLIT_FOLDERS, load_mask


def _overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with everything outside the mask dimmed and tinted blue, (H, W, 3) uint8."""
    out = image.astype(np.float32)
    out[~mask] = out[~mask] * 0.3 + np.array([0, 20, 70], np.float32)
    return out.astype(np.uint8)


def sample_grid(
    root: str | Path,
    n: int = 8,
    split: str = "train",
    columns: int = 4,
    scale: int = 2,
    seed: int = 0,
) -> Image.Image:
    """``n`` random images of ``split`` ("train", "query" or "gallery"), each shown as
    (image, mask, image with the background dimmed), ``columns`` triples per row, upscaled
    ``scale`` times with nearest-neighbour pixels.
    """
    if split not in SPLIT_FOLDERS:
        raise KeyError(f"unknown split {split!r}; valid splits: {', '.join(SPLIT_FOLDERS)}")
    paths = sorted((Path(root) / SPLIT_FOLDERS[split]).glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no images in {Path(root) / SPLIT_FOLDERS[split]}")
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(len(paths), size=min(n, len(paths)), replace=False))
    tiles = []
    for i in picks:
        image = np.asarray(Image.open(paths[i]).convert("RGB"))
        mask = load_mask(paths[i])
        gray = np.repeat(mask[..., None].astype(np.uint8) * 255, 3, axis=2)
        tiles.append(np.concatenate([image, gray, _overlay(image, mask)], axis=1))
    h, w = tiles[0].shape[:2]
    gap = 4
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for t, tile in enumerate(tiles):
        r, c = divmod(t, columns)
        grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tile
    picture = Image.fromarray(grid)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
