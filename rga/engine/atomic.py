"""Writing a file in one step: a reader, or a writer killed halfway, never sees it half written.

Every file the package writes goes through :func:`atomic_write`: the content goes to a temporary
file ``.<name>.<pid>.tmp`` beside the target (one per process, so two writers never share it),
which then replaces the target with ``os.replace`` (atomic on POSIX). A failed write leaves the
old file as it was; a killed one leaves its temporary file, which
:func:`rga.engine.checkpoint.remove_stale_temporaries` removes once its process is gone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "temporary_path"]


def temporary_path(path: str | Path) -> Path:
    """The temporary file this process writes `path` through: ``<folder>/.<name>.<pid>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s new content to; on leaving the block without an
    error it replaces `path`, otherwise it is deleted and `path` is untouched. The folder is
    created if needed::

        with atomic_write(target) as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
