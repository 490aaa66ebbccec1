"""The Orders table: creation, guarded status transitions, and their events.

Each transition is one conditional update (status + history append) followed by an
"Order Status Changed" event. Replays are harmless: moving to the status an order is
already in, or moving a terminal order, changes nothing and emits nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ecomshop import events
from ecomshop.config import settings, table
from ecomshop.model import TERMINAL, OrderRequest, Status
from ecomshop.topology import ORDER_PLACED, ORDER_STATUS_CHANGED


class OrderNotFound(LookupError):
    pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _orders() -> Any:
    return table(settings().orders_table)


def create(request: OrderRequest, idempotency_key: str | None = None) -> dict[str, Any]:
    order_id = f"ord-{uuid.uuid4().hex[:20]}"
    at = now_iso()
    item: dict[str, Any] = {
        "orderId": order_id,
        "status": Status.PENDING.value,
        "customerId": request.customerId,
        "items": [i.model_dump() for i in request.items],
        "currency": request.currency,
        "total": request.total(),
        "history": [{"status": Status.PENDING.value, "at": at}],
        "createdAt": at,
        "updatedAt": at,
        "createdEpochMs": int(time.time() * 1000),
    }
    if request.shippingAddress is not None:
        item["shippingAddress"] = request.shippingAddress
    if idempotency_key:
        item["idempotencyKey"] = idempotency_key
    _orders().put_item(Item=item, ConditionExpression="attribute_not_exists(orderId)")
    events.publish(
        ORDER_PLACED,
        {
            "orderId": order_id,
            "customerId": request.customerId,
            "items": item["items"],
            "total": item["total"],
            "currency": request.currency,
            "status": Status.PENDING.value,
            "at": at,
        },
    )
    return item


def get(order_id: str) -> dict[str, Any]:
    found = _orders().get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
    if not found:
        raise OrderNotFound(order_id)
    return dict(found)


def transition(order_id: str, status: Status, reason: str | None = None) -> bool:
    """Move an order to ``status``; False if it was already there or is terminal."""
    at = now_iso()
    entry: dict[str, Any] = {"status": status.value, "at": at}
    if reason:
        entry["reason"] = reason
    names = {"#s": "status"}
    values: dict[str, Any] = {
        ":s": status.value,
        ":h": [entry],
        ":t": at,
        ":done": Status.COMPLETED.value,
        ":cancelled": Status.CANCELLED.value,
    }
    update = "SET #s = :s, history = list_append(history, :h), updatedAt = :t"
    if reason:
        update += ", reason = :r"
        values[":r"] = reason
    try:
        result = _orders().update_item(
            Key={"orderId": order_id},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(orderId) AND #s <> :s AND #s <> :done AND #s <> :cancelled",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        current = get(order_id)  # raises OrderNotFound for an unknown id
        if current["status"] == status.value or current["status"] in TERMINAL:
            return False
        raise
    previous = result["Attributes"]
    events.publish(
        ORDER_STATUS_CHANGED,
        {
            "orderId": order_id,
            "customerId": previous.get("customerId"),
            "status": status.value,
            "previousStatus": previous.get("status"),
            "reason": reason,
            "total": previous.get("total", Decimal(0)),
            "at": at,
            "placedAt": previous.get("createdAt"),
        },
    )
    return True


def record_failure(order_id: str, error: str, reason: str) -> None:
    """Remember why a step failed, for the compensation that follows.

    Step Functions carries a SendTaskFailure's cause into the Catch; moto's interpreter
    drops it, so CancelOrder falls back to this record when the cause is missing.
    """
    _orders().update_item(
        Key={"orderId": order_id},
        UpdateExpression="SET lastFailure = :f",
        ConditionExpression="attribute_exists(orderId)",
        ExpressionAttributeValues={":f": {"error": error, "reason": reason, "at": now_iso()}},
    )


def is_terminal(order: dict[str, Any]) -> bool:
    return Status(order["status"]) in TERMINAL


def public_view(order: dict[str, Any]) -> dict[str, Any]:
    """What GET /orders/{id} answers."""
    return {
        "orderId": order["orderId"],
        "status": order["status"],
        "history": [{"status": h["status"], "at": h["at"], **({"reason": h["reason"]} if "reason" in h else {})}
                    for h in order.get("history", [])],
        "reason": order.get("reason"),
        "customerId": order.get("customerId"),
        "total": str(order.get("total")) if order.get("total") is not None else None,
        "currency": order.get("currency"),
    }
