"""The local target's platform process: the whole platform, for real, until its deadline.

``python -m ecomctl.local.runtime --stage dev --deadline <iso> --state-file <path>``
(started detached by ``ecomctl up --target local``) runs, in one process:

- a moto server on 127.0.0.1 (an ordinary AWS endpoint: the AWS CLI and boto3 work
  against it), configured for docker-free Lambda and real Step Functions execution;
- every resource of the topology, created through the AWS APIs (``provision``);
- the handlers, invoked in-process where Lambda would run them: API Gateway proxy
  events (``ApiGateway``), SQS event-source pollers (``SqsPoller``), and Step Functions'
  Lambda tasks (``lambda_bridge``); ``waitForTaskToken`` answered by the real handlers;
- what AWS emits by itself: Firehose delivery from the analytics stream to the lake,
  an X-Ray daemon, CloudWatch service metrics and the handlers' EMF metrics;
- a watchdog that stops everything at the deadline (wall clock, so a laptop that slept
  past it stops at once on waking) and on SIGTERM/SIGINT, then removes the state file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecomctl.local.part import LOCAL_REGION

REGION = LOCAL_REGION
DEFAULT_CONCURRENCY = 2  # pollers per queue unless reserved concurrency says fewer

log = logging.getLogger("ecomctl.local.runtime")


@dataclass
class Options:
    stage: str
    deadline: datetime
    state_file: str | None = None
    api_port: int = 0
    tracing: bool = True
    trace_all: bool = False  # every invocation instead of Lambda's default sampling
    metrics_period_s: float = 10.0
    firehose_interval_s: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    profile_out: str | None = None
    call_counts_out: str | None = None  # the AWS calls by operation, as JSON (bench_local)
    transport: str = "inprocess"  # or "http": handlers call the moto server over HTTP
    api_auth: str = "none"  # or "iam": the order API requires SigV4, as the deployed one does
    # Cells (ecomctl.local.cells): this cell's number, where it reports ready instead of
    # writing the state file, and the endpoint of the services the cells share.
    cell: int = 0
    cell_count: int = 1
    ready_file: str | None = None
    shared_endpoint: str | None = None


@dataclass
class Running:
    """What the state file and the operator need from the started parts."""

    endpoint: str
    moto_port: int
    api: Any  # ApiGateway
    xray: Any  # parts.XRay, or None without tracing
    watchdog: Any  # parts.DeadlineWatchdog


def enter_parts(opts: Options, stop: threading.Event, stack: contextlib.ExitStack) -> Running:
    """Every part of the platform, in start-up order, on ``stack`` (which exits them in reverse)."""
    from ecomctl.local import call_counts, parts
    from ecomctl.local.provision import provision
    from ecomshop.topology import build_topology

    topology = build_topology(opts.stage)
    if opts.call_counts_out:
        call_counts.install()  # before any client exists
    env = stack.enter_context(parts.Environment())
    moto = stack.enter_context(parts.moto_server())
    session = parts.local_session()
    resources = provision(topology, session, moto.url)
    log.info("provisioned %d functions, %d queues", len(topology.functions), len(topology.queues))
    client = parts.client_factory(session, moto.url if opts.transport == "http" else None, opts.shared_endpoint)
    xray = stack.enter_context(parts.xray(client)) if opts.tracing else None
    env.apply(parts.platform_environment(
        opts.transport, moto.port, moto.url, resources, xray.daemon.address if xray else None,
        opts.shared_endpoint))
    stack.enter_context(parts.inprocess_transport(opts.transport == "inprocess"))
    metrics = stack.enter_context(
        parts.metrics_emitter(topology, resources, client, opts.stage, opts.metrics_period_s))
    stack.enter_context(parts.emf_capture(metrics.on_emf))
    host = stack.enter_context(parts.function_host(
        topology, resources, [metrics.on_invocation], xray.recorder if xray else None, opts.trace_all,
        opts.cell, opts.cell_count))
    stack.enter_context(parts.firehose_delivery(topology, resources, client, opts.firehose_interval_s))
    stack.enter_context(parts.sqs_pollers(host, resources, parts.poller_sqs(opts.transport, client), opts.concurrency))
    api = stack.enter_context(
        parts.order_api(host, topology.api_function, opts.stage, opts.api_port, metrics.on_request,
                        iam=opts.api_auth == "iam"))
    # After the API (its URL is the partner's callback), before the sweeper; on stop, its
    # Delete runs while the handlers and moto are still up.
    stack.enter_context(parts.partner_registration(host, resources, env, api.url))
    if opts.shared_endpoint is None:  # the flags are the first cell's; it sweeps them for all
        stack.enter_context(parts.flag_sweeper(client, topology.ssm_prefix))
    stack.enter_context(parts.profiler(opts.profile_out))
    counts_out = opts.call_counts_out
    if counts_out and opts.ready_file:  # a cell of several: one file each
        counts_out = f"{counts_out}.cell{opts.cell}"
    stack.enter_context(call_counts.recorder(counts_out))
    # `ecomctl extend` moves the deadline in the state file; the watchdog re-reads it.
    watchdog = parts.DeadlineWatchdog(opts.deadline, stop,
                                      lambda current: _recorded_deadline(opts.state_file, current))
    stack.enter_context(parts.Threads([("deadline-watchdog", watchdog.run)]))
    return Running(moto.url, moto.port, api, xray, watchdog)


@dataclass
class Platform:
    options: Options
    stop: threading.Event = field(default_factory=threading.Event)
    running: Running | None = None
    _parts: contextlib.ExitStack | None = None

    def start(self) -> None:
        """Enter every part; if one fails, the ones before it are exited before this raises."""
        with contextlib.ExitStack() as stack:
            self.running = enter_parts(self.options, self.stop, stack)
            self._parts = stack.pop_all()

    def wait(self) -> str:
        """Block until the deadline or a stop request; returns why it stopped."""
        parent = os.getppid()
        while not self.stop.wait(1.0):  # a timeout, so signal handlers run promptly
            if self.options.ready_file and os.getppid() != parent:
                log.error("the cells' supervisor is gone: stopping this cell")
                break
            if self.running is not None:  # `ecomctl extend` moves the deadline in the state file
                watchdog = self.running.watchdog
                watchdog.deadline = _recorded_deadline(self.options.state_file, watchdog.deadline)
        watchdog = self.running.watchdog if self.running else None
        return "deadline reached" if watchdog is not None and watchdog.reached else "stop requested"

    def shutdown(self) -> None:
        """Exit the parts in reverse start-up order (a failing exit is logged; the rest still run)."""
        self.stop.set()
        parts, self._parts = self._parts, None
        if parts is None:
            return
        try:
            parts.close()
        except Exception:
            log.exception("shutdown: a part failed to stop")


def _write_ready_file(opts: Options, platform: Platform) -> None:
    """A cell reports to its supervisor, which writes the window's state for all cells."""
    from ecomctl.local import moto_patches
    from ecomctl.local.cells import CellRecord
    from ecomctl.local.part import process_started

    running = platform.running
    if running is None or opts.ready_file is None:
        raise RuntimeError("the platform is not running")
    report = getattr(moto_patches, "last_report", lambda: None)()
    CellRecord(
        index=opts.cell, pid=os.getpid(), pid_started=process_started(os.getpid()), api_url=running.api.url,
        aws_endpoint=running.endpoint, ports=[running.api.port, running.moto_port],
        xray_daemon=running.xray.daemon.address if running.xray else None,
        patches=report.to_json() if report is not None else None, tracing=opts.tracing, api_auth=opts.api_auth,
    ).write(Path(opts.ready_file))


def _write_state(opts: Options, platform: Platform) -> None:
    if opts.ready_file:
        _write_ready_file(opts, platform)
        return
    if not opts.state_file:
        return
    from ecomctl import state as state_mod
    from ecomctl.local import moto_patches
    from ecomctl.local.part import LocalPart, process_started

    path = state_mod.state_path(opts.stage)
    try:
        current = state_mod.read(opts.stage)
    except state_mod.StateError:
        current = None
    if current is None or str(path) != opts.state_file:
        raise RuntimeError(f"state file {opts.state_file} vanished during start")
    part = LocalPart.of(current)
    part.pid = os.getpid()
    part.pid_started = process_started(os.getpid())
    running = platform.running
    if running is None:
        raise RuntimeError("the platform is not running")
    part.ports = [running.api.port, running.moto_port]
    part.xray_daemon = running.xray.daemon.address if running.xray else None
    part.tracing = opts.tracing
    part.api_auth = opts.api_auth
    report = getattr(moto_patches, "last_report", lambda: None)()
    part.patches = report.to_json() if report is not None else None
    current.status = "ready"
    current.api_url = running.api.url
    current.aws_endpoint = running.endpoint
    current.region = REGION
    state_mod.write(part.into(current))


def _remove_state(opts: Options) -> None:
    if not opts.state_file or opts.ready_file:  # a cell's supervisor removes the window's state
        return
    from ecomctl import state as state_mod

    state_mod.remove(opts.stage, owner=os.getpid())


def _recorded_deadline(state_file: str | None, current: float) -> float:
    """The deadline in the window's state file (epoch seconds), else ``current``."""
    if not state_file:
        return current
    try:
        with open(state_file) as fh:
            text = json.load(fh)["deadline"]
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except (OSError, ValueError, KeyError, TypeError):
        return current


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="ecomctl-local-runtime", description=__doc__)
    p.add_argument("--stage", default="dev")
    p.add_argument("--deadline", required=True, help="ISO-8601 UTC time at which the platform stops itself")
    p.add_argument("--state-file")
    p.add_argument("--api-port", type=int, default=0)
    p.add_argument("--no-tracing", action="store_true")
    p.add_argument("--trace-all", action="store_true", default=env_flag("ECOMCTL_LOCAL_TRACE_ALL"),
                   help="trace every invocation, not Lambda's default 1/s + 5%% per function")
    # Tuning knobs, also settable through the environment (tests, benchmarks).
    env = os.environ.get
    p.add_argument("--metrics-period", type=float, default=float(env("ECOMCTL_LOCAL_METRICS_PERIOD", "10")))
    interval = env("ECOMCTL_LOCAL_FIREHOSE_INTERVAL")
    p.add_argument("--firehose-interval", type=float, default=float(interval) if interval else None)
    p.add_argument("--concurrency", type=int, default=int(env("ECOMCTL_LOCAL_CONCURRENCY", DEFAULT_CONCURRENCY)))
    p.add_argument("--profile-out", default=env("ECOMCTL_LOCAL_PROFILE_OUT"))
    p.add_argument("--call-counts-out", default=env("ECOMCTL_LOCAL_CALL_COUNTS_OUT"))
    p.add_argument("--transport", choices=("inprocess", "http"), default=env("ECOMCTL_LOCAL_TRANSPORT", "inprocess"))
    p.add_argument("--cell", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--cell-count", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--ready-file", help=argparse.SUPPRESS)
    p.add_argument("--shared-endpoint", help=argparse.SUPPRESS)
    p.add_argument("--api-auth", choices=("none", "iam"), default=env("ECOMCTL_LOCAL_API_AUTH", "none"),
                   help="iam: the order API takes only SigV4-signed requests, as the deployed API (AWS_IAM)")
    a = p.parse_args(argv)
    return Options(
        stage=a.stage, deadline=datetime.fromisoformat(a.deadline.replace("Z", "+00:00")),
        state_file=a.state_file, api_port=a.api_port, tracing=not a.no_tracing, trace_all=a.trace_all,
        metrics_period_s=a.metrics_period, firehose_interval_s=a.firehose_interval,
        concurrency=a.concurrency, profile_out=a.profile_out, call_counts_out=a.call_counts_out,
        transport=a.transport, api_auth=a.api_auth,
        cell=a.cell, cell_count=a.cell_count, ready_file=a.ready_file, shared_endpoint=a.shared_endpoint,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    cell = f"cell {opts.cell} " if opts.ready_file else ""  # the cells of a window share its log
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {cell}%(levelname)s %(name)s %(message)s")
    for noisy in ("werkzeug", "botocore", "urllib3", "aws_xray_sdk"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    platform = Platform(opts)

    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        platform.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        if opts.deadline <= datetime.now(UTC):
            log.error("deadline %s is already past", opts.deadline.isoformat())
            return 2
        try:
            platform.start()
        except OSError as exc:
            log.error("platform failed to start: %s", exc)
            return 1
        if platform.stop.is_set():
            return 0
        _write_state(opts, platform)
        log.info("ready; deadline %s", opts.deadline.isoformat())
        why = platform.wait()
        log.info("%s: shutting down", why)
        return 0
    except Exception:
        log.exception("platform failed")
        return 1
    finally:
        platform.shutdown()
        _remove_state(opts)
        log.info("stopped")


if __name__ == "__main__":
    code = main()
    # Everything was stopped, flushed and removed in order above; what remains are
    # moto's request and interpreter threads parked in waits. Do not wait for them.
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
