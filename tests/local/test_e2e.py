"""The local target end to end, as a user runs it: `ecomctl up`, orders over HTTP, `down`.

Nothing here is mocked: the CLI runs in a subprocess, starts the platform process, and the
orders travel API -> DynamoDB -> EventBridge -> SQS -> Step Functions -> the provider
consumers, on moto, with the real handlers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecomctl.local import moto_patches
from tests.local.helpers import cli, http, nothing_left, one_line_error

pytestmark = pytest.mark.e2e

GOOD, OUT_OF_STOCK, DECLINED = "good", "out-of-stock", "declined"


def _order(kind: str, i: int) -> dict[str, Any]:
    sku = f"SKU-{(i % 900) + 1:04d}"
    if sku in ("SKU-0013", "SKU-0404", "SKU-0666"):
        sku = "SKU-0001"
    if kind == OUT_OF_STOCK:
        return {"customerId": f"cust-{i}", "items": [{"sku": sku, "quantity": 1, "unitPrice": 5},
                                                      {"sku": "SKU-0404", "quantity": 1, "unitPrice": 3}]}
    customer = "cust-declined" if kind == DECLINED else f"cust-{i}"
    return {"customerId": customer, "items": [{"sku": sku, "quantity": 1 + i % 3, "unitPrice": 9.99}]}


def _window_up(home: Path, **env: str) -> dict[str, Any]:
    run = cli(home, "up", "--target", "local", "--ttl", "10m", "--json", **env)
    assert run.code == 0, run.err
    return run.json()


def _aws(window: dict[str, Any], service: str) -> Any:
    return boto3.client(service, endpoint_url=window["aws_endpoint"], region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_two_hundred_orders_reach_their_terminal_state_then_down_leaves_nothing(tmp_path):
    window = _window_up(tmp_path, ECOMCTL_LOCAL_METRICS_PERIOD="2", ECOMCTL_LOCAL_FIREHOSE_INTERVAL="2")
    state_file = Path(window["state_file"])
    api = window["api_url"]
    try:
        assert state_file.exists()
        # A second `up` on the live stage is refused.
        again = cli(tmp_path, "up", "--ttl", "5m")
        one_line_error(again)
        assert "already has a local window" in again.err

        kinds = [GOOD] * 150 + [OUT_OF_STOCK] * 25 + [DECLINED] * 25
        keyed = set(range(0, 200, 10))  # 20 orders carry an Idempotency-Key and are resent twice
        keys = {i: f"key-{uuid.uuid4()}" for i in keyed}

        def place(i: int) -> tuple[int, str]:
            headers = {"Idempotency-Key": keys[i]} if i in keys else {}
            code, body = http("POST", f"{api}/orders", _order(kinds[i], i), headers)
            assert code == 202, (code, body)
            return i, body["orderId"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            placed = dict(pool.map(place, range(200)))
            resent = list(pool.map(place, [i for i in keyed for _ in range(2)]))
        assert len(set(placed.values())) == 200
        for i, order_id in resent:
            assert order_id == placed[i], "a resend with the same Idempotency-Key made a new order"

        orders = _wait_terminal(api, list(placed.values()), timeout=300)
        for i, order_id in placed.items():
            order = orders[order_id]
            statuses = [h["status"] for h in order["history"]]
            assert statuses[0] == "PENDING"
            assert all(h.get("at") for h in order["history"])
            if kinds[i] == GOOD:
                assert order["status"] == "COMPLETED", order
                assert {"VALIDATED", "INVENTORY_RESERVED", "PAID", "SHIPPED"} <= set(statuses), order
            elif kinds[i] == OUT_OF_STOCK:
                assert order["status"] == "CANCELLED", order
                assert "out of stock" in order["reason"] and "SKU-0404" in order["reason"]
                assert "PAID" not in statuses
            else:
                assert order["status"] == "CANCELLED", order
                assert "declined" in order["reason"]
                assert statuses[-2:] == ["INVENTORY_RELEASED", "CANCELLED"]

        status = _settled_status(tmp_path)
        assert set(status) == {"target", "stage", "api_url", "aws_endpoint", "deadline", "ttl_remaining_s",
                               "local", "queues", "orders", "chaos", "breakers"}
        assert status["breakers"]["inventory"]["state"] == "CLOSED"
        assert status["local"]["pid"] == window["pid"]
        # `up` ran the partner registration custom resource's Create (the partner holds it).
        registration = status["local"]["partner_registration"]
        assert re.fullmatch(r"REG-[0-9A-F]{12}: contract v1, ACTIVE \(account ecom-dev-partner\)", registration)
        assert status["target"] == "local" and status["stage"] == "dev" and status["api_url"] == api
        assert 0 < status["ttl_remaining_s"] <= 600
        assert status["orders"] == {"COMPLETED": 150, "CANCELLED": 50}
        assert status["chaos"] == []
        for name, q in status["queues"].items():
            assert q["dlq"] == 0, f"{name} DLQ is not empty: {q}"

        # The endpoint is an ordinary AWS endpoint, and it holds what AWS would emit.
        sqs_urls = _aws(window, "sqs").list_queues()["QueueUrls"]
        assert len(sqs_urls) == 12
        _assert_telemetry(window)
    finally:
        down = cli(tmp_path, "down")
    assert down.code == 0, down.err
    assert "is down" in down.out
    ports = [int(window["api_url"].rsplit(":", 1)[1]), int(window["aws_endpoint"].rsplit(":", 1)[1])]
    assert nothing_left(state_file, window["pid"], ports) == []
    assert cli(tmp_path, "status", "--json").json() == {"window": None}
    # `down` ran its Delete before moto stopped: deregistered, nothing left at the partner.
    log_text = Path(status["local"]["log"]).read_text()
    assert f"partner registration {registration.split(':')[0]} deregistered" in log_text


def _wait_terminal(api: str, order_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=4) as pool:
        while len(done) < len(order_ids):
            pending = [o for o in order_ids if o not in done]
            for code, body in pool.map(lambda o: http("GET", f"{api}/orders/{o}"), pending):
                assert code == 200, body
                if body["status"] in ("COMPLETED", "CANCELLED"):
                    done[body["orderId"]] = body
            if len(done) < len(order_ids):
                assert time.monotonic() < deadline, (
                    f"{len(order_ids) - len(done)} orders not terminal after {timeout}s, e.g. "
                    f"{[o for o in order_ids if o not in done][:3]}")
                time.sleep(1)
    return done


def _settled_status(home: Path) -> dict[str, Any]:
    """status --json once the notify/analytics fan-out has drained."""
    deadline = time.monotonic() + 60
    while True:
        run = cli(home, "status", "--json")
        assert run.code == 0, run.err
        status = run.json()
        busy = sum(q["visible"] + q["in_flight"] for q in status["queues"].values())
        if busy == 0 or time.monotonic() > deadline:
            return status
        time.sleep(1)


def _assert_telemetry(window: dict[str, Any]) -> None:
    cw, xray, s3 = _aws(window, "cloudwatch"), _aws(window, "xray"), _aws(window, "s3")
    deadline = time.monotonic() + 20
    while True:
        namespaces = {m["Namespace"] for m in cw.list_metrics()["Metrics"]}
        lake = s3.list_objects_v2(Bucket=_lake_bucket(s3)).get("Contents", [])
        if ({"AWS/Lambda", "AWS/SQS", "AWS/ApiGateway", "AWS/States", "EcomShop"} <= namespaces and lake) or \
                time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {"AWS/Lambda", "AWS/SQS", "AWS/ApiGateway", "AWS/States", "EcomShop"} <= namespaces, namespaces
    invocations = cw.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=[{"Name": "FunctionName",
                                                                       "Value": "ecom-dev-api"}],
        StartTime=time.time() - 3600, EndTime=time.time() + 60, Period=3600, Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in invocations) >= 220  # 240 POSTs + the GETs
    traces = xray.get_trace_summaries(StartTime=time.time() - 3600, EndTime=time.time() + 60)["TraceSummaries"]
    assert traces, "no X-Ray segments reached the daemon stand-in"
    assert all(obj["Key"].startswith("orders/year=") and "/month=" in obj["Key"] and "/hour=" in obj["Key"]
               for obj in lake), [o["Key"] for o in lake][:3]


def _lake_bucket(s3: Any) -> str:
    return next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("ecom-dev-lake"))


def test_short_ttl_alone_tears_the_window_down(tmp_path):
    run = cli(tmp_path, "up", "--ttl", "15s", "--json")
    assert run.code == 0, run.err
    window = run.json()
    state_file = Path(window["state_file"])
    ports = [int(window["api_url"].rsplit(":", 1)[1]), int(window["aws_endpoint"].rsplit(":", 1)[1])]
    assert state_file.exists()
    code, _ = http("GET", f"{window['api_url']}/orders/ord-missing")
    assert code == 404
    assert nothing_left(state_file, window["pid"], ports, timeout=40) == []
    assert cli(tmp_path, "status", "--json").json() == {"window": None}


def test_the_local_target_runs_with_the_patches_off(tmp_path):
    """ECOMCTL_LOCAL_PATCHES=0: moto without the speed patches (only the fixes: a second saga's, atomic updates),
    said so in status; orders placed one after another still complete, so the switch is a real
    way out of a bad patch."""
    window = _window_up(tmp_path, ECOMCTL_LOCAL_PATCHES="0")
    state_file = Path(window["state_file"])
    ports = [int(window["api_url"].rsplit(":", 1)[1]), int(window["aws_endpoint"].rsplit(":", 1)[1])]
    try:
        status = cli(tmp_path, "status", "--json").json()
        fixes = sum(1 for patch in moto_patches.PATCHES if patch.kind == "fix")
        assert f"speed patches off (ECOMCTL_LOCAL_PATCHES=0), {fixes} fix(es) kept" in json.dumps(status), status
        for i in range(3):
            code, body = http("POST", f"{window['api_url']}/orders", _order(GOOD, i))
            assert code == 202, body
            order = _wait_terminal(window["api_url"], [body["orderId"]], timeout=120)[body["orderId"]]
            assert order["status"] == "COMPLETED", order
    finally:
        assert cli(tmp_path, "down").code == 0
    assert nothing_left(state_file, window["pid"], ports) == []
