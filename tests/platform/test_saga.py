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


def test_out_of_stock_order_is_cancelled_and_nothing_stays_reserved(platform):
    order_id = platform.place(items=[{"sku": "SKU-0005", "quantity": 3, "unitPrice": 1},
                                     {"sku": "SKU-0404", "quantity": 1, "unitPrice": 1}])
    order = platform.wait_terminal([order_id])[order_id]
    assert order["status"] == "CANCELLED"
    assert "out of stock" in order["reason"] and "SKU-0404" in order["reason"]
    # all-or-nothing: the in-stock line was not taken either, and nothing was charged
    assert inventory.available("SKU-0005") == 10_000
    assert inventory.reservation(order_id) is None
    assert payment.charges(order_id) == []


def test_declined_payment_is_cancelled_and_inventory_released(platform):
    order_id = platform.place(customer="cust-declined",
                              items=[{"sku": "SKU-0007", "quantity": 4, "unitPrice": 2.5}])
    order = platform.wait_terminal([order_id])[order_id]
    assert order["status"] == "CANCELLED"
    assert "declined" in order["reason"]
    assert statuses(order)[-2:] == ["INVENTORY_RELEASED", "CANCELLED"]
    assert "INVENTORY_RESERVED" in statuses(order)
    assert inventory.available("SKU-0007") == 10_000
    assert payment.charges(order_id) == []


def test_unknown_sku_is_cancelled_with_reason(platform):
    order_id = platform.place(items=[{"sku": "SKU-9999", "quantity": 1, "unitPrice": 1}])
    order = platform.wait_terminal([order_id])[order_id]
    assert order["status"] == "CANCELLED"
    assert order["reason"].startswith("unknown SKU")


def test_shipping_rejection_refunds_and_releases_in_reverse_order(platform):
    order_id = platform.place(items=[{"sku": "SKU-0009", "quantity": 1, "unitPrice": 30}],
                              address={"country": "AQ"})
    order = platform.wait_terminal([order_id])[order_id]
    assert order["status"] == "CANCELLED"
    assert statuses(order)[-3:] == ["PAYMENT_REFUNDED", "INVENTORY_RELEASED", "CANCELLED"]
    [charge] = payment.charges(order_id)
    assert charge["state"] == "REFUNDED"
    assert inventory.available("SKU-0009") == 10_000


def test_duplicate_order_placed_events_start_one_saga_and_charge_once(platform):
    order_id = platform.place()
    # the bus delivers at least once: replay the same "Order Placed" into the start queue
    sqs = platform.client("sqs")
    url = platform.resources.queue_url("saga-start")
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    order = platform.wait_terminal([order_id])[order_id]
    platform.drain()
    assert order["status"] == "COMPLETED"
    executions = platform.client("stepfunctions").list_executions(
        stateMachineArn=platform.resources.resolve("statemachine:saga:arn"))["executions"]
    assert [e["name"] for e in executions] == [order_id]
    assert len(payment.charges(order_id)) == 1
    assert platform.queue_depths()["saga-start-dlq"] == 0


def test_replayed_payment_task_does_not_charge_twice(platform):
    from ecomshop.handlers import payment as payment_handler
    from tests.platform_harness import sqs_event

    order_id = platform.place()
    platform.wait_terminal([order_id])
    body = {"taskToken": "stale-token", "orderId": order_id, "step": "pay"}
    # the order is terminal now; a replay must neither charge nor fail
    platform.host.invoke("payment", sqs_event(platform, "payment", [body]))
    assert len(payment.charges(order_id)) == 1
    # and the charge logic itself is idempotent per order even for a live order
    charge_once = payment_handler._idempotent_charge(payment_handler.env("IDEMPOTENCY_TABLE"))
    fields = {"orderId": order_id, "customerId": "cust-1", "total": "19.98", "currency": "USD"}
    assert charge_once(order=fields) == charge_once(order=fields)
    assert len(payment.charges(order_id)) == 1
