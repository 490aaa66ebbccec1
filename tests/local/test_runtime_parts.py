"""The platform process starts as composed parts and unwinds them: in-process, no state file.

A part that fails late in start-up must leave nothing of the earlier ones behind (moto's
port closed, no poller or metrics thread, ``sys.stdout`` and ``os.environ`` as they were);
a normal start and shutdown must leave nothing either.

Tracing is off here, as for every in-process test (``tests/conftest.py``): the handlers'
Powertools Tracer is configured once per process, at their first import. The X-Ray part
is checked on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict

from ecomctl.local import moto_patches, parts
from ecomctl.local.runtime import Options, Platform
from tests.local.helpers import http, listening

STAGE = "partstest"
PART_THREADS = ("poller-", "metrics", "firehose", "apigw", "xray-", "flag-sweeper", "deadline-watchdog", "sampler")


@pytest.fixture(autouse=True)
def moto_restored() -> Iterator[None]:
    """The patches reverted and moto's backends emptied after each test (other tests run unpatched)."""
    # moto_patches.patched() (revert after the test) comes with the fingerprinted patches; until
    # then the patches stay applied, as the platform harness applies them too.
    patched = getattr(moto_patches, "patched", contextlib.nullcontext)
    with patched():
        yield
    BackendDict.reset()


def _options(**overrides: Any) -> Options:
    values: dict[str, Any] = {"stage": STAGE, "deadline": datetime.now(UTC) + timedelta(minutes=10),
                              "tracing": False, "metrics_period_s": 0.5, "firehose_interval_s": 1.0}
    values.update(overrides)
    return Options(**values)


def _part_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.is_alive() and t.name.startswith(PART_THREADS))


def _new_threads(before: set[threading.Thread], grace_s: float = 3.0) -> list[str]:
    """Threads started since ``before`` still alive after ``grace_s`` (moto's request threads end late)."""
    until = time.monotonic() + grace_s
    while True:
        left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > until:
            return left
        time.sleep(0.1)


class _Spy:
    """Wraps moto_server to learn its port, and fails one named part with what was running then."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moto_port = 0
        self.during: dict[str, Any] = {}
        real_moto = parts.moto_server

        @contextlib.contextmanager
        def moto_server() -> Iterator[parts.MotoEndpoint]:
            with real_moto() as endpoint:
                self.moto_port = endpoint.port
                yield endpoint

        monkeypatch.setattr(parts, "moto_server", moto_server)
        self.monkeypatch = monkeypatch

    def fail(self, part: str) -> None:
        def broken(*args: Any, **kwargs: Any) -> Any:
            self.during = {"threads": _part_threads(), "stdout": sys.stdout, "moto_port": os.environ.get("MOTO_PORT"),
                           "listening": listening(self.moto_port)}
            raise OSError(f"{part} could not start")

        self.monkeypatch.setattr(parts, part, broken)


@pytest.mark.parametrize("failing", ["sqs_pollers", "order_api"])
def test_a_late_part_failing_unwinds_every_part_before_it(monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    spy = _Spy(monkeypatch)
    spy.fail(failing)
    env_before, stdout_before, threads_before = dict(os.environ), sys.stdout, set(threading.enumerate())
    platform = Platform(_options())

    with pytest.raises(OSError, match=f"{failing} could not start"):
        platform.start()

    # The earlier parts were really running when the failing one was entered ...
    assert spy.during["listening"] and spy.during["moto_port"] == str(spy.moto_port)
    assert "metrics" in spy.during["threads"] and "firehose" in spy.during["threads"]
    assert spy.during["stdout"] is not stdout_before
    if failing == "order_api":
        assert any(name.startswith("poller-") for name in spy.during["threads"])
    # ... and nothing of them is left.
    assert not listening(spy.moto_port)
    assert _part_threads() == []
    assert _new_threads(threads_before) == []
    assert sys.stdout is stdout_before
    assert dict(os.environ) == env_before
    platform.shutdown()  # nothing left to stop: a no-op


def test_start_serves_orders_and_shutdown_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch)
    monkeypatch.setenv("AWS_PROFILE", "operator-prod")  # the operator's, unknown to the local endpoint
    env_before, stdout_before, threads_before = dict(os.environ), sys.stdout, set(threading.enumerate())
    platform = Platform(_options())
    platform.start()
    try:
        assert platform.running is not None
        api = platform.running.api
        assert "AWS_PROFILE" not in os.environ and os.environ["MOTO_PORT"] == str(spy.moto_port)
        status, placed = http("POST", f"{api.url}/orders", {
            "customerId": "cust-1", "items": [{"sku": "SKU-0001", "quantity": 1, "unitPrice": 5.0}]})
        assert status == 202, placed
        assert _order_status(api.url, placed["orderId"]) == "COMPLETED"
        assert {"metrics", "firehose", "apigw", "flag-sweeper", "deadline-watchdog"} <= set(_part_threads())
        assert _expired_flag_is_swept(f"http://127.0.0.1:{spy.moto_port}")
    finally:
        platform.shutdown()

    assert not listening(api.port) and not listening(spy.moto_port)
    assert _part_threads() == []
    assert _new_threads(threads_before) == []
    assert sys.stdout is stdout_before
    assert dict(os.environ) == env_before


def _expired_flag_is_swept(endpoint: str, timeout_s: float = 5.0) -> bool:
    ssm = parts.local_session().client("ssm", endpoint_url=endpoint)
    name = f"/ecomshop/{STAGE}/chaos/payment.charge"
    ssm.put_parameter(Name=name, Type="String", Overwrite=True,
                      Value=json.dumps({"effect": "error", "rate": 1.0, "expires_at": "2020-01-01T00:00:00Z"}))
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        if not ssm.get_parameters(Names=[name])["Parameters"]:
            return True
        time.sleep(0.2)
    return False


def _order_status(api_url: str, order_id: str, timeout_s: float = 30.0) -> str:
    until = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < until:
        _code, order = http("GET", f"{api_url}/orders/{order_id}")
        status = str(order.get("status"))
        if status in ("COMPLETED", "CANCELLED"):
            return status
        time.sleep(0.1)
    return status


def test_the_xray_part_stops_its_loops_and_closes_its_socket_on_a_failure() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        with pytest.raises(RuntimeError, match="later part"), parts.xray(session.client) as xray:
            assert {"xray-recv", "xray-flush"} <= set(_part_threads())
            raise RuntimeError("later part")
    assert _part_threads() == []
    assert xray.daemon.sock.fileno() == -1


def test_the_watchdog_stops_the_platform_at_the_deadline_it_reads_last() -> None:
    stop = threading.Event()
    extended = time.time() + 0.5
    watchdog = parts.DeadlineWatchdog(datetime.now(UTC) - timedelta(seconds=1), stop, lambda _current: extended)
    with parts.Threads([("deadline-watchdog", watchdog.run)]):
        assert not stop.wait(0.2)  # the past deadline was moved by `extend`
        assert stop.wait(3.0) and watchdog.reached


def test_the_environment_part_clears_the_profile_applies_values_then_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "operator-prod")
    monkeypatch.setenv("ECOMCTL_TEST_KEPT", "before")
    monkeypatch.delenv("ECOMCTL_TEST_NEW", raising=False)
    before = dict(os.environ)
    with parts.Environment() as env:
        assert "AWS_PROFILE" not in os.environ
        env.apply({"ECOMCTL_TEST_KEPT": None, "ECOMCTL_TEST_NEW": "during"})
        env.apply({"ECOMCTL_TEST_NEW": "later", "AWS_PROFILE": "local"})
        assert "ECOMCTL_TEST_KEPT" not in os.environ and os.environ["ECOMCTL_TEST_NEW"] == "later"
    assert dict(os.environ) == before


def test_the_pollers_reach_sqs_through_the_backend_only_when_moto_is_in_this_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomctl.local.sqs_direct import BackendSqs

    client = object()
    monkeypatch.delenv("ECOMCTL_LOCAL_ESM", raising=False)
    assert isinstance(parts.poller_sqs("inprocess", lambda service: client), BackendSqs)
    assert parts.poller_sqs("http", lambda service: client) is client
    monkeypatch.setenv("ECOMCTL_LOCAL_ESM", "api")
    assert parts.poller_sqs("inprocess", lambda service: client) is client


def test_the_xray_part_streams_each_segment_under_its_own_lock() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        with parts.xray(session.client) as xray:
            streaming = xray.recorder.streaming
            assert type(streaming).__name__ == "PerSegmentStreaming"
            assert streaming.streaming_threshold == 100
