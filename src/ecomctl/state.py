"""The state of a window on disk: one JSON file per stage under ``ECOMCTL_HOME``.

A window has a common part (target, stage, times, endpoints) and a part of its own
target's (``part``: the local target's process and ports, the AWS target's account and
stack), so commands read one shape whatever the target. The file carries a version: a
file from another version of ecomctl, or one edited wrong, is refused with one line that
says what to do, never half-read.

It is written atomically (temp file + rename) and created exclusively, so two ``up``
runs cannot both own a stage.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ecomctl.errors import ExitStatus, UserError

STATE_VERSION = 2
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "target": str, "stage": str, "deadline": str, "started_at": str, "ttl_s": int,
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "status": str, "api_url": (str, type(None)), "aws_endpoint": (str, type(None)), "region": str, "part": dict,
}


class StateError(UserError):
    """The state file exists but cannot be read, parsed or trusted."""

    exit_status = ExitStatus.PRECONDITION


def home() -> Path:
    return Path(os.environ.get("ECOMCTL_HOME") or Path.home() / ".ecomctl")


def windows_dir() -> Path:
    return home() / "windows"


def state_path(stage: str) -> Path:
    return windows_dir() / f"{stage}.json"


def log_path(stage: str, target: str = "local") -> Path:
    return home() / "logs" / f"{target}-{stage}.log"


@dataclass
class WindowState:
    target: str
    stage: str
    deadline: str  # ISO-8601 UTC
    started_at: str
    ttl_s: int
    status: str = "starting"  # starting -> ready
    api_url: str | None = None
    aws_endpoint: str | None = None  # None: the target's default AWS endpoints
    region: str = "us-east-1"
    part: dict[str, Any] = field(default_factory=dict)  # the target's own part
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> WindowState:
        """Parse and check a state file's text; ``ValueError`` says what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        version = data.get("version", 1)
        if version != STATE_VERSION:
            raise _VersionMismatch(version)
        missing = sorted(set(_REQUIRED) - set(data))
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        for name, kind in {**_REQUIRED, **_OPTIONAL}.items():
            if name in data and (not isinstance(data[name], kind) or isinstance(data[name], bool)):
                raise ValueError(f"field {name!r} has the wrong type ({type(data[name]).__name__})")
        known = {f.name for f in fields(WindowState)}
        return WindowState(**{k: v for k, v in data.items() if k in known})


class _VersionMismatch(ValueError):
    def __init__(self, version: Any) -> None:
        super().__init__(f"version {version!r}")
        self.version = version


def parse(stage: str, text: str, path: Path) -> WindowState:
    try:
        return WindowState.from_json(text)
    except _VersionMismatch as exc:
        raise StateError(
            f"state file {path} was written by another version of ecomctl (state version {exc.version!r}, "
            f"this one reads {STATE_VERSION}); stop that window with the ecomctl that started it, or delete the file"
        ) from None
    except (ValueError, TypeError) as exc:
        raise StateError(
            f"state file {path} is corrupt ({exc}); stop any platform process of stage {stage!r} and delete it"
        ) from None


def read(stage: str) -> WindowState | None:
    path = state_path(stage)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"state file {path} is unreadable: {exc.strerror or exc}") from None
    return parse(stage, text, path)


def stages() -> list[str]:
    """Every stage with a state file, in name order."""
    try:
        return sorted(p.stem for p in windows_dir().glob("*.json"))
    except OSError:
        return []


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


def remove(stage: str, owner: Any = None, key: str = "pid") -> bool:
    """Delete the stage's state file; with ``owner``, only if its part's ``key`` is still that owner."""
    path = state_path(stage)
    if owner is not None:
        try:
            current = read(stage)
        except StateError:
            current = None
        if current is not None and current.part.get(key) not in (None, owner):
            return False
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
