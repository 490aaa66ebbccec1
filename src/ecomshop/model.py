"""The order contract: API input, statuses and the lifecycle's allowed moves."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Status(StrEnum):
    PENDING = "PENDING"
    VALIDATED = "VALIDATED"
    AWAITING_INVENTORY = "AWAITING_INVENTORY"
    INVENTORY_RESERVED = "INVENTORY_RESERVED"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAID = "PAID"
    SHIPPING_ON_HOLD = "SHIPPING_ON_HOLD"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    INVENTORY_RELEASED = "INVENTORY_RELEASED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({Status.COMPLETED, Status.CANCELLED})

Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(ge=1, le=100, strict=True)
    unitPrice: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customerId: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    items: list[Item] = Field(min_length=1, max_length=50)
    currency: Currency = "USD"
    shippingAddress: dict[str, object] | None = None

    def total(self) -> Decimal:
        return sum((i.unitPrice * i.quantity for i in self.items), Decimal(0))
