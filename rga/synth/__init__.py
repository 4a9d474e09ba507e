"""SynthReID: the generator of the study's synthetic re-id set (numpy and PIL only, no torch).

``ensure_synthreid(cache_dir, preset)`` writes (once) a dataset in the Market-1501 layout with
person masks and part maps (``PARTS``: head, torso, arms, legs, shoes, bag);
``rga.data.load_dataset("synthreid", ...)`` calls it. ``render_images`` draws a few named images
in memory. Modules: ``config`` (the presets and the generator version), ``plan`` (who appears where), ``identity``, ``person``,
``painter``, ``scene``, ``render`` (drawing), ``grid`` (contact sheets), ``generate`` (writing
the folders).

Imports: nothing else of ``rga``; the data layer imports this package, never the reverse.
"""

from rga.synth.generate import (
    PRESETS,
    RenderedImage,
    SynthConfig,
    add_part_masks,
    ensure_synthreid,
    generate_synthreid,
    load_mask,
    mask_path,
    read_meta,
    render_images,
    sample_grid,
    synth_config,
)
from rga.synth.person import PARTS
from rga.synth.plan import load_part_mask, part_mask_path

__all__ = [
    "PARTS",
    "PRESETS",
    "RenderedImage",
    "SynthConfig",
    "add_part_masks",
    "ensure_synthreid",
    "generate_synthreid",
    "load_mask",
    "load_part_mask",
    "mask_path",
    "part_mask_path",
    "read_meta",
    "render_images",
    "sample_grid",
    "synth_config",
]
