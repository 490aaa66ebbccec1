"""Cells: N whole platforms side by side, one process (and one moto) each, behind one API.

One process holds one interpreter lock, so one platform uses one core however many the
machine has. A cell is a whole platform process (``ecomctl.local.runtime``): its own
queues, tables, event bus, state machine and handlers. The cells share what a region
has once, the control plane an operator reads and writes: SSM (the chaos flags), X-Ray,
CloudWatch (metrics and logs), S3 (the lake) and EventBridge Scheduler (the flags'
backstops). Those live on cell 0's moto; the other cells' handlers and service loops
reach them there over HTTP, through the ordinary per-service endpoint variables
(``AWS_ENDPOINT_URL_SSM``, ...). So a flag set once is seen by every cell, and one
trace and metric store covers them all.

``python -m ecomctl.local.cells --cells N --stage dev --deadline <iso> --state-file <path>``
(started detached by ``ecomctl up --cells N``) is the supervisor: it starts cell 0, then
the others pointed at cell 0's endpoint, then the router (``ecomctl.local.router``) on
the window's API port, and writes the state file. It stops every cell at the deadline,
on SIGTERM, or as soon as one cell dies (a window with a cell missing would lose the
orders routed to it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ecomctl.local.part import LOCAL_REGION

# service name in boto3 -> the suffix of botocore's per-service endpoint variable
SHARED_SERVICES = {"ssm": "SSM", "xray": "XRAY", "cloudwatch": "CLOUDWATCH", "logs": "CLOUDWATCH_LOGS",
                   "s3": "S3", "scheduler": "SCHEDULER"}
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0

log = logging.getLogger("ecomctl.local.cells")


def shared_environment(endpoint: str | None) -> dict[str, str | None]:
    """The variables that send a cell's calls to the shared services to ``endpoint`` (None: unset)."""
    return {f"AWS_ENDPOINT_URL_{suffix}": endpoint for suffix in SHARED_SERVICES.values()}


def endpoint_for(service: str, own: str | None, shared: str | None) -> str | None:
    """Where a platform-internal client of ``service`` goes: the shared endpoint or the cell's own."""
    return shared if shared and service in SHARED_SERVICES else own


@dataclass
class CellRecord:
    """What a started cell reports (its ``--ready-file``) and the window's state keeps per cell."""

    index: int
    pid: int
    pid_started: float | None
    api_url: str
    aws_endpoint: str
    ports: list[int] = field(default_factory=list)
    xray_daemon: str | None = None
    patches: dict[str, Any] | None = None
    tracing: bool = True
    api_auth: str = "none"

    @staticmethod
    def read(path: Path) -> CellRecord | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        known = CellRecord.__dataclass_fields__
        try:
            return CellRecord(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.replace(tmp, path)


@dataclass
class Cell:
    index: int
    proc: subprocess.Popen[bytes]
    ready_file: Path
    record: CellRecord | None = None


class CellFailed(RuntimeError):
    pass


def _start_cell(index: int, args: argparse.Namespace, runtime_args: list[str], workdir: Path,
                shared: str | None) -> Cell:
    ready = workdir / f"cell-{index}.json"
    cmd = [sys.executable, "-m", "ecomctl.local.runtime", "--stage", args.stage, "--deadline", args.deadline,
           "--state-file", args.state_file, "--ready-file", str(ready), "--cell", str(index),
           "--cell-count", str(args.cells), "--api-port", "0",
           *runtime_args]
    if shared:
        cmd += ["--shared-endpoint", shared]
    # Each cell's log lines go to the window's log (the supervisor's stdout), prefixed by
    # the runtime's own logger names; a cell is told apart by its pid in status.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sys.stdout, stderr=sys.stderr,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log.info("cell %d: pid %d", index, proc.pid)
    return Cell(index, proc, ready)


def _await_ready(cells: list[Cell], stop: threading.Event) -> None:
    waited = time.monotonic()
    while any(c.record is None for c in cells):
        for c in cells:
            code = c.proc.poll()
            if code is not None:
                raise CellFailed(f"cell {c.index} exited ({code}) while starting")
            if c.record is None:
                c.record = CellRecord.read(c.ready_file)
        if stop.is_set():
            raise CellFailed("stop requested while the cells were starting")
        if time.monotonic() - waited > READY_TIMEOUT_S:
            raise CellFailed(f"the cells were not ready within {int(READY_TIMEOUT_S)}s")
        time.sleep(0.2)


def _stop_cells(cells: list[Cell]) -> None:
    """The other cells first, then the first: their last metrics, traces and lake objects
    are flushed to the shared services, which live on the first cell."""
    _stop(cells[1:])
    _stop(cells[:1])


def _stop(cells: list[Cell]) -> None:
    for c in cells:
        if c.proc.poll() is None:
            with contextlib.suppress(OSError):
                c.proc.send_signal(signal.SIGTERM)
    until = time.monotonic() + STOP_TIMEOUT_S / 2
    for c in cells:
        try:
            c.proc.wait(timeout=max(0.1, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("cell %d did not stop in time: killed", c.index)
            c.proc.kill()
            c.proc.wait(timeout=5)


def _write_state(stage: str, state_file: str, router: Any, cells: list[Cell]) -> None:
    from ecomctl import state as state_mod
    from ecomctl.local.part import LocalPart, process_started

    records = [c.record for c in cells if c.record is not None]
    current = state_mod.read(stage)
    if current is None or str(state_mod.state_path(stage)) != state_file:
        raise RuntimeError(f"state file {state_file} vanished during start")
    part = LocalPart.of(current)
    part.pid = os.getpid()
    part.pid_started = process_started(os.getpid())
    part.ports = [router.port] + [p for r in records for p in r.ports]
    part.xray_daemon = records[0].xray_daemon
    part.patches = records[0].patches
    part.tracing = records[0].tracing
    part.api_auth = records[0].api_auth
    part.cells = [asdict(r) for r in records]
    current.status = "ready"
    current.api_url = router.url
    current.aws_endpoint = records[0].aws_endpoint
    current.region = LOCAL_REGION
    state_mod.write(part.into(current))


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(prog="ecomctl-local-cells", description=__doc__)
    p.add_argument("--cells", type=int, required=True)
    p.add_argument("--stage", default="dev")
    p.add_argument("--deadline", required=True)
    p.add_argument("--state-file", required=True)
    p.add_argument("--api-port", type=int, default=0)
    return p.parse_known_args(argv)  # the rest is passed to every cell's runtime


def main(argv: list[str] | None = None) -> int:
    from ecomctl import state as state_mod
    from ecomctl.local.router import Router
    from ecomctl.local.runtime import _recorded_deadline  # the cells read the same file the same way

    args, runtime_args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    deadline = datetime.fromisoformat(args.deadline.replace("Z", "+00:00")).timestamp()
    cells: list[Cell] = []
    router: Router | None = None
    with tempfile.TemporaryDirectory(prefix="ecomctl-cells-") as tmp:
        workdir = Path(tmp)
        try:
            cells.append(_start_cell(0, args, runtime_args, workdir, None))
            _await_ready(cells, stop)
            shared = cells[0].record.aws_endpoint if cells[0].record else None
            cells += [_start_cell(i, args, runtime_args, workdir, shared) for i in range(1, args.cells)]
            _await_ready(cells, stop)
            router = Router([c.record.api_url for c in cells if c.record], args.api_port)
            router.start()
            _write_state(args.stage, args.state_file, router, cells)
            log.info("ready: %d cells behind %s", len(cells), router.url)
            while not stop.wait(1.0):
                deadline = _recorded_deadline(args.state_file, deadline)
                if time.time() >= deadline:
                    log.info("deadline reached: shutting down")
                    break
                dead = [c for c in cells if c.proc.poll() is not None]
                if dead:
                    log.error("cell %d exited (%s): stopping the window", dead[0].index, dead[0].proc.returncode)
                    break
            return 0
        except CellFailed as exc:
            log.error("cells failed to start: %s", exc)
            return 1
        except Exception:
            log.exception("cells failed")
            return 1
        finally:
            if router is not None:
                router.stop()
            _stop_cells(cells)
            with contextlib.suppress(state_mod.StateError, OSError):
                state_mod.remove(args.stage, owner=os.getpid())
            log.info("stopped")


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    os._exit(code)
