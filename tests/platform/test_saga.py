"""The whole saga on moto's Step Functions interpreter with the real handlers."""

from __future__ import annotations

from ecomshop.providers import inventory, payment


def statuses(order: dict) -> list[str]:
    return [h["status"] for h in order["history"]]


def test_good_order_completes_with_full_history(platform):
    order_id = platform.place(items=[{"sku": "SKU-0001", "quantity": 2, "unitPrice": 9.99},
                                     {"sku": "SKU-0002", "quantity": 1, "unitPrice": 5}])
    order = platform.wait_terminal([order_id])[order_id]
    assert order["status"] == "COMPLETED"
    assert statuses(order) == ["PENDING", "VALIDATED", "INVENTORY_RESERVED", "PAID", "SHIPPED", "COMPLETED"]
    assert inventory.available("SKU-0001") == 10_000 - 2
    charges = payment.charges(order_id)
    assert len(charges) == 1 and str(charges[0]["amount"]) == "24.98"
