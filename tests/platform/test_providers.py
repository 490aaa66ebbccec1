"""The simulated providers' own guarantees (what the handlers build on)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecomshop.providers import inventory, payment
from ecomshop.providers.errors import OutOfStock, UnknownSku


def test_reserve_is_all_or_nothing_and_a_replay_reserves_nothing_more(platform):
    items = [{"sku": "SKU-0100", "quantity": 5}, {"sku": "SKU-0100", "quantity": 2}, {"sku": "SKU-0101", "quantity": 1}]
    first = inventory.reserve("o-1", items)
    again = inventory.reserve("o-1", items)
    assert first["reserved"] == again["reserved"] == {"SKU-0100": 7, "SKU-0101": 1}
    assert inventory.available("SKU-0100") == 10_000 - 7
    with pytest.raises(OutOfStock, match="SKU-0666"):
        inventory.reserve("o-2", [{"sku": "SKU-0100", "quantity": 1}, {"sku": "SKU-0666", "quantity": 1}])
    assert inventory.available("SKU-0100") == 10_000 - 7
    with pytest.raises(UnknownSku):
        inventory.reserve("o-3", [{"sku": "BOGUS", "quantity": 1}])


def test_release_gives_stock_back_once(platform):
    inventory.reserve("o-1", [{"sku": "SKU-0200", "quantity": 3}])
    assert inventory.release("o-1")["released"] == {"SKU-0200": 3}
    assert inventory.release("o-1")["released"] == {}
    assert inventory.available("SKU-0200") == 10_000


def test_an_idempotency_key_makes_one_charge_without_it_every_call_charges(platform):
    args = {"order_id": "o-1", "customer_id": "c", "amount": Decimal("5.00"), "currency": "USD"}
    assert payment.charge(**args, idempotency_key="o-1") == payment.charge(**args, idempotency_key="o-1")
    assert len(payment.charges("o-1")) == 1
    payment.charge(**{**args, "order_id": "o-2"})
    payment.charge(**{**args, "order_id": "o-2"})
    assert len(payment.charges("o-2")) == 2  # why the payment handler always sends a key
    assert len(payment.refund("o-2")["refunded"]) == 2
    assert payment.refund("o-2")["refunded"] == []
