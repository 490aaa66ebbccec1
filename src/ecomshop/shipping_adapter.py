"""The tolerant reader between the shipping provider and the saga.

It knows the provider's v1 and v2 contracts and maps both onto one Shipment; anything
else raises UnknownContract with a reason precise enough to act on, so the handler can
park the message instead of guessing (or silently dropping it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ecomshop.providers.errors import UnknownContract

# The contracts this adapter maps: the partner registration follows the partner only to these.
KNOWN_CONTRACTS = ("v1", "v2")


class Shipment(BaseModel):
    trackingNumber: str
    carrier: str
    contract: str


class _V1(BaseModel):
    trackingNumber: str
    carrier: str


class _V2Tracking(BaseModel):
    id: str


class _V2Carrier(BaseModel):
    name: str


class _V2Shipment(BaseModel):
    tracking: _V2Tracking
    carrier: _V2Carrier


class _V2(BaseModel):
    apiVersion: str
    shipment: _V2Shipment


def to_shipment(answer: Any) -> Shipment:
    if not isinstance(answer, dict):
        raise UnknownContract(f"shipping answer is not an object: {type(answer).__name__}")
    version = str(answer.get("apiVersion", "1"))
    try:
        if version == "1":
            v1 = _V1.model_validate(answer)
            return Shipment(trackingNumber=v1.trackingNumber, carrier=v1.carrier, contract="v1")
        if version == "2":
            v2 = _V2.model_validate(answer)
            return Shipment(trackingNumber=v2.shipment.tracking.id, carrier=v2.shipment.carrier.name, contract="v2")
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise UnknownContract(f"shipping answer v{version} is missing or malformed: {fields}") from None
    raise UnknownContract(f"shipping provider answered with unknown contract apiVersion={version!r}")
