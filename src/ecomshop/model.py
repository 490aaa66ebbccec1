"""The order contract: API input, statuses and the lifecycle's allowed moves."""

from __future__ import annotations

import re
from decimal import Context, Decimal, DecimalException
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints


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

# What DynamoDB can store as a number (boto3 serializes through this same context):
# at most 38 significant digits, magnitude within 1E-130 .. 9.99E+125.
_DYNAMODB_NUMBERS = Context(prec=38, Emin=-128, Emax=126)
_SURROGATE = re.compile("[\ud800-\udfff]")
DOCUMENT_MAX_DEPTH = 8
DOCUMENT_MAX_ENTRIES = 200
DOCUMENT_MAX_STRING = 1024


def _number(value: object) -> object:
    """A JSON number only: no strings, no booleans (True is an int to Python), no NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


def _storable_number(number: Decimal, where: str) -> Decimal:
    if not number.is_finite():
        raise ValueError(f"{where}: must be a finite number")
    if number.is_zero():
        return Decimal(0)
    if len(number.as_tuple().digits) > 38 or not -130 <= number.adjusted() <= 125:
        raise ValueError(f"{where}: number out of range (at most 38 digits, magnitude 1E-130..1E+125)")
    try:
        return _DYNAMODB_NUMBERS.create_decimal(number)
    except DecimalException as exc:  # pragma: no cover - the checks above already bound it
        raise ValueError(f"{where}: number out of range") from exc


def _json_document(value: dict[str, Any]) -> dict[str, Any]:
    """A free-form object that DynamoDB and the bus can carry unchanged.

    Walked iteratively (no recursion): bounded depth, entry count and string length;
    numbers DynamoDB can store (floats become Decimals); no lone surrogates, which
    cannot be encoded as UTF-8.
    """
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Any, str | int, str, int]] = [(v, root, k, str(k), 1) for k, v in value.items()]
    entries = 0
    while stack:
        item, parent, slot, where, depth = stack.pop()
        entries += 1
        if entries > DOCUMENT_MAX_ENTRIES:
            raise ValueError(f"too many entries (at most {DOCUMENT_MAX_ENTRIES})")
        if depth > DOCUMENT_MAX_DEPTH:
            raise ValueError(f"{where}: nested too deeply (at most {DOCUMENT_MAX_DEPTH} levels)")
        if isinstance(slot, str) and (not slot or len(slot) > 64 or _SURROGATE.search(slot)):
            raise ValueError(f"{where[:80]}: keys must be 1..64 characters of valid unicode")
        converted: Any
        if item is None or isinstance(item, bool):
            converted = item
        elif isinstance(item, str):
            if len(item) > DOCUMENT_MAX_STRING or _SURROGATE.search(item):
                raise ValueError(f"{where}: must be valid unicode of at most {DOCUMENT_MAX_STRING} characters")
            converted = item
        elif isinstance(item, int | float | Decimal):
            converted = _storable_number(Decimal(str(item)) if isinstance(item, float) else Decimal(item), where)
        elif isinstance(item, dict):
            converted = {}
            stack.extend((v, converted, k, f"{where}.{k}", depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            converted = [None] * len(item)
            stack.extend((v, converted, i, f"{where}.{i}", depth + 1) for i, v in enumerate(item))
        else:
            raise ValueError(f"{where}: unsupported value type {type(item).__name__}")
        parent[slot] = converted
    return root


Price = Annotated[Decimal, BeforeValidator(_number), Field(gt=0, max_digits=12, decimal_places=2)]
Document = Annotated[dict[str, Any], AfterValidator(_json_document)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    # strict: 1.5, "2" and true are refused rather than coerced.
    quantity: int = Field(ge=1, le=100, strict=True)
    unitPrice: Price  # a JSON number: "9.99" and true are refused


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customerId: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    items: list[Item] = Field(min_length=1, max_length=50)
    currency: Currency = "USD"
    shippingAddress: Document | None = None

    def total(self) -> Decimal:
        return sum((i.unitPrice * i.quantity for i in self.items), Decimal(0))
