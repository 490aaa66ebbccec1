"""Failure behaviour: provider outages, the circuit breaker, contract changes, flags."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ecomshop.breaker import CircuitBreaker, State
from ecomshop.providers import payment


def in_(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_payment_outage_leaves_orders_waiting_then_all_complete_once(platform):
    platform.set_flag("payment", {"effect": "error", "rate": 1.0, "expires_at": in_(120)})
    ids = [platform.place(customer=f"cust-{i}") for i in range(3)]
    platform.drain(until=lambda: all(platform.order(i)["status"] == "AWAITING_PAYMENT" for i in ids), timeout=60)
    assert all(payment.charges(i) == [] for i in ids)
    assert platform.queue_depths()["payment"] == 3  # queued, not failed
    platform.clear_flag("payment")
    orders = platform.wait_terminal(ids, timeout=90)
    assert {o["status"] for o in orders.values()} == {"COMPLETED"}
    assert all(len(payment.charges(i)) == 1 for i in ids)
    assert platform.queue_depths()["payment-dlq"] == 0


def test_breaker_opens_on_inconsistent_inventory_and_closes_after_recovery(platform, monkeypatch):
    monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("BREAKER_RESET_TIMEOUT_S", "1")
    breaker = CircuitBreaker("inventory")
    platform.set_flag("inventory.reserve", {"effect": "inconsistent", "rate": 1.0, "expires_at": in_(120)})
    ids = [platform.place(customer=f"cust-{i}") for i in range(3)]
    platform.drain(until=lambda: breaker.state() is State.OPEN, timeout=60)
    waiting = [platform.order(i)["status"] for i in ids]
    assert "AWAITING_INVENTORY" in waiting and "INVENTORY_RESERVED" not in waiting
    platform.clear_flag("inventory.reserve")
    orders = platform.wait_terminal(ids, timeout=120)
    assert {o["status"] for o in orders.values()} == {"COMPLETED"}
    assert breaker.state() is State.CLOSED


def test_v2_shipping_contract_is_understood(platform):
    platform.set_flag("shipping.book", {"effect": "contract", "version": "v2", "rate": 1.0, "expires_at": in_(120)})
    order_id = platform.place()
    assert platform.wait_terminal([order_id])[order_id]["status"] == "COMPLETED"
    sfn = platform.client("stepfunctions")
    [execution] = sfn.list_executions(stateMachineArn=platform.resources.resolve("statemachine:saga:arn"))["executions"]
    described: dict = {}
    platform.drain(until=lambda: described.update(sfn.describe_execution(executionArn=execution["executionArn"]))
                   or described["status"] != "RUNNING", timeout=30)
    output = json.loads(described["output"])
    assert output["shipment"]["contract"] == "v2"
    assert output["shipment"]["trackingNumber"].startswith("TRK")


def test_unknown_shipping_contract_parks_the_message_with_a_reason_and_redrive_resumes(platform):
    platform.set_flag("shipping.book", {"effect": "contract", "version": "v9", "rate": 1.0, "expires_at": in_(120)})
    order_id = platform.place()
    platform.drain(until=lambda: platform.order(order_id)["status"] == "SHIPPING_ON_HOLD", timeout=60)
    order = platform.order(order_id)
    assert "unknown contract" in order["reason"]
    sqs = platform.client("sqs")
    dlq = platform.resources.queue_url("shipping-dlq")
    [parked] = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert "unknown contract" in parked["MessageAttributes"]["reason"]["StringValue"]
    # the provider is fixed; an operator redrives the parked message and the order resumes
    platform.clear_flag("shipping.book")
    sqs.send_message(QueueUrl=platform.resources.queue_url("shipping"), MessageBody=parked["Body"])
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=parked["ReceiptHandle"])
    assert platform.wait_terminal([order_id])[order_id]["status"] == "COMPLETED"


BROKEN_FLAGS = {
    "malformed-json": "{not json",
    "not-an-object": json.dumps(["error"]),
    "no-expiry": json.dumps({"effect": "error", "rate": 1.0}),
    "bad-expiry": json.dumps({"effect": "error", "rate": 1.0, "expires_at": "yesterday"}),
    "bad-rate": json.dumps({"effect": "error", "rate": 7, "expires_at": "2999-01-01T00:00:00Z"}),
    "bad-effect": json.dumps({"effect": "explode", "rate": 1.0, "expires_at": "2999-01-01T00:00:00Z"}),
    "expired": json.dumps({"effect": "error", "rate": 1.0, "expires_at": "2001-01-01T00:00:00Z"}),
}


@pytest.mark.parametrize("flag", BROKEN_FLAGS.values(), ids=BROKEN_FLAGS.keys())
def test_a_broken_or_expired_flag_is_no_flag(platform, flag):
    from ecomshop import faults

    platform.set_flag("payment.charge", flag)
    assert faults.active_flag("payment.charge") is None
    assert faults.inject("payment.charge") is None


def test_broken_flags_on_every_provider_break_no_handler(platform):
    for point, flag in zip(("payment", "inventory", "shipping", "payment.charge", "inventory.reserve",
                            "shipping.book", "halt"), BROKEN_FLAGS.values(), strict=True):
        platform.set_flag(point, flag)
    order_id = platform.place()
    assert platform.wait_terminal([order_id])[order_id]["status"] == "COMPLETED"


def test_halt_flag_and_kill_switch_turn_injection_off(platform, monkeypatch):
    from ecomshop import faults

    platform.set_flag("payment", {"effect": "error", "rate": 1.0, "expires_at": in_(120)})
    assert faults.active_flag("payment.charge") is not None
    platform.set_flag("halt", {"expires_at": in_(60)})
    assert faults.active_flag("payment.charge") is None
    platform.set_flag("halt", {"expires_at": in_(-60)})  # an expired halt no longer halts
    assert faults.active_flag("payment.charge") is not None
    monkeypatch.setenv("ECOMSHOP_CHAOS_DISABLED", "1")
    assert faults.active_flag("payment.charge") is None


def test_flags_are_cached_for_at_most_five_seconds(platform, monkeypatch):
    from ecomshop import faults

    platform.set_flag("payment", {"effect": "error", "rate": 1.0, "expires_at": in_(120)})
    assert faults.active_flag("payment.charge") is not None
    # delete behind the cache's back: still cached now, gone once the cache expires
    platform.client("ssm").delete_parameter(Name=f"{platform.topology.ssm_prefix}/payment")
    assert faults.active_flag("payment.charge") is not None
    from datetime import datetime as real_datetime

    class Later(real_datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return real_datetime.now(tz) + timedelta(seconds=faults.FLAG_CACHE_SECONDS + 1)

    # Powertools' parameter cache compares datetime.now() with each entry's expiry
    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.base.datetime", Later)
    assert faults.active_flag("payment.charge") is None
