"""RGA: a reproducibility study of Relation-Aware Global Attention for person re-identification.

The thin library that implements the paper: ``rga.model`` (networks), ``rga.losses``,
``rga.evaluation``, ``rga.data`` (dataset loaders), with ``rga.synth`` (the SynthReID generator).
Around it: ``rga.engine`` (config, training loop, checkpoints), ``rga.analysis`` (attention
probes), ``rga.study`` (experiments, results files, the book's helpers). Imports point one way:
synth <- library <- engine <- analysis <- study.
The most used names are also reachable from here (imported on first use)."""

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
