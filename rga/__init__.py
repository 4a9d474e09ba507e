"""RGA: a reproducibility study of Relation-Aware Global Attention for person re-identification.

Subpackages: ``rga.model`` (networks), ``rga.losses``, ``rga.evaluation``, ``rga.data``,
``rga.config``, ``rga.train``, ``rga.results``, ``rga.probe``.
The most used names are also reachable from here (imported on first use).
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "ReIDNet": "rga.model",
    "ReIDOutput": "rga.model",
    "from_official": "rga.model",
    "evaluate_rank": "rga.evaluation",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rga' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
