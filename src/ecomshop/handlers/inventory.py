"""inventory queue -> reserve stock for a saga task, behind a circuit breaker.

A contradictory or failed answer counts against the breaker and tells the saga
``InventoryUnavailable`` (it retries with backoff, then cancels with that reason); while
the breaker is open the provider is not called at all and the order shows
AWAITING_INVENTORY. Out-of-stock and unknown SKUs are business answers: the provider
worked, so they count as successes for the breaker.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecomshop.breaker import BreakerOpen, CircuitBreaker
from ecomshop.faults import ProviderUnavailable
from ecomshop.handlers import _sqs_tasks as tasks
from ecomshop.model import Status
from ecomshop.observability import instrumented
from ecomshop.orders import store
from ecomshop.providers import inventory
from ecomshop.providers.errors import BusinessError, InconsistentAnswer

PROVIDER = "inventory"


def check_consistent(wanted: dict[str, int], answer: dict[str, Any]) -> None:
    reserved = {k: int(v) for k, v in answer.get("reserved", {}).items()}
    if reserved != wanted:
        raise InconsistentAnswer(f"provider reserved {reserved}, asked for {wanted}")
    negative = {k: v for k, v in answer.get("remaining", {}).items() if int(v) < 0}
    if negative:
        raise InconsistentAnswer(f"provider reports negative stock {negative}")


def reserve(record: SQSRecord) -> None:
    opened = tasks.open_task(record)
    if opened is None:
        return
    task, order = opened
    breaker = CircuitBreaker(PROVIDER)
    wanted: dict[str, int] = {}
    for item in order["items"]:
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + int(item["quantity"])
    try:
        seen = breaker.before_call()
    except BreakerOpen as exc:
        _unavailable(task, f"inventory provider unavailable ({exc}); retrying")
        return
    try:
        answer = inventory.reserve(task.order_id, order["items"])
        check_consistent(wanted, answer)
    except (ProviderUnavailable, InconsistentAnswer) as exc:
        breaker.record_failure()
        _unavailable(task, f"inventory provider unavailable: {exc}")
        return
    except BusinessError as exc:
        breaker.record_success(seen)
        tasks.fail(task, type(exc).__name__, str(exc))
        return
    breaker.record_success(seen)
    store.transition(task.order_id, Status.INVENTORY_RESERVED)
    tasks.succeed(task, {"reserved": answer["reserved"]})


def _unavailable(task: tasks.Task, reason: str) -> None:
    store.transition(task.order_id, Status.AWAITING_INVENTORY, reason=reason)
    tasks.fail(task, "InventoryUnavailable", reason)


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=reserve, processor=tasks.processor(), context=context)
