"""shipping queue -> book the shipment through the tolerant adapter.

An answer in an unknown contract is parked: the message goes to the shipping DLQ with
the reason as a message attribute, the order shows SHIPPING_ON_HOLD with that reason,
and the saga keeps waiting on its token. Redriving the DLQ after a fix resumes the
order; the step's timeout cancels and compensates it otherwise. Never a silent drop.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecomshop.config import client, env
from ecomshop.faults import ProviderUnavailable
from ecomshop.handlers import _sqs_tasks as tasks
from ecomshop.model import Status
from ecomshop.observability import instrumented, logger
from ecomshop.orders import store
from ecomshop.providers import shipping
from ecomshop.providers.errors import ShippingRejected, UnknownContract
from ecomshop.shipping_adapter import to_shipment


def park(record: SQSRecord, reason: str) -> None:
    client("sqs").send_message(
        QueueUrl=env("SHIPPING_DLQ_URL"),
        MessageBody=record.body,
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason[:1024]},
            "parkedBy": {"DataType": "String", "StringValue": "shipping"},
        },
    )


def ship(record: SQSRecord) -> None:
    opened = tasks.open_task(record)
    if opened is None:
        return
    task, order = opened
    try:
        answer = shipping.book(task.order_id, order.get("shippingAddress"))
    except ShippingRejected as exc:
        tasks.fail(task, "ShippingRejected", str(exc))
        return
    except ProviderUnavailable:
        tasks.back_off(record)
        raise
    try:
        shipment = to_shipment(answer)
    except UnknownContract as exc:
        reason = f"shipping contract not understood: {exc}"
        logger.error("parking shipping message", extra={"reason": reason})
        park(record, reason)
        store.transition(task.order_id, Status.SHIPPING_ON_HOLD, reason=reason)
        return
    store.transition(task.order_id, Status.SHIPPED)
    tasks.succeed(task, shipment.model_dump())


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=ship, processor=tasks.processor(), context=context)
