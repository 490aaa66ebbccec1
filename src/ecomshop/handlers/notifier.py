"""notify queue -> one SNS message and one e-mail per customer-visible transition (the rule filters).

SNS is the channel of record: its failure fails the record (retried, then dead-lettered).
The e-mail (SES) is the second channel and best effort: a refused or throttled send is
logged and counted (``EmailNotSent``) but does not fail the record, since a retry would
publish the SNS message again. A sandbox SES account refuses unverified recipients.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from ecomshop.config import client, env
from ecomshop.handlers._sqs_tasks import processor
from ecomshop.observability import MetricUnit, correlate, instrumented, logger, metrics, tracer


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
    mail(message)


def mail(message: dict[str, Any]) -> None:
    sender, domain = env("NOTIFY_MAIL_FROM", ""), env("NOTIFY_MAIL_DOMAIN", "")
    customer = str(message.get("customerId") or "")
    if not (sender and domain and customer):
        return
    status = message["status"]
    lines = [f"Your order {message['orderId']} is {status}."]
    if message.get("reason"):
        lines.append(f"Reason: {message['reason']}")
    try:
        client("ses").send_email(
            Source=sender, Destination={"ToAddresses": [f"{customer}@{domain}"]},
            Message={"Subject": {"Data": f"Order {message['orderId']} {status}"[:100]},
                     "Body": {"Text": {"Data": "\n".join(lines)}}},
        )
    except ClientError as exc:
        metrics.add_metric(name="EmailNotSent", unit=MetricUnit.Count, value=1)
        logger.warning("notification e-mail not sent", extra={"orderId": message["orderId"],
                                                              "error": exc.response["Error"]["Code"]})


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=notify, processor=processor(), context=context)
