"""The saga's entrance waits while the saga's task queues are behind, and only then.

Waiting messages (visible) close it; messages in flight, as a provider outage parks
task tokens, do not. Measured against moto's own queues, in process and through the API.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ecomctl.local import admission
from ecomctl.local.sqs_direct import BackendSqs
from ecomshop.topology import build_topology

REGION = "us-east-1"


class _Resources:
    topology = build_topology("test")


@pytest.fixture
def sqs() -> Iterator[object]:
    with mock_aws():
        yield boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing").client("sqs")


def test_the_topology_names_the_entrance_and_the_task_queues() -> None:
    resources = _Resources()
    assert admission.entrance_queues(resources) == ["saga-start"]  # type: ignore[arg-type]
    assert sorted(admission.task_queues(resources)) == ["inventory", "payment", "shipping"]  # type: ignore[arg-type]


@pytest.mark.parametrize("direct", [True, False], ids=["moto-backend", "sqs-api"])
def test_waiting_messages_close_the_gate_and_messages_in_flight_do_not(sqs, direct: bool) -> None:
    urls = [sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("inventory", "payment")]
    counter = admission.waiting_messages(BackendSqs(REGION) if direct else sqs)
    gate = admission.Admission(urls, counter, limit=5)
    for i in range(3):
        sqs.send_message(QueueUrl=urls[0], MessageBody=f"i{i}")
        sqs.send_message(QueueUrl=urls[1], MessageBody=f"p{i}")
    assert not gate.open()  # 6 waiting across the two queues
    assert gate.held == 1
    # Taken by a consumer that does not finish (a provider outage): in flight, not waiting.
    got = sqs.receive_message(QueueUrl=urls[1], MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert len(got) == 3
    assert counter(urls[1]) == 0
    assert gate.open()


def test_limit_zero_is_off() -> None:
    gate = admission.Admission(["q"], lambda url: 10_000, limit=0)
    assert gate.open()


def test_an_unreadable_queue_keeps_the_entrance_open() -> None:
    def broken(url: str) -> int:
        raise ConnectionError("moto is restarting")

    assert admission.Admission(["q"], broken, limit=1).open()


def test_a_closed_gate_keeps_the_entrance_poller_from_receiving(sqs) -> None:
    from ecomctl.local.pollers import SqsPoller

    class Host:
        invoked: list[int] = []

        def invoke(self, function: str, event: dict) -> dict:
            self.invoked.append(len(event["Records"]))
            return {"batchItemFailures": []}

    class Resources:
        topology = build_topology("test")

        def queue_url(self, logical: str) -> str:
            return urls[logical]

        def resolve(self, ref: str) -> str:
            return f"arn:aws:sqs:{REGION}:123456789012:{ref.split(':')[1]}"

    urls = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("saga-start", "inventory")}
    sqs.send_message(QueueUrl=urls["saga-start"], MessageBody="order")
    closed = {"value": True}
    gate = admission.Admission([urls["inventory"]], lambda url: 100 if closed["value"] else 0, limit=1)
    host = Host()
    poller = SqsPoller(host, Resources(), "saga-start", sqs, REGION, gate)  # type: ignore[arg-type]
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop, 0), daemon=True)
    thread.start()
    try:
        stop.wait(0.5)
        assert host.invoked == [] and gate.held > 0
        closed["value"] = False
        for _ in range(100):
            if host.invoked:
                break
            stop.wait(0.05)
        assert host.invoked == [1]
    finally:
        stop.set()
        thread.join(timeout=5)


def test_the_fan_out_is_notify_and_analytics() -> None:
    assert sorted(admission.fanout_queues(_Resources())) == ["analytics", "notify"]  # type: ignore[arg-type]


def test_behind_does_not_count_as_holding_the_entrance() -> None:
    gate = admission.Admission(["q"], lambda url: 50, limit=30)
    assert gate.behind() == 50 and gate.held == 0
    assert not gate.open() and gate.held == 1
    assert admission.Admission(["q"], lambda url: 50, limit=0).behind() == 0


@pytest.mark.parametrize("yield_max_s", [0.0, 0.6], ids=["off", "on"])
def test_a_fan_out_poller_defers_to_a_saga_that_is_behind_but_not_for_longer_than_its_limit(
        sqs, yield_max_s: float) -> None:
    """While the saga's task queues are behind, a notify poller waits up to ``yield_max_s``
    before each batch, then takes it anyway: deferred, never starved."""
    from ecomctl.local.pollers import SqsPoller

    invoked_at: list[float] = []

    class Host:
        def invoke(self, function: str, event: dict) -> dict:
            invoked_at.append(time.monotonic())
            return {"batchItemFailures": []}

    class Resources:
        topology = build_topology("test")

        def queue_url(self, logical: str) -> str:
            return url

        def resolve(self, ref: str) -> str:
            return f"arn:aws:sqs:{REGION}:123456789012:{ref.split(':')[1]}"

    url = sqs.create_queue(QueueName="notify")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"n{i}")
    gate = admission.Admission(["task-queue"], lambda u: 100, limit=30)  # the saga stays behind throughout
    poller = SqsPoller(Host(), Resources(), "notify", sqs, REGION,  # type: ignore[arg-type]
                       yields_to=gate, yield_max_s=yield_max_s)
    poller.queue = dataclasses.replace(poller.queue, batch_size=1)  # one message a batch: three batches
    stop = threading.Event()
    started = time.monotonic()
    thread = threading.Thread(target=poller.run, args=(stop, 0), daemon=True)
    thread.start()
    try:
        deadline = started + 10
        while len(invoked_at) < 3 and time.monotonic() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert len(invoked_at) == 3  # every message is delivered, the saga's state notwithstanding
    gaps = [b - a for a, b in zip([started, *invoked_at], invoked_at, strict=False)]
    if yield_max_s:
        assert all(g >= yield_max_s * 0.9 for g in gaps), gaps
    else:
        assert invoked_at[-1] - started < 1.5  # no deferring: three quick batches (on: 3 x 0.6 s at least)
    assert gate.held == 0  # the fan-out's waiting is not the entrance's
