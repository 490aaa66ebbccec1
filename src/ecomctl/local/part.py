"""The local target's part of a window's state: the platform process and its ports.

Also the one place that says which credentials the local endpoint takes: moto accepts
any access key and checks no signature, so these are not secrets, only the values every
client of a local window (the platform process, the CLI, the aws CLI) agrees on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from ecomctl.state import WindowState

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class LocalPart:
    pid: int | None = None
    pid_started: float | None = None  # psutil create_time of pid (pids are reused)
    ports: list[int] = field(default_factory=list)
    log: str = ""
    tracing: bool = True
    xray_daemon: str | None = None
    patches: dict[str, Any] | None = None  # moto_patches' report: applied, skipped, disabled
    api_auth: str = "none"  # "iam": the order API takes only SigV4-signed requests
    # With cells (ecomctl.local.cells): pid is the supervisor's, and each cell's own record
    # (index, pid, pid_started, api_url, aws_endpoint, ports, xray_daemon) is listed here.
    cells: list[dict[str, Any]] = field(default_factory=list)

    def cell_processes(self) -> list[LocalPart]:
        """Each cell's process as a part of its own (for liveness checks); none without cells."""
        found = []
        for cell in self.cells if isinstance(self.cells, list) else []:
            if isinstance(cell, dict):
                found.append(LocalPart(pid=cell.get("pid"), pid_started=cell.get("pid_started")))
        return found

    def cell_endpoints(self) -> list[str]:
        """Each cell's AWS endpoint, the first cell's first; empty for a window without cells."""
        return [str(c.get("aws_endpoint")) for c in self.cells if isinstance(c, dict) and c.get("aws_endpoint")]

    @staticmethod
    def of(window: WindowState) -> LocalPart:
        known = LocalPart.__dataclass_fields__
        try:
            return LocalPart(**{k: v for k, v in window.part.items() if k in known})
        except TypeError as exc:  # pragma: no cover - from_json checked the part is a dict
            raise ValueError(f"local part: {exc}") from None

    def into(self, window: WindowState) -> WindowState:
        window.part = asdict(self)
        return window


def process_alive(part: LocalPart) -> bool:
    """True if the window's process still runs (same pid *and* same start time)."""
    if not isinstance(part.pid, int) or part.pid <= 0:
        return False
    try:
        proc = psutil.Process(part.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        started = proc.create_time()
        if part.pid_started is None or abs(started - part.pid_started) < 1.0:
            return True
        # psutil derives a start time from the boot time, which moves when the wall clock is
        # stepped (seen in CI on a VM: a live window was taken for dead and orphaned). A pid
        # reused by another program would not be running the local target's own modules.
        return any(arg.startswith("ecomctl.local.") for arg in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
