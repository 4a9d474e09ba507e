"""Networks: the re-id model (``ReIDNet``), the RGA and CBAM attention modules, the ResNet trunk,
and ``from_official`` for checkpoints of the official RGA code.

Part of the library. Imports: nothing else of ``rga``; the model knows nothing of datasets.
"""

from rga.model.backbone import ARCHS, build_trunk, feature_sizes
from rga.model.cbam import CBAM
from rga.model.official import from_official
from rga.model.reid import KINDS, ReIDNet, ReIDOutput, build_attention
from rga.model.rga import RELATIONS, AttentionMaps, RGAModule

__all__ = [
    "ARCHS",
    "CBAM",
    "KINDS",
    "RELATIONS",
    "AttentionMaps",
    "RGAModule",
    "ReIDNet",
    "ReIDOutput",
    "build_attention",
    "build_trunk",
    "feature_sizes",
    "from_official",
]
