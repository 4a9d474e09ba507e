"""The training engine: a run's configuration and schedule, the training loop, checkpoints,
seeds and several processes.

Modules: ``config`` (``RunConfig``, the profiles, run ids), ``schedule`` (the learning rate),
``build`` (the checked data, data loader, model, optimiser from a config), ``train`` (the loop),
``evaluate``, ``checkpoint``, ``atomic`` (the one atomic file write every writer uses),
``lock`` (one process per run folder), ``seeding``, ``determinism``, ``distributed``,
``provenance`` (hardware, versions, commit, relative paths).

Imports: the library (``rga.model``, ``rga.losses``, ``rga.evaluation``, ``rga.data``) and
``rga.synth``; never ``rga.analysis`` or ``rga.study``. The engine writes checkpoints only;
results files are the study's.
"""
