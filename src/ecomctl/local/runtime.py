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
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecomctl.local.part import LOCAL_CREDENTIALS, LOCAL_REGION

REGION = LOCAL_REGION
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
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
    transport: str = "inprocess"  # or "http": handlers call the moto server over HTTP


@dataclass
class Platform:
    options: Options
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    moto: Any = None
    api: Any = None
    endpoint: str = ""
    xray: Any = None
    metrics: Any = None
    firehose: Any = None
    pollers: list[Any] = field(default_factory=list)
    sampler: Any = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        from ecomctl.local import moto_patches

        opts = self.options
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_SERVICE_NAME": "ecomshop",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(var, None)
        from ecomctl.local.lambda_bridge import FunctionHost, install

        moto_patches.apply()  # before the server builds its apps
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        _host, port = self.moto.get_host_and_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        # Step Functions' interpreter calls services at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        _post_json(f"{self.endpoint}/moto-api/config", MOTO_CONFIG)
        log.info("moto server on %s", self.endpoint)

        import boto3

        from ecomctl.local.provision import provision
        from ecomshop.topology import build_topology

        topology = build_topology(opts.stage)
        session = boto3.Session(region_name=REGION)
        self.session = session
        resources = provision(topology, session, self.endpoint)
        self.resources = resources
        os.environ.update(resources.process_environment())
        if opts.transport == "inprocess":
            # The handlers' (and our own) boto3 calls skip HTTP: moto's botocore stubber
            # answers them from the same backends the server serves, so both views agree.
            # The endpoint stays the way in for everything outside this process.
            from moto import mock_aws

            self._inprocess = mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
            self._inprocess.start(reset=False)
            moto_patches.sign_in_process_requests_cheaply()
            os.environ.pop("AWS_ENDPOINT_URL", None)
        log.info("provisioned %d functions, %d queues", len(topology.functions), len(topology.queues))

        from botocore.config import Config

        from ecomctl.local import telemetry, tracing

        pooled = Config(max_pool_connections=64, retries={"max_attempts": 3, "mode": "standard"})

        own_endpoint = self.endpoint if opts.transport == "http" else None

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=own_endpoint, config=pooled)  # type: ignore[call-overload]

        # X-Ray: the daemon first, then the recorder, then Powertools may import.
        if opts.tracing:
            self.xray = telemetry.XRayDaemon(client("xray"))
            recorder = tracing.enable(self.xray.address, "ecomshop")
            self._thread("xray-recv", self.xray.receive_loop)
            self._thread("xray-flush", self.xray.flush_loop)
        else:
            tracing.disable()

        from ecomshop.config import reset_clients

        reset_clients()
        arns = {f.logical: resources.resolve(f"function:{f.logical}:arn") for f in topology.functions}
        fhost = FunctionHost(topology, arns)
        if opts.tracing:
            fhost.wrapper = tracing.segment_wrapper(recorder, dict(arns), sample_all=opts.trace_all)
        install(fhost)
        self.host = fhost

        queue_urls: dict[str, str] = {}
        for q in topology.queues:
            for logical in (q.logical, topology.dlq(q.logical)):
                queue_urls[topology.name(logical)] = resources.queue_url(logical)
        self.metrics = telemetry.MetricsEmitter(
            client("cloudwatch"), client("sqs"), queue_urls,
            {f.logical: topology.name(f.logical) for f in topology.functions},
            api_name=topology.name("api"), stage=opts.stage,
            state_machine_arn=resources.resolve("statemachine:saga:arn"),
            period_s=opts.metrics_period_s, queue_ages=_queue_age, executions=_execution_counts,
        )
        fhost.hooks.append(self.metrics.on_invocation)
        sys.stdout = telemetry.EmfCapture(sys.__stdout__ or sys.stderr, self.metrics.on_emf)

        # Import every handler now: an import error shows in the log at start, not at first use.
        for fn in topology.functions:
            try:
                fhost.handler(fn)
            except Exception:
                log.exception("handler %s (%s) failed to import; its invocations will fail", fn.logical, fn.handler)

        from ecomctl.local.api_gateway import ApiGateway

        self.api = ApiGateway(fhost, topology.api_function, opts.stage, opts.api_port)
        self.api.hooks.append(self.metrics.on_request)

        from ecomctl.local.pollers import SqsPoller

        sqs = client("sqs")
        for q in topology.queues:
            consumer = topology.consumer_of(q.logical)
            n = opts.concurrency
            if consumer is not None and consumer.reserved_concurrency is not None:
                n = min(n, consumer.reserved_concurrency)
            for i in range(max(1, n)):
                poller = SqsPoller(fhost, resources, q.logical, sqs, REGION)
                self.pollers.append(poller)
                self._thread(f"poller-{q.logical}-{i}", poller.run)

        from ecomctl.local.firehose import FirehoseDelivery

        self.firehose = FirehoseDelivery(
            topology, client("kinesis"), client("s3"), resources.resolve(f"stream:{topology.stream.logical}"),
            resources.resolve(f"bucket:{topology.lake.logical}"), buffer_interval_s=opts.firehose_interval_s,
        )
        self._thread("firehose", self.firehose.run)
        self._thread("metrics", self.metrics.run)
        self.api.start()
        if opts.profile_out:
            from ecomctl.local.profiler import Sampler

            self.sampler = Sampler()
            self.sampler.start()
        log.info("order API on %s", self.api.url)

    def _thread(self, name: str, target: Any) -> None:
        t = threading.Thread(target=target, args=(self.stop,), name=name, daemon=True)
        t.start()
        self.threads.append(t)

    # ------------------------------------------------------------------ run / stop
    def wait(self) -> str:
        """Block until the deadline or a stop request; returns why it stopped."""
        deadline = self.options.deadline.timestamp()
        while not self.stop.is_set():
            left = deadline - time.time()
            if left <= 0:
                return "deadline reached"
            self.stop.wait(min(1.0, left))
        return "stop requested"

    def shutdown(self) -> None:
        self.stop.set()
        if self.api is not None:
            with contextlib.suppress(Exception):
                self.api.stop()
        for t in self.threads:
            t.join(timeout=5)
        if self.sampler is not None and self.options.profile_out:
            self.sampler.stop()
            with open(self.options.profile_out, "w") as fh:
                fh.write(self.sampler.report())
        if self.xray is not None:
            self.xray.close()
        if self.moto is not None:
            with contextlib.suppress(Exception):
                self.moto.stop()


def _post_json(url: str, payload: Any) -> None:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _queue_age(queue_name: str) -> float | None:
    """ApproximateAgeOfOldestMessage: not an SQS attribute, so read moto's queue directly."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    try:
        queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[queue_name]
        stamps = [float(getattr(m, "sent_timestamp", 0) or 0) for m in list(queue._messages)]
        stamps = [s for s in stamps if s]
    except (KeyError, AttributeError):
        return None
    if not stamps:
        return 0.0
    return max(0.0, time.time() - min(stamps) / 1000)


def _execution_counts() -> dict[str, int]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    counts: dict[str, int] = {}
    backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION]
    for sm in list(backend.state_machines):
        for ex in list(sm.executions):
            status = str(getattr(ex.status, "value", ex.status))
            counts[status] = counts.get(status, 0) + 1
    return counts


def _write_state(opts: Options, platform: Platform) -> None:
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
    part.ports = [platform.api.port, int(platform.endpoint.rsplit(":", 1)[1])]
    part.xray_daemon = platform.xray.address if platform.xray else None
    part.tracing = opts.tracing
    report = getattr(moto_patches, "last_report", lambda: None)()
    part.patches = report.to_json() if report is not None else None
    current.status = "ready"
    current.api_url = platform.api.url
    current.aws_endpoint = platform.endpoint
    current.region = REGION
    state_mod.write(part.into(current))


def _remove_state(opts: Options) -> None:
    if not opts.state_file:
        return
    from ecomctl import state as state_mod

    state_mod.remove(opts.stage, owner=os.getpid())


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
    p.add_argument("--transport", choices=("inprocess", "http"), default=env("ECOMCTL_LOCAL_TRANSPORT", "inprocess"))
    a = p.parse_args(argv)
    return Options(
        stage=a.stage, deadline=datetime.fromisoformat(a.deadline.replace("Z", "+00:00")),
        state_file=a.state_file, api_port=a.api_port, tracing=not a.no_tracing, trace_all=a.trace_all,
        metrics_period_s=a.metrics_period, firehose_interval_s=a.firehose_interval,
        concurrency=a.concurrency, profile_out=a.profile_out, transport=a.transport,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
