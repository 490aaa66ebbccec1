"""Drive the CLI as a user would: a subprocess per command, a private ECOMCTL_HOME."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "ECOMCTL_"))}
    # One cell unless a test asks for more (the default is one per core; see tests/conftest.py).
    env.update({"ECOMCTL_HOME": str(home), "COLUMNS": "250", "NO_COLOR": "1", "ECOMCTL_LOCAL_CELLS": "1", **extra})
    return env


def cli(home: Path, *args: str, timeout: float = 180, **extra: str) -> Run:
    proc = subprocess.run(
        # The console script's entry point (`python -m ecomctl.cli` would register the commands
        # on a second copy of the module, not on the app that runs).
        [sys.executable, "-c", "from ecomctl.cli import main; main()", *args],
        capture_output=True, text=True, timeout=timeout, env=cli_env(home, **extra),
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def nothing_left(state_file: Path, pid: int, ports: list[int], timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = []
        if alive(pid):
            left.append(f"process {pid}")
        left += [f"port {p}" for p in ports if listening(p)]
        if state_file.exists():
            left.append(f"state file {state_file}")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.3)


def one_line_error(run: Run) -> None:
    assert run.code != 0, run
    assert "Traceback" not in run.err + run.out, run.err
    lines = [line for line in run.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), run.err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
