"""What every saga task consumer shares: the task message, answering Step Functions,
and backing off a message that must come back later.

Consumers run under Powertools batch processing with partial batch failures, so one bad
message never returns its whole batch to the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from ecomshop.config import client
from ecomshop.observability import correlate, logger
from ecomshop.orders import store

# Retrying a transient provider failure sooner than the queue's visibility timeout:
# the message reappears after min(2^receives, cap) seconds.
BACKOFF_CAP_S = 20


@dataclass(frozen=True)
class Task:
    token: str
    order_id: str
    step: str

    @staticmethod
    def parse(record: SQSRecord) -> Task:
        body = json.loads(record.body)
        return Task(token=body["taskToken"], order_id=body["orderId"], step=body.get("step", ""))


def open_task(record: SQSRecord) -> tuple[Task, dict[str, Any]] | None:
    """The task and its order, or None when the order is already settled (a replay)."""
    task = Task.parse(record)
    correlate(task.order_id)
    order = store.get(task.order_id)
    return None if store.is_terminal(order) else (task, order)


def processor() -> BatchProcessor:
    # raise_on_entire_batch_failure=False: answer the failures explicitly even when all
    # fail; Lambda then retries exactly those (the same outcome, without an error metric).
    # logger: a failed record is logged with its traceback (Powertools' own warning), so the
    # logs say why a message came back after its visibility timeout.
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False,
                          logger=logger)  # type: ignore[arg-type]  # a Powertools Logger logs as logging.Logger does


def succeed(task: Task, output: dict[str, Any]) -> None:
    _answer(task, lambda: client("stepfunctions").send_task_success(
        taskToken=task.token, output=json.dumps(output, default=str)))


def fail(task: Task, error: str, cause: str) -> None:
    store.record_failure(task.order_id, error, cause)
    _answer(task, lambda: client("stepfunctions").send_task_failure(
        taskToken=task.token, error=error[:256], cause=cause[:32768]))


def _answer(task: Task, call: Any) -> None:
    try:
        call()
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            # The saga has moved on (timed out, or this is a replayed message): nothing waits.
            logger.warning("task token no longer valid", extra={"order_id": task.order_id, "code": code})
            return
        raise


@cache
def _queue_url(arn: str) -> str:
    name = arn.rsplit(":", 1)[-1]
    return str(client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def back_off(record: SQSRecord) -> None:
    """Make a message that is about to be reported as failed reappear after a backoff."""
    receives = int(record.attributes.approximate_receive_count or 1)
    delay = min(2**receives, BACKOFF_CAP_S)
    try:
        client("sqs").change_message_visibility(
            QueueUrl=_queue_url(record.event_source_arn), ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=delay,
        )
    except ClientError as exc:  # the queue's own visibility timeout still applies
        logger.warning("could not shorten the backoff", extra={"error": str(exc)})
