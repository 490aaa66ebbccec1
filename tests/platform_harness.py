"""A pytest plugin: the `platform` fixture runs the real handlers, the real topology and
the real saga definition on moto in-process (decorator mode), and lets a test drive the
SQS consumers the way Lambda's pollers would.

moto runs here without the local target's speed patches (``ecomctl.local.moto_patches``):
these tests are the oracle the patched moto is compared with. Only the fixes (``kind="fix"``)
are applied, as ``ECOMCTL_LOCAL_PATCHES=0`` does: without ``sfn-clone-without-executions``,
StartExecution deep-copies the executions already running, and under load that copy can race
their worker threads and fails, so an order stayed PENDING until its message came back a
minute later (seen as an intermittent timeout in tests/platform/test_resilience.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from ecomctl.local import moto_patches
from ecomctl.local.lambda_bridge import FunctionHost, install, uninstall
from ecomctl.local.patches import PATCHES
from ecomctl.local.pollers import SqsPoller
from ecomctl.local.provision import Resources, provision
from ecomshop.config import reset_clients
from ecomshop.model import OrderRequest
from ecomshop.orders import store
from ecomshop.topology import Topology, build_topology

MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
REGION = "us-east-1"


@dataclass
class Platform:
    topology: Topology
    resources: Resources
    host: FunctionHost
    session: boto3.Session
    pollers: dict[str, SqsPoller] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]

    def api(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            raw_body: str | None = None) -> tuple[int, dict[str, Any]]:
        """Invoke the API function with an API Gateway REST proxy event."""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        payload = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        event = api_event(method, path, payload, hdrs)
        response = self.host.invoke(self.topology.api_function, event)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}

    def drain(self, until: Callable[[], bool] | None = None, timeout: float = 30.0) -> None:
        """Run every queue consumer until `until()` holds (or the queues stay empty)."""
        deadline = time.monotonic() + timeout
        idle_rounds = 0
        while time.monotonic() < deadline:
            if until is not None and until():
                return
            received = sum(p.poll_once() for p in self.pollers.values())
            idle_rounds = idle_rounds + 1 if received == 0 else 0
            if until is None and idle_rounds >= 20:
                return
            if received == 0:
                time.sleep(0.05)
        if until is not None:
            raise AssertionError(f"condition not reached within {timeout}s")

    def place(self, customer: str = "cust-1", items: list[dict[str, Any]] | None = None,
              address: dict[str, Any] | None = None) -> str:
        """Create an order the way the API does (store + "Order Placed"), bypassing HTTP."""
        request = OrderRequest.model_validate(
            {"customerId": customer, "items": items or [{"sku": "SKU-0001", "quantity": 2, "unitPrice": 9.99}],
             "currency": "USD", "shippingAddress": address}
        )
        return str(store.create(request)["orderId"])

    def order(self, order_id: str) -> dict[str, Any]:
        return store.public_view(store.get(order_id))

    def wait_terminal(self, order_ids: list[str], timeout: float = 60.0) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}

        def done() -> bool:
            for oid in order_ids:
                if oid not in results:
                    o = self.order(oid)
                    if o["status"] in ("COMPLETED", "CANCELLED"):
                        results[oid] = o
            return len(results) == len(order_ids)

        self.drain(until=done, timeout=timeout)
        return results

    def queue_depths(self) -> dict[str, int]:
        sqs = self.client("sqs")
        depths = {}
        for q in self.topology.queues:
            for logical in (q.logical, self.topology.dlq(q.logical)):
                attrs = sqs.get_queue_attributes(
                    QueueUrl=self.resources.queue_url(logical),
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                depths[logical] = int(attrs["ApproximateNumberOfMessages"]) + int(
                    attrs["ApproximateNumberOfMessagesNotVisible"])
        return depths

    def set_flag(self, point: str, flag: dict[str, Any] | str) -> None:
        value = flag if isinstance(flag, str) else json.dumps(flag)
        self.client("ssm").put_parameter(
            Name=f"{self.topology.ssm_prefix}/{point}", Value=value, Type="String", Overwrite=True
        )
        parameters.clear_caches()

    def clear_flag(self, point: str) -> None:
        self.client("ssm").delete_parameter(Name=f"{self.topology.ssm_prefix}/{point}")
        parameters.clear_caches()


def api_event(method: str, path: str, body: str | None, headers: dict[str, str]) -> dict[str, Any]:
    parts = path.strip("/").split("/")
    resource = "/orders/{orderId}" if len(parts) == 2 else "/" + "/".join(parts)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"orderId": parts[1]} if len(parts) == 2 else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/local{path}", "stage": "local",
            "requestId": f"req-{time.monotonic_ns()}", "identity": {"sourceIp": "127.0.0.1"},
            "accountId": "123456789012", "apiId": "local",
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(platform: Platform, queue: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, for invoking a consumer directly."""
    arn = platform.resources.resolve(f"queue:{queue}:arn")
    return {
        "Records": [
            {"messageId": f"m-{i}", "receiptHandle": f"rh-{i}", "body": json.dumps(b),
             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
             "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION}
            for i, b in enumerate(bodies)
        ]
    }


FIXES = [p for p in PATCHES if p.kind == "fix"]


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    # A test that applies the patches must revert them; otherwise this suite would run patched.
    assert not moto_patches.is_applied(), "moto patches left applied by an earlier test"
    moto_patches.apply(FIXES)
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        session = boto3.Session(region_name=REGION)
        topology = build_topology("test")
        resources = provision(topology, session)
        for key, value in resources.process_environment().items():
            monkeypatch.setenv(key, value)
        reset_clients()
        parameters.clear_caches()
        arns = {f.logical: resources.resolve(f"function:{f.logical}:arn") for f in topology.functions}
        host = FunctionHost(topology, arns)
        install(host)
        plat = Platform(topology, resources, host, session)
        sqs = session.client("sqs")
        for q in topology.queues:
            plat.pollers[q.logical] = SqsPoller(host, resources, q.logical, sqs, REGION)
        try:
            yield plat
        finally:
            uninstall()
            reset_clients()
            parameters.clear_caches()
            moto_patches.revert()
