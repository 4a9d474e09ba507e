"""SynthReID: the generator of the study's synthetic re-id set (numpy and PIL only, no torch).

``ensure_synthreid(cache_dir, preset)`` writes (once) a dataset in the Market-1501 layout with
person masks; ``rga.data.load_dataset("synthreid", ...)`` calls it. Modules: ``config`` (the
presets and the generator version), ``plan`` (who appears where), ``identity``, ``person``,
``painter``, ``scene``, ``render`` (drawing), ``grid`` (contact sheets), ``generate`` (writing
the folders).

Imports: nothing else of ``rga``; the data layer imports this package, never the reverse.
"""

from rga.synth.generate import (
    PRESETS,
    SynthConfig,
    ensure_synthreid,
    generate_synthreid,
    load_mask,
    mask_path,
    read_meta,
    sample_grid,
    synth_config,
)

__all__ = [
    "PRESETS",
    "SynthConfig",
    "ensure_synthreid",
    "generate_synthreid",
    "load_mask",
    "mask_path",
    "read_meta",
    "sample_grid",
    "synth_config",
]
