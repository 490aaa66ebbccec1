"""`ecomctl load` and `ecomctl observe` on one real local window, as a user runs them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.local.helpers import cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STAGE = "lt"


@pytest.fixture(scope="module")
def window(tmp_path_factory) -> Any:
    home = tmp_path_factory.mktemp("load-home")
    # The API requires SigV4, as the deployed one (AWS_IAM): the load signs every request.
    up = cli(home, "up", "--target", "local", "--ttl", "20m", "--stage", STAGE, "--json",
             ECOMCTL_LOCAL_METRICS_PERIOD="2", ECOMCTL_LOCAL_API_AUTH="iam")
    assert up.code == 0, up.err
    yield home, up.json()
    cli(home, "down", "--stage", STAGE)


def _orders_in_table(info: dict[str, Any]) -> set[str]:
    ddb = boto3.client("dynamodb", endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ids: set[str] = set()
    for page in ddb.get_paginator("scan").paginate(TableName=f"ecom-{STAGE}-orders", ProjectionExpression="orderId"):
        ids |= {i["orderId"]["S"] for i in page["Items"]}
    return ids


def test_observe_on_an_idle_window_reports_zeros_not_errors(window):
    home, _ = window
    run = cli(home, "observe", "--stage", STAGE, "--since", "5m", "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["reconciliation"]["accepted"] == 0 and data["reconciliation"]["lost"] == 0
    assert all(q["dlq_max"] == 0 for q in data["cloudwatch"]["queues"].values())
    assert data["cloudwatch"]["api"]["5xxerror"] == 0


def test_the_window_refuses_an_unsigned_order_as_api_gateway_does(window):
    _, info = window
    request = urllib.request.Request(f"{info['api_url']}/orders", data=b'{"customerId": "c1", "items": []}',
                                     headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert json.loads(refused.value.read()) == {"message": "Missing Authentication Token"}


def test_load_at_300_rpm_achieves_its_rate_and_accounts_for_every_order(window, tmp_path):
    home, info = window
    before = _orders_in_table(info)
    out = tmp_path / "load.json"
    run = cli(home, "load", "--stage", STAGE, "--rpm", "300", "--duration", "20s", "--json", str(out),
              "--slo", "errors<1%", timeout=240)
    assert run.code == 0, run.err[-3000:]
    data = json.loads(out.read_text())
    assert {"target_rpm", "achieved_rpm", "duration_s", "requests", "failures", "latency_ms", "slo",
            "reconciliation"} <= set(data)
    assert data["target_rpm"] == 300 and data["achieved_rpm"] == pytest.approx(300, rel=0.01)
    assert data["requests"] == 100 and data["failures"] == 0 and data["could_not_send"] == 0
    assert data["slo"] == {"passed": True, "violations": [], "gates": data["slo"]["gates"]}
    rec = data["reconciliation"]
    placed = _orders_in_table(info) - before
    assert rec["accepted"] == len(placed) > 70  # exactly the orders the run placed (duplicates add none)
    assert rec["lost"] == 0 and rec["in_flight"] == 0 and rec["accounted"] == rec["accepted"]
    assert rec["completed"] + rec["cancelled"] == rec["accepted"]
    assert rec["unexpected_outcomes"] == {}
    assert "achieved" in run.out and "orders placed by the run" in run.out


def test_observe_after_the_run_has_per_service_latency_and_queue_metrics(window):
    home, _ = window
    run = cli(home, "observe", "--stage", STAGE, "--since", "10m", "--json")
    assert run.code == 0, run.err
    data = run.json()
    services = {s["name"]: s for s in data["xray"]["services"]}
    api = services[f"ecom-{STAGE}-api"]
    assert api["count"] > 0 and 0 < api["p50_ms"] <= api["p95_ms"] <= api["p99_ms"]
    assert set(data["cloudwatch"]["queues"]) == {"saga-start", "inventory", "payment", "shipping", "notify",
                                                 "analytics"}
    assert data["cloudwatch"]["functions"]["api"]["invocations"] >= 100
    assert data["cloudwatch"]["saga"]["started"] > 0
    assert data["reconciliation"]["scope"] == "run" and data["reconciliation"]["lost"] == 0
    notified = data["notifications"]
    assert notified["samples"] > 0 and notified["over_limit"] == 0 and 0 < notified["max_s"] < 30
    assert set(notified["channels"]) == {"sns", "e-mail"}  # both channels traced, both within 30 s
    assert all(c["over_limit"] == 0 for c in notified["channels"].values())


def test_an_slo_that_cannot_hold_exits_12_and_names_the_gate(window, tmp_path: Path):
    home, _ = window
    run = cli(home, "load", "--stage", STAGE, "--rpm", "120", "--duration", "5s", "--slo", "p99<1ms",
              "--no-observe", "--settle", "15s", timeout=120)
    assert run.code == 12, run.err[-2000:]
    assert "SLO violated: p99<1ms" in run.err
    assert "✗ p99<1ms" in run.out
