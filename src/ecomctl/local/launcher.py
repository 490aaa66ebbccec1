"""Start, find and stop a local window: the logic behind ``up``, ``down`` and ``status``.

``start`` claims the stage's state file (exclusive create), starts the platform process
detached (its own session, so it outlives the CLI and a Ctrl-C in the terminal), and
waits until the process reports ready in the state file, or dies (the log says why).
``stop`` sends SIGTERM, waits for a clean exit, escalates to SIGKILL if it must, then
checks that nothing of the window is left: process, listening ports, state file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psutil

from ecomctl import state
from ecomctl.errors import PreconditionFailed, UserError
from ecomctl.local.part import LocalPart, process_alive, process_started
from ecomctl.window import check_cells, iso, parse_iso

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
STARTING_GRACE_S = 30.0
MAX_CELLS = 8  # a "starting" file without a pid is someone else's ``up`` in progress


class PortInUse(UserError):
    pass


@dataclass
class Cleaned:
    """What ``find`` removed because its process was gone."""

    stage: str
    pid: int | None

    @property
    def why(self) -> str:
        return f"pid {self.pid} was gone" if self.pid else "its platform process never started"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def port_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def find(stage: str) -> tuple[state.WindowState | None, Cleaned | None]:
    """The live window of ``stage``, cleaning a stale state file on the way."""
    current = state.read(stage)
    if current is None:
        return None, None
    return check(current)


def check(current: state.WindowState) -> tuple[state.WindowState | None, Cleaned | None]:
    """``current`` if its process still runs (or is still being started), else clean it."""
    part = LocalPart.of(current)
    if process_alive(part):
        return current, None
    if part.pid is None:
        started = parse_iso(current.started_at)
        if datetime.now(UTC) - started < timedelta(seconds=STARTING_GRACE_S):
            return current, None
    state.remove(current.stage)
    return None, Cleaned(current.stage, part.pid)


def start(
    stage: str,
    ttl: timedelta,
    api_port: int | None = None,
    tracing: bool = True,
    extra_args: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    cells: int = 1,
) -> tuple[state.WindowState, Cleaned | None]:
    note = progress or (lambda _msg: None)
    live, cleaned = find(stage)
    if live is not None:
        where = f" at {live.api_url}" if live.api_url else ""
        raise PreconditionFailed(
            f"stage {stage!r} already has a {live.target} window{where} until {live.deadline}; "
            f"run `ecomctl down --stage {stage}` first"
        )
    if api_port is not None and api_port != 0 and port_in_use(api_port):
        raise PortInUse(f"port {api_port} is in use on 127.0.0.1; pick another with --port")

    now = datetime.now(UTC)
    deadline = now + ttl
    log = state.log_path(stage)
    log.parent.mkdir(parents=True, exist_ok=True)
    part = LocalPart(log=str(log), tracing=tracing)
    record = part.into(state.WindowState(
        target="local", stage=stage, deadline=iso(deadline), started_at=iso(now), ttl_s=int(ttl.total_seconds()),
    ))
    state.create(record)
    check_cells(cells, "local")
    entry = ["ecomctl.local.runtime"] if cells == 1 else ["ecomctl.local.cells", "--cells", str(cells)]
    cmd = [
        sys.executable, "-m", *entry, "--stage", stage,
        "--deadline", deadline.isoformat(), "--state-file", str(state.state_path(stage)),
        "--api-port", str(api_port or 0),
    ]
    if not tracing:
        cmd.append("--no-tracing")
    cmd += extra_args or []
    note("starting the platform process")
    try:
        with open(log, "ab") as fh:
            fh.write(f"\n--- {iso(now)} ecomctl up --stage {stage} (deadline {iso(deadline)})\n".encode())
            fh.flush()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
    except OSError as exc:
        state.remove(stage)
        raise UserError(f"could not start the platform process: {exc}") from None
    part.pid = proc.pid
    part.pid_started = process_started(proc.pid)
    _merge_pid(stage, part.into(record))

    note("provisioning the topology on moto")
    waited_from = time.monotonic()
    while True:
        code = proc.poll()
        if code is not None:
            state.remove(stage)
            raise UserError(f"the platform failed to start (exit {code}){_last_error(log)}; log: {log}")
        try:
            current = state.read(stage)
        except state.StateError:
            current = None
        if current is not None and current.status == "ready" and current.part.get("pid") == proc.pid:
            note("ready")
            return current, cleaned
        if time.monotonic() - waited_from > READY_TIMEOUT_S * (1 if cells == 1 else 2):  # cell 0 first
            _terminate(proc.pid)
            state.remove(stage)
            raise UserError(f"the platform did not become ready within {int(READY_TIMEOUT_S)}s; log: {log}")
        time.sleep(0.2)


def _merge_pid(stage: str, record: state.WindowState) -> None:
    """Record the child's pid unless the child already rewrote the file as ready."""
    with contextlib.suppress(state.StateError):
        current = state.read(stage)
        if current is not None and current.status == "ready":
            return
    state.write(record)


def _last_error(log: os.PathLike[str] | str) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if "ERROR" in line or "Error" in line:
            text = line.split(" ERROR ", 1)[-1].strip()
            return f": {text[:200]}"
    return ""


@dataclass
class StopResult:
    window: state.WindowState | None
    cleaned: Cleaned | None
    forced: bool = False
    leftovers: tuple[str, ...] = ()


def stop(stage: str, progress: Callable[[str], None] | None = None) -> StopResult:
    live, cleaned = find(stage)
    if live is None:
        return StopResult(None, cleaned)
    return stop_window(live, progress, cleaned)


def stop_window(live: state.WindowState, progress: Callable[[str], None] | None = None,
                cleaned: Cleaned | None = None) -> StopResult:
    note = progress or (lambda _msg: None)
    forced = False
    pid = LocalPart.of(live).pid
    if pid:
        note(f"stopping pid {pid}")
        forced = _terminate(pid)
    for cell in LocalPart.of(live).cell_processes():  # the supervisor stops them; if it was killed, here
        if cell.pid and process_alive(cell):
            forced = _terminate(cell.pid) or forced
    state.remove(live.stage)
    leftovers = verify_gone(live)
    return StopResult(live, cleaned, forced, leftovers)


def _terminate(pid: int) -> bool:
    """SIGTERM, wait, then SIGKILL; True if it had to be killed."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
    except psutil.NoSuchProcess:
        return False
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
        return False
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
            proc.wait(timeout=5)
        return True


def verify_gone(window: state.WindowState) -> tuple[str, ...]:
    left: list[str] = []
    part = LocalPart.of(window)
    if process_alive(part):
        left.append(f"process {part.pid}")
    left += [f"cell process {cell.pid}" for cell in part.cell_processes() if process_alive(cell)]
    for port in part.ports:
        if port_listening(port):
            left.append(f"port {port}")
    if state.state_path(window.stage).exists():
        left.append(f"state file {state.state_path(window.stage)}")
    return tuple(left)


def ttl_remaining(window: state.WindowState) -> float:
    return max(0.0, (parse_iso(window.deadline) - datetime.now(UTC)).total_seconds())
