"""The state of a window on disk: one JSON file per stage under ``ECOMCTL_HOME``.

The file says which process runs the window and where its endpoints are. It is written
atomically (temp file + rename) and created exclusively, so two ``up`` runs cannot both
own a stage. A file whose process is gone (crash, reboot, ``kill -9``) is stale: it is
detected by the pid *and* the process' start time (pids are reused) and cleaned.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ecomctl.errors import UserError

STATE_VERSION = 1


class StateError(UserError):
    """The state file exists but cannot be read or parsed."""


def home() -> Path:
    return Path(os.environ.get("ECOMCTL_HOME") or Path.home() / ".ecomctl")


def state_path(stage: str) -> Path:
    return home() / "windows" / f"{stage}.json"


def log_path(stage: str, target: str = "local") -> Path:
    return home() / "logs" / f"{target}-{stage}.log"


@dataclass
class WindowState:
    target: str
    stage: str
    deadline: str  # ISO-8601 UTC
    started_at: str
    ttl_s: int
    log: str
    status: str = "starting"  # starting -> ready
    pid: int | None = None
    pid_started: float | None = None  # psutil create_time of pid
    api_url: str | None = None
    aws_endpoint: str | None = None
    region: str = "us-east-1"
    ports: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> WindowState:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f for f in WindowState.__dataclass_fields__}
        missing = {"target", "stage", "deadline", "started_at", "ttl_s", "log"} - set(data)
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        return WindowState(**{k: v for k, v in data.items() if k in known})


def read(stage: str) -> WindowState | None:
    path = state_path(stage)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"state file {path} is unreadable: {exc.strerror or exc}") from None
    try:
        return WindowState.from_json(text)
    except (ValueError, TypeError) as exc:
        raise StateError(
            f"state file {path} is corrupt ({exc}); stop any platform process of stage {stage!r} and delete it"
        ) from None


def write(state: WindowState) -> None:
    path = state_path(state.stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{state.stage}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(state.to_json())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def create(state: WindowState) -> None:
    """Write a new state file; fails if one exists (another ``up`` owns the stage)."""
    path = state_path(state.stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UserError(f"a window for stage {state.stage!r} is already being started ({path})") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(state.to_json())


def remove(stage: str, pid: int | None = None) -> bool:
    """Delete the stage's state file; with ``pid``, only if it still belongs to that process."""
    path = state_path(stage)
    if pid is not None:
        try:
            current = read(stage)
        except StateError:
            current = None
        if current is not None and current.pid not in (None, pid):
            return False
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def process_alive(state: WindowState) -> bool:
    """True if the window's process still runs (same pid *and* same start time)."""
    if not state.pid:
        return False
    try:
        proc = psutil.Process(state.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        started = proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return state.pid_started is None or abs(started - state.pid_started) < 1.0


def process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
