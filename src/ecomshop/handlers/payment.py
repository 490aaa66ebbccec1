"""payment queue -> charge an order exactly once, retrying a flaky provider.

Two guards against a double charge: Powertools idempotency keyed by the order id (a
replayed task message returns the recorded charge without calling the provider), and
the provider's own idempotency key (the order id), as a real payment API offers.
A provider that stays down after the bounded retries leaves the message in the queue
with a backoff, so orders wait (AWAITING_PAYMENT) instead of failing.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from ecomshop.config import env
from ecomshop.faults import ProviderUnavailable
from ecomshop.handlers import _sqs_tasks as tasks
from ecomshop.model import Status
from ecomshop.observability import MetricUnit, instrumented, logger, metrics
from ecomshop.orders import store
from ecomshop.providers import payment
from ecomshop.providers.errors import PaymentDeclined

ATTEMPTS = 3


def _count_retry(state: RetryCallState) -> None:
    metrics.add_metric(name="PaymentRetries", unit=MetricUnit.Count, value=1)
    logger.info("payment provider failed; retrying", extra={"attempt": state.attempt_number})


@retry(
    retry=retry_if_exception_type(ProviderUnavailable),
    stop=stop_after_attempt(ATTEMPTS),
    wait=wait_random_exponential(multiplier=0.05, max=0.5),
    before_sleep=_count_retry,
    reraise=True,
)
def _charge_with_retries(order: dict[str, Any]) -> dict[str, Any]:
    return payment.charge(
        order_id=order["orderId"], customer_id=order["customerId"], amount=Decimal(str(order["total"])),
        currency=order.get("currency", "USD"), idempotency_key=order["orderId"],
    )


_CONFIG = IdempotencyConfig(event_key_jmespath="orderId", expires_after_seconds=24 * 3600)


@cache
def _idempotent_charge(table_name: str) -> Any:
    config = _CONFIG
    persistence = DynamoDBPersistenceLayer(table_name=table_name)

    @idempotent_function(data_keyword_argument="order", config=config, persistence_store=persistence)
    def charge_once(order: dict[str, Any]) -> dict[str, Any]:
        return _charge_with_retries(order)

    return charge_once


def pay(record: SQSRecord) -> None:
    opened = tasks.open_task(record)
    if opened is None:
        return
    task, order = opened
    charge_once = _idempotent_charge(env("IDEMPOTENCY_TABLE"))
    key_fields = {"orderId": order["orderId"], "customerId": order["customerId"],
                  "total": str(order["total"]), "currency": order.get("currency", "USD")}
    try:
        charge = charge_once(order=key_fields)
    except PaymentDeclined as exc:
        tasks.fail(task, "PaymentDeclined", str(exc))
        return
    except ProviderUnavailable as exc:
        store.transition(task.order_id, Status.AWAITING_PAYMENT, reason=f"payment provider unavailable: {exc}")
        tasks.back_off(record)
        raise
    store.transition(task.order_id, Status.PAID)
    tasks.succeed(task, charge)


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # An in-progress charge record expires with this invocation's timeout, so a crash
    # mid-charge is retried on redelivery instead of blocking the order for a day.
    _CONFIG.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=pay, processor=tasks.processor(), context=context)
