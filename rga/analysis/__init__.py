"""Looking inside trained models: attention maps and relation rows/columns (``probe``), their
precision against person masks (``precision``) and their split by body parts (``parts``), and
figures of them (``draw``) and of ranked lists (``draw_ranks``).

Imports: the library and ``rga.engine``; never ``rga.study``.
"""
