"""Simulated inventory provider: stock per SKU and one reservation per order.

Stock items are created lazily from the catalog (no seeding of 999 SKUs): the first
reservation of a SKU starts from its initial stock. Reserve and release are single
DynamoDB transactions, so a multi-item order is all-or-nothing and a replay is harmless.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ecomshop import faults
from ecomshop.config import client, env, table
from ecomshop.observability import tracer
from ecomshop.providers.catalog import initial_stock, known_sku
from ecomshop.providers.errors import OutOfStock, UnknownSku


def _table() -> Any:
    return table(env("PROVIDERS_TABLE"))


def _reservation_key(order_id: str) -> dict[str, str]:
    return {"pk": f"RESERVATION#{order_id}", "sk": "RESERVATION"}


def _quantities(items: list[dict[str, Any]]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in items:
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + int(item["quantity"])
    return wanted


@tracer.capture_method(capture_response=False)
def reserve(order_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Reserve every line or none. Answers ``{"reserved": {sku: qty}, "remaining": {sku: n}}``."""
    flag = faults.inject("inventory.reserve")
    wanted = _quantities(items)
    unknown = sorted(s for s in wanted if not known_sku(s))
    if unknown:
        raise UnknownSku(f"unknown SKU: {', '.join(unknown)}")
    if flag is not None and flag.effect == "inconsistent":
        # The provider lies: it confirms a reservation yet reports negative stock and
        # quantities that do not match the request, and reserves nothing.
        return {"reserved": {s: q + 1 for s, q in wanted.items()}, "remaining": {s: -q for s, q in wanted.items()}}
    transact = []
    for sku, qty in sorted(wanted.items()):
        transact.append(
            {
                "Update": {
                    "TableName": env("PROVIDERS_TABLE"),
                    "Key": {"pk": {"S": f"STOCK#{sku}"}, "sk": {"S": "STOCK"}},
                    "UpdateExpression": "SET available = if_not_exists(available, :initial) - :q",
                    "ConditionExpression": "(attribute_not_exists(available) AND :initial >= :q) OR available >= :q",
                    "ExpressionAttributeValues": {":q": {"N": str(qty)}, ":initial": {"N": str(initial_stock(sku))}},
                }
            }
        )
    transact.append(
        {
            "Put": {
                "TableName": env("PROVIDERS_TABLE"),
                "Item": {
                    **{k: {"S": v} for k, v in _reservation_key(order_id).items()},
                    "lines": {"M": {s: {"N": str(q)} for s, q in wanted.items()}},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    )
    try:
        client("dynamodb").transact_write_items(TransactItems=transact)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons", [])
        if reasons and reasons[-1].get("Code") == "ConditionalCheckFailed":
            # The reservation exists (a replay, or a concurrent one won): answer with it.
            return {"reserved": reservation(order_id) or {}, "remaining": {}, "replayed": True}
        short = [sku for (sku, _), r in zip(sorted(wanted.items()), reasons, strict=False)
                 if r.get("Code") == "ConditionalCheckFailed"]
        raise OutOfStock(f"out of stock: {', '.join(short) or 'one or more items'}") from None
    remaining = {sku: available(sku) for sku in wanted}
    return {"reserved": wanted, "remaining": remaining}


@tracer.capture_method(capture_response=False)
def release(order_id: str) -> dict[str, Any]:
    """Give a reservation's stock back; releasing twice (or nothing) is a no-op."""
    faults.inject("inventory.release")
    existing = _table().get_item(Key=_reservation_key(order_id), ConsistentRead=True).get("Item")
    if not existing:
        return {"released": {}}
    lines = {sku: int(q) for sku, q in existing["lines"].items()}
    transact: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": env("PROVIDERS_TABLE"),
                "Key": {"pk": {"S": f"STOCK#{sku}"}, "sk": {"S": "STOCK"}},
                "UpdateExpression": "SET available = available + :q",
                "ExpressionAttributeValues": {":q": {"N": str(q)}},
            }
        }
        for sku, q in sorted(lines.items())
    ]
    transact.append(
        {
            "Delete": {
                "TableName": env("PROVIDERS_TABLE"),
                "Key": {k: {"S": v} for k, v in _reservation_key(order_id).items()},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
    )
    try:
        client("dynamodb").transact_write_items(TransactItems=transact)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return {"released": {}}  # a concurrent release already gave it back
    return {"released": lines}


def available(sku: str) -> int:
    item = _table().get_item(Key={"pk": f"STOCK#{sku}", "sk": "STOCK"}, ConsistentRead=True).get("Item")
    return int(item["available"]) if item else initial_stock(sku)


def reservation(order_id: str) -> dict[str, int] | None:
    item = _table().get_item(Key=_reservation_key(order_id), ConsistentRead=True).get("Item")
    return {k: int(v) for k, v in item["lines"].items()} if item else None

