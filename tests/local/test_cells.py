"""A window of cells end to end: `up --cells 2`, orders through the router, a chaos
scenario whose flag both cells obey, status over both, and a teardown that leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.local.helpers import alive, cli, http, nothing_left

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _orders(endpoint: str) -> dict[str, dict[str, Any]]:
    ddb = _client(endpoint, "dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": "ecom-dev-orders"}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {i["orderId"]["S"]: i for i in items}


def _good(i: int) -> dict[str, Any]:
    sku = f"SKU-{i % 900 + 1:04d}"  # the catalogue's; 0013, 0404 and 0666 are its failure cases
    return {"customerId": f"cust-{i}", "items": [{"sku": "SKU-0001" if sku in ("SKU-0013", "SKU-0404", "SKU-0666")
                                                  else sku, "quantity": 1, "unitPrice": 4.5}]}


def _up(home: Path) -> dict[str, Any]:
    run = cli(home, "up", "--cells", "2", "--ttl", "10m", "--json", ECOMCTL_LOCAL_METRICS_PERIOD="2",
              ECOMCTL_LOCAL_FIREHOSE_INTERVAL="2")
    assert run.code == 0, run.err
    window = run.json()
    assert [c["cell"] for c in window["cells"]] == [0, 1]
    assert len({c["pid"] for c in window["cells"]} | {window["pid"]}) == 3
    assert window["aws_endpoint"] == window["cells"][0]["aws_endpoint"]
    return window


def test_two_cells_serve_one_window_and_down_leaves_nothing(tmp_path):
    window = _up(tmp_path)
    api, cells = window["api_url"], window["cells"]
    pids = [window["pid"]] + [c["pid"] for c in cells]
    try:
        keys = {i: f"key-{uuid.uuid4()}" for i in range(0, 40, 4)}

        def place(i: int) -> tuple[int, str]:
            code, body = http("POST", f"{api}/orders", _good(i), {"Idempotency-Key": keys[i]} if i in keys else {})
            assert code == 202, (code, body)
            return i, body["orderId"]

        with ThreadPoolExecutor(max_workers=6) as pool:
            placed = dict(pool.map(place, range(40)))
            resent = list(pool.map(place, list(keys)))
        assert all(order_id == placed[i] for i, order_id in resent), "a resend made a new order"

        deadline = time.monotonic() + 120
        while True:
            per_cell = [_orders(c["aws_endpoint"]) for c in cells]
            states = {oid: item["status"]["S"] for orders in per_cell for oid, item in orders.items()}
            terminal = ("COMPLETED", "CANCELLED")
            if all(states.get(o) in terminal for o in placed.values()) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert all(states.get(o) == "COMPLETED" for o in placed.values()), states
        # Each order lives in exactly one cell, both cells took orders, and the router reads each back.
        assert not set(per_cell[0]) & set(per_cell[1])
        assert all(len(set(placed.values()) & set(orders)) >= 10 for orders in per_cell)
        for order_id in list(placed.values())[:8]:
            code, body = http("GET", f"{api}/orders/{order_id}")
            assert (code, body["status"]) == (200, "COMPLETED")

        # One flag, set once in the shared SSM by the scenario, is obeyed by both cells' handlers.
        before = [set(orders) for orders in per_cell]
        run = cli(tmp_path, "chaos", "run", "payment-down", "--json", "-", timeout=240)
        assert run.code == 0, run.err + run.out
        for cell, seen in zip(cells, before, strict=True):
            run_orders = [item for oid, item in _orders(cell["aws_endpoint"]).items() if oid not in seen]
            waited = [i for i in run_orders if "AWAITING_PAYMENT" in json.dumps(i["history"])]
            assert waited, f"cell {cell['cell']}'s orders never waited for payment"
            assert all(i["status"]["S"] == "COMPLETED" for i in run_orders)

        status = cli(tmp_path, "status", "--json")
        assert status.code == 0, status.err
        counts = status.json()["orders"]
        assert sum(counts.values()) == sum(len(_orders(c["aws_endpoint"])) for c in cells)
        assert [c["pid"] for c in status.json()["local"]["cells"]] == [c["pid"] for c in cells]

        # The second cell's service metrics reach the shared CloudWatch: the API's count covers both.
        cloudwatch = _client(window["aws_endpoint"], "cloudwatch")
        time.sleep(3)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName="Count", Dimensions=[{"Name": "ApiName", "Value": "ecom-dev-api"}],
            StartTime=datetime.now(UTC) - timedelta(minutes=10), EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60, Statistics=["Sum"])["Datapoints"]
        assert sum(p["Sum"] for p in points) >= sum(counts.values())
    finally:
        down = cli(tmp_path, "down", "--json")
    assert down.code == 0, down.err
    assert down.json()["leftovers"] == []
    left = [f"process {p}" for p in pids if alive(p)]
    assert left + nothing_left(Path(window["state_file"]), window["pid"], window["ports"]) == []


def test_a_cell_that_dies_takes_the_whole_window_down(tmp_path):
    window = _up(tmp_path)
    pids = [window["pid"]] + [c["pid"] for c in window["cells"]]
    os.kill(window["cells"][1]["pid"], signal.SIGKILL)
    left = nothing_left(Path(window["state_file"]), window["pid"], window["ports"], timeout=45)
    left += [f"process {p}" for p in pids if alive(p)]
    assert left == []
    status = cli(tmp_path, "status", "--json")
    assert (status.code, status.json()) == (0, {"window": None})
