"""The saga's synchronous steps (Lambda tasks): validate, complete, and the compensations.

Input is ``{"orderId": ...}`` (CancelOrder also gets the caught ``error``). A raised
business error's class name becomes the Step Functions error name.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ecomshop.model import Status
from ecomshop.observability import MetricUnit, correlate, instrumented, metrics
from ecomshop.orders import store
from ecomshop.providers import inventory, payment
from ecomshop.providers.catalog import known_sku
from ecomshop.providers.errors import UnknownSku


class OrderInvalid(Exception):
    pass


def _order_id(event: dict[str, Any]) -> str:
    order_id = str(event["orderId"])
    correlate(order_id)
    return order_id


@instrumented
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = _order_id(event)
    order = store.get(order_id)
    unknown = sorted({i["sku"] for i in order["items"] if not known_sku(i["sku"])})
    if unknown:
        raise UnknownSku(f"unknown SKU: {', '.join(unknown)}")
    if not order["items"] or order["total"] <= 0:
        raise OrderInvalid("order has no billable items")
    store.transition(order_id, Status.VALIDATED)
    return {"valid": True}


@instrumented
def complete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = _order_id(event)
    if store.transition(order_id, Status.COMPLETED):
        metrics.add_metric(name="OrdersCompleted", unit=MetricUnit.Count, value=1)
    return {"status": Status.COMPLETED.value}


@instrumented
def release_inventory(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = _order_id(event)
    released = inventory.release(order_id)["released"]
    if released:
        store.transition(order_id, Status.INVENTORY_RELEASED)
    return {"released": released}


@instrumented
def refund_payment(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = _order_id(event)
    refunded = payment.refund(order_id)["refunded"]
    if refunded:
        store.transition(order_id, Status.PAYMENT_REFUNDED)
    return {"refunded": refunded}


@instrumented
def cancel_order(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = _order_id(event)
    error = event.get("error") or {}
    reason = reason_from_error(error, store.get(order_id).get("lastFailure"))
    if store.transition(order_id, Status.CANCELLED, reason=reason):
        metrics.add_metric(name="OrdersCancelled", unit=MetricUnit.Count, value=1)
    return {"status": Status.CANCELLED.value, "reason": reason}


_STATES_ERRORS = {
    "States.Timeout": "a provider did not answer in time",
    "States.TaskFailed": "a saga step failed",
}


def reason_from_error(error: dict[str, Any], last_failure: dict[str, Any] | None = None) -> str:
    """A one-line reason from a Catch's ``{"Error", "Cause"}``, or from the failure the
    consumer recorded when the cause did not travel with the error."""
    name = str(error.get("Error", "")) or "unknown error"
    cause = error.get("Cause")
    if not cause and last_failure and last_failure.get("error") == name:
        cause = last_failure.get("reason")
    if isinstance(cause, str) and cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause.splitlines()[0][:500]
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            return str(parsed["errorMessage"]).splitlines()[0][:500]
    return _STATES_ERRORS.get(name, name)
