"""The parts the local platform process is composed of, each a context manager.

``runtime.Platform`` enters them in order on one ``contextlib.ExitStack``: a part that
fails to start unwinds the ones entered before it, and shutdown runs the exits in
reverse (the API stops before the pollers, the pollers before Firehose's last flush,
the handlers before the last metrics and segments, everything before moto).

The process environment is set in one place: :func:`platform_environment` computes it
and :class:`Environment` applies it (and restores what was there before). Its values
exist only once moto, the topology and the X-Ray daemon do; the parts started before
then use an explicit :func:`local_session`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from ecomctl.local import admission, cells, moto_patches, telemetry, tracing
from ecomctl.local.api_gateway import ApiGateway
from ecomctl.local.firehose import FirehoseDelivery
from ecomctl.local.lambda_bridge import FunctionHost, InvocationHook, install, uninstall
from ecomctl.local.part import LOCAL_CREDENTIALS, LOCAL_REGION
from ecomctl.local.pollers import SqsPoller
from ecomctl.local.provision import Resources
from ecomshop.topology import Topology

REGION = LOCAL_REGION
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
SESSION_TOKEN = "local"
JOIN_TIMEOUT_S = 5.0
# The operator's profile names an AWS account, not this endpoint.
OPERATOR_VARIABLES: dict[str, str | None] = {"AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None}

ClientFactory = Callable[[str], Any]
Loop = Callable[[threading.Event], None]

log = logging.getLogger("ecomctl.local.parts")


# --------------------------------------------------------------------------- building blocks


class Threads:
    """Named loops sharing one stop event: started on enter; on exit stopped, then joined."""

    def __init__(self, loops: Sequence[tuple[str, Loop]]) -> None:
        self.loops = list(loops)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> Threads:
        try:
            for name, loop in self.loops:
                thread = threading.Thread(target=loop, args=(self.stop,), name=name, daemon=True)
                thread.start()
                self.threads.append(thread)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("thread %s did not stop within %.0fs", thread.name, JOIN_TIMEOUT_S)


class Environment:
    """The one place the platform process writes ``os.environ``; on exit every variable it set is restored.

    On enter it clears the operator's profile: moto's server builds a boto3 session per
    backend, which fails on a profile it cannot find. The rest (:func:`platform_environment`)
    is applied once moto, the topology and the X-Ray daemon exist.
    """

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> Environment:
        self.apply(OPERATOR_VARIABLES)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        _set_environ(self._saved)
        self._saved = {}

    def apply(self, values: Mapping[str, str | None]) -> None:
        """``values`` in ``os.environ`` (None: unset) until exit."""
        for name in values:
            self._saved.setdefault(name, os.environ.get(name))
        _set_environ(values)


def _set_environ(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def platform_environment(transport: str, moto_port: int, endpoint: str, resources: Resources,
                         xray_address: str | None, shared_endpoint: str | None = None) -> dict[str, str | None]:
    """The whole process environment the handlers, Powertools and moto's interpreter read."""
    env: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        **OPERATOR_VARIABLES,
        "POWERTOOLS_SERVICE_NAME": "ecomshop",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        # Step Functions' interpreter calls services at localhost:$MOTO_PORT.
        "MOTO_PORT": str(moto_port),
        # In process, the handlers' calls go to moto's botocore stubber (no endpoint); over
        # HTTP, to the server. The endpoint stays the way in for everything outside.
        "AWS_ENDPOINT_URL": endpoint if transport == "http" else None,
    }
    env.update(resources.process_environment())
    env.update(tracing.environment(xray_address))
    # A cell after the first: the handlers' SSM (flags), CloudWatch, X-Ray and S3 are the first cell's.
    env.update(cells.shared_environment(shared_endpoint))
    return env


def local_session() -> boto3.Session:
    """A session for the local endpoint: its credentials and region, not the operator's profile or endpoint."""
    core = botocore.session.Session()
    core.set_config_variable("ignore_configured_endpoint_urls", True)
    core.set_credentials(LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"],
                         SESSION_TOKEN)
    return boto3.Session(botocore_session=core, region_name=REGION)


def client_factory(session: boto3.Session, endpoint: str | None, shared_endpoint: str | None = None) -> ClientFactory:
    """Clients for the platform's own loops; with ``shared_endpoint`` (a cell after the first),
    the services the cells share go there."""
    pooled = Config(max_pool_connections=64, retries={"max_attempts": 3, "mode": "standard"})

    def client(service: str) -> Any:
        where = cells.endpoint_for(service, endpoint, shared_endpoint)
        return session.client(service, endpoint_url=where, config=pooled)  # type: ignore[call-overload]

    return client


def _post_json(url: str, payload: Any) -> None:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


# --------------------------------------------------------------------------- moto


@dataclass(frozen=True)
class MotoEndpoint:
    url: str
    port: int


@contextlib.contextmanager
def moto_server() -> Iterator[MotoEndpoint]:
    """moto's threaded server on 127.0.0.1 (a free port), configured like the local target needs."""
    from moto.server import ThreadedMotoServer

    moto_patches.apply()  # before the server builds its apps
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _host, port = server.get_host_and_port()
        endpoint = MotoEndpoint(f"http://127.0.0.1:{port}", port)
        _post_json(f"{endpoint.url}/moto-api/config", MOTO_CONFIG)
        log.info("moto server on %s", endpoint.url)
        yield endpoint
    finally:
        server.stop()


@contextlib.contextmanager
def inprocess_transport(enabled: bool) -> Iterator[None]:
    """In-process boto3 calls answered by moto's stubber from the backends the server serves."""
    if not enabled:
        yield
        return
    from moto import mock_aws

    mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
    mock.start(reset=False)
    try:
        moto_patches.sign_in_process_requests_cheaply()
        yield
    finally:
        mock.stop(remove_data=False)


def queue_age(queue_name: str) -> float | None:
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


def execution_counts() -> dict[str, int]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    counts: dict[str, int] = {}
    backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION]
    for sm in list(backend.state_machines):
        for ex in list(sm.executions):
            status = str(getattr(ex.status, "value", ex.status))
            counts[status] = counts.get(status, 0) + 1
    return counts


# --------------------------------------------------------------------------- telemetry


@dataclass(frozen=True)
class XRay:
    daemon: telemetry.XRayDaemon
    recorder: Any


@contextlib.contextmanager
def xray(client: ClientFactory) -> Iterator[XRay]:
    """The X-Ray daemon stand-in (receive and flush loops) and the SDK's recorder pointed at it."""
    daemon = telemetry.XRayDaemon(client("xray"))
    try:
        with Threads([("xray-recv", daemon.receive_loop), ("xray-flush", daemon.flush_loop)]):
            yield XRay(daemon, tracing.enable(daemon.address, "ecomshop"))
    finally:
        daemon.close()


@contextlib.contextmanager
def metrics_emitter(topology: Topology, resources: Resources, client: ClientFactory, stage: str,
                    period_s: float) -> Iterator[telemetry.MetricsEmitter]:
    """AWS/* service metrics and the handlers' EMF, every period and once more on exit."""
    queue_urls: dict[str, str] = {}
    for q in topology.queues:
        for logical in (q.logical, topology.dlq(q.logical)):
            queue_urls[topology.name(logical)] = resources.queue_url(logical)
    emitter = telemetry.MetricsEmitter(
        client("cloudwatch"), client("sqs"), queue_urls,
        {f.logical: topology.name(f.logical) for f in topology.functions},
        api_name=topology.name("api"), stage=stage,
        state_machine_arn=resources.resolve("statemachine:saga:arn"),
        period_s=period_s, queue_ages=queue_age, executions=execution_counts,
    )
    with Threads([("metrics", emitter.run)]):
        yield emitter


@contextlib.contextmanager
def emf_capture(on_emf: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """``sys.stdout`` replaced by the EMF capture inside the block, the previous one after."""
    previous = sys.stdout
    sys.stdout = telemetry.EmfCapture(sys.__stdout__ or sys.stderr, on_emf)
    try:
        yield
    finally:
        sys.stdout = previous


# --------------------------------------------------------------------------- the handlers


def function_arns(topology: Topology, resources: Resources) -> dict[str, str]:
    return {f.logical: resources.resolve(f"function:{f.logical}:arn") for f in topology.functions}


@contextlib.contextmanager
def function_host(topology: Topology, resources: Resources, hooks: Sequence[InvocationHook],
                  recorder: Any = None, trace_all: bool = False, cell: int = 0,
                  cells: int = 1) -> Iterator[FunctionHost]:
    """The handlers behind moto's Lambda API, every one imported now (an import error shows at start)."""
    from ecomshop.config import reset_clients

    arns = function_arns(topology, resources)
    host = FunctionHost(topology, arns)
    if recorder is not None:
        host.wrapper = tracing.segment_wrapper(recorder, dict(arns), sample_all=trace_all, cell=cell, cells=cells)
    host.hooks.extend(hooks)
    reset_clients()  # the handlers' cached clients were built for another environment
    install(host)
    try:
        for fn in topology.functions:
            try:
                host.handler(fn)
            except Exception:
                log.exception("handler %s (%s) failed to import; its invocations will fail", fn.logical, fn.handler)
        yield host
    finally:
        uninstall()
        reset_clients()


def firehose_delivery(topology: Topology, resources: Resources, client: ClientFactory,
                      interval_s: float | None) -> contextlib.AbstractContextManager[Threads]:
    """Kinesis to the lake as Firehose delivers; the buffer is flushed when the loop stops."""
    delivery = FirehoseDelivery(
        topology, client("kinesis"), client("s3"), resources.resolve(f"stream:{topology.stream.logical}"),
        resources.resolve(f"bucket:{topology.lake.logical}"), buffer_interval_s=interval_s,
    )
    return Threads([("firehose", delivery.run)])


def poller_sqs(transport: str, client: ClientFactory) -> Any:
    """How the pollers reach SQS: moto's backend in this process (as Lambda's own service
    does, not through the public API), unless moto is elsewhere or ``ECOMCTL_LOCAL_ESM=api``."""
    if transport == "inprocess" and os.environ.get("ECOMCTL_LOCAL_ESM", "backend") != "api":
        from ecomctl.local.sqs_direct import BackendSqs

        return BackendSqs(REGION)
    return client("sqs")


def saga_admission(resources: Resources, sqs: Any) -> admission.Admission:
    """The saga's entrance waits while its task queues are behind (``ECOMCTL_LOCAL_ADMISSION``: the limit, 0 off)."""
    limit = int(os.environ.get("ECOMCTL_LOCAL_ADMISSION", admission.DEFAULT_LIMIT))
    urls = [resources.queue_url(q) for q in admission.task_queues(resources)]
    return admission.Admission(urls, admission.waiting_messages(sqs), limit)


def sqs_pollers(host: FunctionHost, resources: Resources, sqs: Any, concurrency: int) -> Threads:
    """Lambda's SQS event-source pollers: ``concurrency`` per queue, capped by reserved concurrency."""
    topology = resources.topology
    gate = saga_admission(resources, sqs)
    entrance = set(admission.entrance_queues(resources))
    fanout = set(admission.fanout_queues(resources))
    yield_max_s = float(os.environ.get("ECOMCTL_LOCAL_FANOUT_YIELD_S", admission.FANOUT_YIELD_MAX_S))
    loops: list[tuple[str, Loop]] = []
    for q in topology.queues:
        consumer = topology.consumer_of(q.logical)
        n = concurrency
        if consumer is not None and consumer.reserved_concurrency is not None:
            n = min(n, consumer.reserved_concurrency)
        for i in range(max(1, n)):
            poller = SqsPoller(host, resources, q.logical, sqs, REGION,
                               gate if q.logical in entrance else None,
                               yields_to=gate if q.logical in fanout else None, yield_max_s=yield_max_s)
            loops.append((f"poller-{q.logical}-{i}", poller.run))
    return Threads(loops)


def _local_iam(method: str, url: str, headers: dict[str, str], body: bytes) -> str | None:
    from ecomctl.api_auth import check

    key = LOCAL_CREDENTIALS["aws_access_key_id"]
    return check(method, url, headers, body, {key: LOCAL_CREDENTIALS["aws_secret_access_key"]}, LOCAL_REGION)


@contextlib.contextmanager
def order_api(host: FunctionHost, function: str, stage: str, port: int,
              on_request: Callable[[str, int, float], None], iam: bool = False) -> Iterator[ApiGateway]:
    api = ApiGateway(host, function, stage, port, authorize=_local_iam if iam else None)
    api.hooks.append(on_request)
    try:
        api.start()
        log.info("order API on %s", api.url)
        yield api
    finally:
        api.stop()


# --------------------------------------------------------------------------- custom resources


class PartnerRegistrationError(RuntimeError):
    """The partner registration's Create answered FAILED: the window does not start (a stack would roll back)."""


@contextlib.contextmanager
def partner_registration(host: FunctionHost, resources: Resources, env: Environment,
                         api_url: str) -> Iterator[Any]:
    """The partner registration custom resource: Create on start, Delete on stop, as CloudFormation sends them.

    The handler answers over HTTPS to a local stand-in for the pre-signed response URL; a
    failed Create is rolled back (Delete with the id it answered) and stops the start.
    """
    from ecomctl.local.cfn_responses import CustomResourceDriver, ResponseServer

    topology = resources.topology
    spec = topology.partner
    if spec is None:
        yield None
        return
    with ResponseServer() as responses:
        env.apply({"CFN_RESPONSE_CA_BUNDLE": responses.ca_file})
        driver = CustomResourceDriver(
            host, responses, spec.function, resources.resolve(f"function:{spec.function}:arn"),
            stack_name=f"ecom-{topology.stage}",  # the stack name infra gives the stage
            logical_id="PartnerRegistration", resource_type=spec.resource_type, region=REGION)
        properties = spec.properties(resources.resolve(f"secret:{spec.secret}:arn"),
                                     api_url.rstrip("/") + spec.callback_path)
        created = driver.create(properties)
        if created.status != "SUCCESS":
            rolled_back = driver.delete(created.physical_id, properties)
            raise PartnerRegistrationError(f"the partner registration failed: {created.reason}"
                                           + (f" (rollback: {rolled_back.reason})" if rolled_back.reason else ""))
        log.info("partner registration %s: contract %s, %s", created.physical_id,
                 created.data.get("ContractVersion"), created.data.get("State"))
        try:
            yield created
        finally:
            deleted = driver.delete(created.physical_id, properties)
            if deleted.data.get("Leftover"):
                log.warning("partner registration left behind: %s", deleted.reason)
            else:
                log.info("partner registration %s deregistered (%s)", created.physical_id,
                         deleted.data.get("Deregistered"))


# --------------------------------------------------------------------------- housekeeping


def flag_sweeper(client: ClientFactory, ssm_prefix: str) -> contextlib.AbstractContextManager[Any]:
    """Deletes chaos flags whose ``expires_at`` has passed."""
    try:
        from ecomctl.local.flag_sweeper import FlagSweeper
    except ImportError:
        log.warning("chaos flag sweeper missing (ecomctl.local.flag_sweeper): expired flags stay in SSM")
        return contextlib.nullcontext()
    return Threads([("flag-sweeper", FlagSweeper(client("ssm"), ssm_prefix).run)])


@contextlib.contextmanager
def profiler(out: str | None) -> Iterator[None]:
    """The sampling profiler, its report written to ``out`` on exit (nothing without ``out``)."""
    if not out:
        yield
        return
    from ecomctl.local.profiler import Sampler

    sampler = Sampler()
    sampler.start()
    try:
        yield
    finally:
        sampler.stop()
        Path(out).write_text(sampler.report())


class DeadlineWatchdog:
    """Sets ``stop`` at the deadline by the wall clock: a laptop that slept past it stops on waking.

    ``recorded(current)`` answers the deadline now in force (epoch seconds; ``extend`` moves it).
    """

    def __init__(self, deadline: datetime, stop: threading.Event,
                 recorded: Callable[[float], float] | None = None) -> None:
        self.deadline = deadline.timestamp()
        self.stop = stop
        self.recorded = recorded or (lambda current: current)
        self.reached = False

    def run(self, halt: threading.Event) -> None:
        while not halt.is_set() and not self.stop.is_set():
            self.deadline = self.recorded(self.deadline)
            left = self.deadline - time.time()
            if left <= 0:
                self.reached = True
                self.stop.set()
                return
            halt.wait(min(1.0, left))
