"""Read a running window through the ordinary AWS APIs (what ``status`` shows).

Everything here goes through the window's AWS endpoint with plain boto3 calls, the
same calls that inspect the platform on AWS: queue attributes, a Scan of the Orders
table projected to the status, and SSM parameters under the chaos prefix.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from ecomctl.state import WindowState
from ecomshop.topology import build_topology

_CONFIG = Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})


def _session(window: WindowState) -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name=window.region)


def clients(window: WindowState) -> dict[str, Any]:
    s = _session(window)
    return {svc: s.client(svc, endpoint_url=window.aws_endpoint, config=_CONFIG)
            for svc in ("sqs", "dynamodb", "ssm")}


def queue_depths(window: WindowState, sqs: Any) -> dict[str, dict[str, int]]:
    topology = build_topology(window.stage)
    out: dict[str, dict[str, int]] = {}
    for q in topology.queues:
        row = {}
        for logical, keys in ((q.logical, ("visible", "in_flight")), (topology.dlq(q.logical), ("dlq",))):
            url = sqs.get_queue_url(QueueName=topology.name(logical))["QueueUrl"]
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            visible = int(attrs.get("ApproximateNumberOfMessages", 0))
            in_flight = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
            if keys == ("dlq",):
                row["dlq"] = visible + in_flight
            else:
                row["visible"], row["in_flight"] = visible, in_flight
        out[q.logical] = row
    return out


def order_counts(window: WindowState, ddb: Any) -> dict[str, int]:
    topology = build_topology(window.stage)
    counts: Counter[str] = Counter()
    kwargs: dict[str, Any] = {
        "TableName": topology.name("orders"),
        "ProjectionExpression": "#s",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            counts[item.get("status", {}).get("S", "UNKNOWN")] += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return dict(sorted(counts.items()))


def active_chaos(window: WindowState, ssm: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """SSM flags under the chaos prefix whose ``expires_at`` is still in the future."""
    topology = build_topology(window.stage)
    moment = now or datetime.now(UTC)
    flags: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Path": topology.ssm_prefix, "Recursive": True}
    while True:
        page = ssm.get_parameters_by_path(**kwargs)
        for p in page.get("Parameters", []):
            try:
                value = json.loads(p["Value"])
            except ValueError:
                continue
            if not isinstance(value, dict):
                continue
            expires = _parse_time(value.get("expires_at"))
            if expires is None or expires <= moment:
                continue
            flags.append({
                "name": p["Name"][len(topology.ssm_prefix):].lstrip("/"),
                "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "remaining_s": int((expires - moment).total_seconds()),
                "value": value,
            })
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return flags


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def snapshot(window: WindowState) -> dict[str, Any]:
    from ecomctl.local.launcher import ttl_remaining

    c = clients(window)
    return {
        "target": window.target,
        "stage": window.stage,
        "api_url": window.api_url,
        "aws_endpoint": window.aws_endpoint,
        "deadline": window.deadline,
        "ttl_remaining_s": int(ttl_remaining(window)),
        "queues": queue_depths(window, c["sqs"]),
        "orders": order_counts(window, c["dynamodb"]),
        "chaos": active_chaos(window, c["ssm"]),
    }
