"""saga-start queue -> one Step Functions execution per order, named by the order id.

The name makes a duplicate start harmless: a redelivered "Order Placed" gets
ExecutionAlreadyExists, which is success here.
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
from ecomshop.observability import correlate, instrumented, logger


def start(record: SQSRecord) -> None:
    event = json.loads(record.body)
    order_id = event["detail"]["orderId"]
    correlate(order_id)
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=env("SAGA_STATE_MACHINE_ARN"), name=order_id, input=json.dumps({"orderId": order_id})
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        logger.info("saga already started for this order")


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=start, processor=processor(), context=context)
