"""Looking inside trained models: attention maps and relation rows/columns (``probe``), their
precision against person masks (``precision``) and their split by body parts (``parts``), and
figures of them (``draw``) and of ranked lists (``draw_ranks``); the RGA modules' internal
widths, read from a built model (``module_sizes``).

Imports: the library and ``rga.engine``; never ``rga.study``.
"""
