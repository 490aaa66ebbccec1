"""analytics queue -> the analytics stream (Kinesis), from where the lake is filled.

One PutRecords call per batch rather than Powertools' per-record handler: the point of
batching here is one Kinesis call, and PutRecords reports per-record failures, which
map one-to-one onto SQS partial batch failures.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecomshop.config import client, env
from ecomshop.observability import instrumented, logger


def _record(body: str) -> dict[str, Any]:
    event = json.loads(body)
    order_id = str(event.get("detail", {}).get("orderId", event.get("id", "unknown")))
    return {"Data": (json.dumps(event, separators=(",", ":")) + "\n").encode(), "PartitionKey": order_id}


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    failures: list[dict[str, str]] = []
    entries: list[tuple[str, dict[str, Any]]] = []
    for r in records:
        try:
            entries.append((r["messageId"], _record(r["body"])))
        except (ValueError, TypeError, AttributeError):
            logger.error("analytics message is not an event; failing it", extra={"messageId": r.get("messageId")})
            failures.append({"itemIdentifier": r["messageId"]})
    if entries:
        response = client("kinesis").put_records(StreamName=env("ANALYTICS_STREAM"),
                                                 Records=[rec for _, rec in entries])
        for (message_id, _), result in zip(entries, response["Records"], strict=True):
            if result.get("ErrorCode"):
                failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
