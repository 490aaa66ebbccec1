"""notify queue -> one SNS message per customer-visible transition (the rule filters)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecomshop.config import client, env
from ecomshop.handlers._sqs_tasks import processor
from ecomshop.observability import correlate, instrumented, tracer


def notify(record: SQSRecord) -> None:
    event = json.loads(record.body)
    detail = event["detail"]
    correlate(detail["orderId"])
    if detail.get("at"):
        # The course's bar is a notification within 30 s of the transition it reports:
        # the trace carries the transition's time so that delay can be measured.
        tracer.put_annotation("transition_at", detail["at"])
    message = {"orderId": detail["orderId"], "status": detail["status"], "reason": detail.get("reason"),
               "customerId": detail.get("customerId"), "at": detail.get("at")}
    client("sns").publish(
        TopicArn=env("NOTIFY_TOPIC_ARN"),
        Subject=f"Order {detail['orderId']} {detail['status']}"[:100],
        Message=json.dumps(message),
        MessageAttributes={"status": {"DataType": "String", "StringValue": detail["status"]}},
    )


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=notify, processor=processor(), context=context)
