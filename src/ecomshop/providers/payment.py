"""Simulated payment provider: charges and refunds, with Stripe-style idempotency keys.

A charge made with an idempotency key is recorded once per key; a charge without one
is a new charge every time (which is why the payment handler always sends one).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ecomshop import faults
from ecomshop.config import env, table
from ecomshop.observability import tracer
from ecomshop.providers.catalog import DECLINED_CUSTOMERS
from ecomshop.providers.errors import PaymentDeclined


def _table() -> Any:
    return table(env("PROVIDERS_TABLE"))


@tracer.capture_method(capture_response=False)
def charge(order_id: str, customer_id: str, amount: Decimal, currency: str,
           idempotency_key: str | None = None) -> dict[str, Any]:
    faults.inject("payment.charge")
    if customer_id in DECLINED_CUSTOMERS:
        raise PaymentDeclined(f"card declined for customer {customer_id}")
    sk = f"KEY#{idempotency_key}" if idempotency_key else f"CHARGE#{uuid.uuid4().hex}"
    item = {
        "pk": f"CHARGE#{order_id}", "sk": sk, "chargeId": f"ch_{uuid.uuid4().hex[:16]}",
        "amount": amount, "currency": currency, "state": "CAPTURED",
    }
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        item = _table().get_item(Key={"pk": item["pk"], "sk": sk}, ConsistentRead=True)["Item"]
    return {"chargeId": item["chargeId"], "amount": str(item["amount"]), "currency": item["currency"]}


@tracer.capture_method(capture_response=False)
def refund(order_id: str) -> dict[str, Any]:
    """Refund every captured charge of an order; a second refund finds nothing to do."""
    faults.inject("payment.refund")
    refunded = []
    for c in charges(order_id):
        if c["state"] != "CAPTURED":
            continue
        try:
            _table().update_item(
                Key={"pk": c["pk"], "sk": c["sk"]},
                UpdateExpression="SET #s = :r",
                ConditionExpression="#s = :c",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":r": "REFUNDED", ":c": "CAPTURED"},
            )
            refunded.append(c["chargeId"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return {"refunded": refunded}


def charges(order_id: str) -> list[dict[str, Any]]:
    """Every charge the provider holds for an order (the ledger tests and chaos read)."""
    response = _table().query(KeyConditionExpression=Key("pk").eq(f"CHARGE#{order_id}"), ConsistentRead=True)
    return list(response.get("Items", []))
