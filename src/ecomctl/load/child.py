"""Starting the Locust child process(es) and reading their stats stream.

Locust runs in a child (``python -m locust``): its gevent monkey-patching, done at
import, breaks boto3/urllib3 in a process that already imported them, and the parent
needs boto3 for the dashboard's queue depths and the observe summary. With
``workers > 0`` the child is a Locust master plus that many worker processes on this
machine; ``remote_workers`` more may join from elsewhere with the printed command.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ecomctl.api_auth import Signer
from ecomctl.load.schedule import Schedule, pool_size

GRACE_S = 5.0
INITIAL_LATENCY_S = 0.25  # before any answer is seen; the pacer grows the pool from what it observes


@dataclass(frozen=True)
class LoadPlan:
    schedule: Schedule
    host: str
    run_id: str
    workers: int = 0
    remote_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int = 5557
    html: Path | None = None
    mix: str = "shop"  # "good": good orders only
    min_users: int = 0  # a floor under the initial pool
    signer: Signer | None = None  # the API requires SigV4: the child signs with these credentials

    @property
    def processes(self) -> int:
        return max(1, self.workers + self.remote_workers)

    def initial_users(self) -> int:
        per_process = pool_size(self.schedule.peak_rps() / self.processes, INITIAL_LATENCY_S)
        return max(self.min_users, self.processes * per_process)

    def run_time_s(self) -> int:
        """Locust's own limit: a safety net past the pacer's end (the pacer quits the run itself)."""
        return math.ceil(self.schedule.duration_s + 3 * GRACE_S + 30)


def locustfile() -> Path:
    from ecomctl.assets import loadtests_dir

    return loadtests_dir() / "locustfile.py"


def common_args(plan: LoadPlan, stats: Path) -> list[str]:
    s = plan.schedule
    return ["-f", str(locustfile()), "--headless", "--host", plan.host, "--only-summary",
            "--ecomctl-rpm", str(s.rpm), "--ecomctl-duration", str(s.duration_s),
            "--ecomctl-profile", s.profile, "--ecomctl-grace", str(GRACE_S), "--ecomctl-stats", str(stats),
            "--ecomctl-run", plan.run_id, "--ecomctl-mix", plan.mix]


def master_args(plan: LoadPlan, stats: Path) -> list[str]:
    users = plan.initial_users()
    args = [*common_args(plan, stats), "-u", str(users), "-r", str(users), "--run-time", f"{plan.run_time_s()}s",
            "--stop-timeout", str(int(GRACE_S * 2))]
    if plan.workers + plan.remote_workers:
        args += ["--master", "--expect-workers", str(plan.processes), "--master-bind-host", plan.master_bind,
                 "--master-bind-port", str(plan.master_port)]
    if plan.html is not None:
        args += ["--html", str(plan.html)]
    return args


def worker_command(plan: LoadPlan, master_host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile()), "--worker", "--master-host", master_host,
            "--master-port", str(plan.master_port)]


@dataclass
class Children:
    master: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log: Path | None = None
    exits: dict[int, tuple[int, float]] = field(default_factory=dict)  # worker number -> (code, at)

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.master, *self.workers]

    def check_workers(self, started: float) -> None:
        """Remember a worker that ended before the master (killed, crashed)."""
        for n, proc in enumerate(self.workers):
            code = proc.poll()
            if code is not None and n not in self.exits and self.master.poll() is None:
                self.exits[n] = (code, round(time.monotonic() - started, 1))

    def stop(self) -> None:
        for proc in self.processes():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _env(plan: LoadPlan) -> dict[str, str]:
    # The child must not report to the operator's AWS: it only speaks HTTP to the API (signed
    # with the credentials the parent resolved, when the API requires IAM).
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(plan.signer.to_env() if plan.signer else {})}


def spawn(plan: LoadPlan, stats: Path, log: Path) -> Children:
    out: IO[bytes] = log.open("ab")
    master = subprocess.Popen([sys.executable, "-m", "locust", *master_args(plan, stats)], stdout=out,
                              stderr=subprocess.STDOUT, env=_env(plan), start_new_session=True)
    workers = [subprocess.Popen(worker_command(plan), stdout=out, stderr=subprocess.STDOUT, env=_env(plan),
                                start_new_session=True) for _ in range(plan.workers)]
    return Children(master, workers, log)


class StatsTail:
    """Reads the JSON lines the child appends, without blocking."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.last_tick: dict[str, Any] = {}
        self.final: dict[str, Any] | None = None

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for raw in complete.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("type") == "final":
                self.final = line
            elif line.get("type") == "tick":
                self.last_tick = line


def last_log_line(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
