"""Looking inside trained models: attention maps and relation rows/columns (``probe``), their
precision against person masks (``precision``), and figures of them (``draw``).

Imports: the library and ``rga.engine``; never ``rga.study``.
"""
