"""One process at a time per run folder: a lock file holding the owner's pid and host.

Two processes asked to train the same run (two notebooks sharing a model, a command line run
started twice) would otherwise both train from scratch into one folder, their log lines
interleaved. ``RunLock(run_dir)`` creates ``<run_dir>/train.lock`` atomically (``O_EXCL``); a
second process waits until the first is done (and then finds its run finished, or resumes what
it left), saying once who holds the lock. A lock whose process is no longer running on this
machine (killed, crashed) is stale: it is taken over at once. A lock written on another host
cannot be checked from here; it is waited for, and the message says how to clear it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from rga.engine.checkpoint import process_alive

LOCK = "train.lock"
POLL_S = 5.0  # seconds between two looks at a held lock
UNREADABLE_STALE_S = 10.0  # a lock file still without its owner after this long is stale


class RunLockedError(RuntimeError):
    """Another process held the run's lock for longer than the caller would wait."""


class RunLock:
    """Context manager: hold ``<run_dir>/train.lock`` for the duration of the block.

    Args:
        run_dir: the run folder (created if missing).
        poll_s: seconds between two attempts while another live process holds the lock.
        timeout_s: give up with :class:`RunLockedError` after this long; None waits until the
            holder ends.
        say: where the one waiting message (and a stale-lock notice) goes.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        poll_s: float = POLL_S,
        timeout_s: float | None = None,
        say: Callable[[str], None] = print,
    ):
        self.path = Path(run_dir) / LOCK
        self.poll_s, self.timeout_s, self.say = poll_s, timeout_s, say
        self._held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        start, told = time.monotonic(), False
        while not self._try_create():
            holder = read_lock(self.path)
            if holder is None:  # removed meanwhile, or being written: look again shortly
                if _age_s(self.path) > UNREADABLE_STALE_S:  # its writer died while writing it
                    self.say(f"removing the unreadable lock {self.path}")
                    self.path.unlink(missing_ok=True)
                _wait(min(self.poll_s, 0.1))
                continue
            if holder.get("host") == socket.gethostname() and not process_alive(holder["pid"]):
                self.say(f"removing the stale lock {self.path}: {_describe(holder)} is not running")
                self.path.unlink(missing_ok=True)
                continue
            waited = time.monotonic() - start
            if self.timeout_s is not None and waited >= self.timeout_s:
                raise RunLockedError(
                    f"{_describe(holder)} holds {self.path}: it is training this run now. Wait "
                    "for it to finish (its finished run is then reused, not retrained) or stop "
                    f"it; if no such process is running, delete {self.path}"
                )
            if not told:
                self.say(
                    f"waiting: {_describe(holder)} is training this run (lock {self.path}); this "
                    "process goes on when it ends, reusing what it trained. If no such process "
                    f"is running, delete {self.path}"
                )
                told = True
            _wait(self.poll_s)
        self._held = True

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if self._held:
            holder = read_lock(self.path)
            if holder is not None and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        with os.fdopen(fd, "w") as f:
            json.dump(owner, f)
        return True


def read_lock(path: str | Path) -> dict | None:
    """The owner recorded in a lock file, {pid, host, since}; None if absent or unreadable."""
    try:
        owner = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return None
    return owner


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _describe(holder: dict) -> str:
    return (
        f"process {holder['pid']} on {holder.get('host', '?')} (since {holder.get('since', '?')})"
    )
