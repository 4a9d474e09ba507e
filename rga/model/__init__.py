"""Networks: the re-id model (``ReIDNet``), the RGA, CBAM, SE and non-local attention modules,
the ResNet trunk, and ``from_official`` for checkpoints of the official RGA code.

Part of the library. Imports: nothing else of ``rga``; the model knows nothing of datasets.
"""

from rga.model.backbone import ARCHS, build_trunk, feature_sizes
from rga.model.cbam import CBAM
from rga.model.nonlocal_block import NonLocalBlock
from rga.model.official import from_official
from rga.model.reid import (
    FAMILIES,
    KINDS,
    ReIDNet,
    ReIDOutput,
    build_attention,
    has_relations,
    kind_family,
)
from rga.model.rga import EMBEDDINGS, ORDERS, RELATIONS, AttentionMaps, RGAModule
from rga.model.se import SEStage, SqueezeExcitation

__all__ = [
    "ARCHS",
    "CBAM",
    "EMBEDDINGS",
    "FAMILIES",
    "KINDS",
    "ORDERS",
    "RELATIONS",
    "AttentionMaps",
    "NonLocalBlock",
    "RGAModule",
    "ReIDNet",
    "ReIDOutput",
    "SEStage",
    "SqueezeExcitation",
    "build_attention",
    "build_trunk",
    "feature_sizes",
    "from_official",
    "has_relations",
    "kind_family",
]
