"""A per-stage lock: two ``up``/``down``/``extend`` of one stage never race.

The lock is ``fcntl.flock`` on ``ECOMCTL_HOME/locks/<stage>.lock``: the kernel drops it
when the holder exits (a crash or ``kill -9`` leaves no stale lock), it works across
terminals and cron jobs, and it is taken without waiting: a second operator is told at
once who holds it (the pid written into the file) instead of queueing behind a deploy.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ecomctl import state
from ecomctl.errors import PreconditionFailed


class LockHeld(PreconditionFailed):
    """Another ecomctl holds the stage's lock (exit 4)."""


def lock_path(stage: str) -> Path:
    return state.home() / "locks" / f"{stage}.lock"


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another ecomctl"
    return f"pid {text}" if text.isdigit() else "another ecomctl"


@contextlib.contextmanager
def stage_lock(stage: str, action: str) -> Iterator[Path]:
    """Hold the stage's lock for the block, or raise ``LockHeld`` at once."""
    path = lock_path(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"stage {stage!r} is locked by {_holder(path)} (an up, down or extend is running); "
                           f"wait for it to finish, then {action} again") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
