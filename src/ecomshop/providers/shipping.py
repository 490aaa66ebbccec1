"""Simulated shipping provider, which may change its response contract under chaos.

v1 (default): ``{"trackingNumber": "...", "carrier": "..."}``
v2 (a ``contract`` flag with ``"version": "v2"``):
``{"apiVersion": "2", "shipment": {"tracking": {"id": "..."}, "carrier": {"name": "..."}}}``
Any other version answers ``{"apiVersion": <version>, "data": ...}``, which no adapter knows.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from ecomshop import faults
from ecomshop.config import env, table
from ecomshop.observability import tracer
from ecomshop.providers.catalog import UNDELIVERABLE_COUNTRIES
from ecomshop.providers.errors import ShippingRejected

CARRIER = "ACME Freight"


def _table() -> Any:
    return table(env("PROVIDERS_TABLE"))


@tracer.capture_method(capture_response=False)
def book(order_id: str, address: dict[str, Any] | None) -> dict[str, Any]:
    flag = faults.inject("shipping.book")
    country = str((address or {}).get("country", "")).upper()
    if country in UNDELIVERABLE_COUNTRIES:
        raise ShippingRejected(f"cannot deliver to country {country}")
    tracking = f"TRK{uuid.uuid4().hex[:12].upper()}"
    item = {"pk": f"SHIPMENT#{order_id}", "sk": "SHIPMENT", "trackingNumber": tracking, "carrier": CARRIER}
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        item = _table().get_item(Key={"pk": item["pk"], "sk": "SHIPMENT"}, ConsistentRead=True)["Item"]
    version = (flag.version or "v2") if flag is not None and flag.effect == "contract" else "v1"
    if version == "v1":
        return {"trackingNumber": item["trackingNumber"], "carrier": item["carrier"]}
    if version == "v2":
        return {"apiVersion": "2", "shipment": {"tracking": {"id": item["trackingNumber"]},
                                                "carrier": {"name": item["carrier"]}}}
    return {"apiVersion": version.lstrip("v"), "data": {"ref": item["trackingNumber"]}}
