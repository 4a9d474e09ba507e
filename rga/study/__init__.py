"""The study built around the library: which runs each experiment makes (``experiments``), one
run trained and recorded (``train``, also the command line ``python -m rga.study.train``),
results files (``results``), one committed run retrained at the code at hand (``rerun``, the
command line ``python -m rga.study.rerun``), what the smoke profile's numbers mean (``smoke``),
and the helpers the notebooks and the book call (``report``).

Imports: anything of ``rga``; nothing of ``rga`` imports this package.
"""

from importlib import import_module

_EXPORTS = {
    "EXPERIMENTS": "rga.study.experiments",
    "experiment_configs": "rga.study.experiments",
    "notebook_fields": "rga.study.experiments",
    "parse_overrides": "rga.study.experiments",
    "parse_seeds": "rga.study.experiments",
    "run_experiment": "rga.study.experiments",
    "smoke_note": "rga.study.smoke",
    "train_run": "rga.study.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rga.study' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
