"""Order reconciliation: every order a run created, accounted for.

Each accepted order is in exactly one class: completed, cancelled (by reason),
dead-lettered (not terminal, and a DLQ holds a message about it), in flight (not
terminal, nothing dead-lettered: still moving or waiting), or lost (the API accepted
it and the orders table has no such order). Lost must be 0; lost ids are listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecomctl.reads import Reader

TERMINAL = ("COMPLETED", "CANCELLED")
EXPECTED = {"good": "COMPLETED", "out_of_stock": "CANCELLED", "declined": "CANCELLED"}


@dataclass
class Reconciliation:
    accepted: int = 0
    completed: int = 0
    cancelled: dict[str, int] = field(default_factory=dict)  # reason -> count
    in_flight: dict[str, int] = field(default_factory=dict)  # status -> count
    dead_lettered: dict[str, int] = field(default_factory=dict)  # DLQ -> count
    lost_ids: list[str] = field(default_factory=list)
    unexpected: dict[str, int] = field(default_factory=dict)  # "good->CANCELLED" -> count
    scope: str = "run"  # "run": the ids the load created; "window": orders created since --since

    @property
    def lost(self) -> int:
        return len(self.lost_ids)

    def accounted(self) -> int:
        return (self.completed + sum(self.cancelled.values()) + sum(self.in_flight.values())
                + sum(self.dead_lettered.values()) + self.lost)

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "accepted": self.accepted, "completed": self.completed,
                "cancelled": sum(self.cancelled.values()), "cancelled_by_reason": self.cancelled,
                "in_flight": sum(self.in_flight.values()), "in_flight_by_status": self.in_flight,
                "dead_lettered": sum(self.dead_lettered.values()), "dead_lettered_by_queue": self.dead_lettered,
                "lost": self.lost, "lost_ids": self.lost_ids[:100], "accounted": self.accounted(),
                "unexpected_outcomes": self.unexpected}


def classify(orders: dict[str, str], found: dict[str, dict[str, str | None]], dead: dict[str, str],
             scope: str = "run") -> Reconciliation:
    """``orders``: id -> kind of order sent; ``found``: id -> status/reason; ``dead``: id -> DLQ."""
    rec = Reconciliation(accepted=len(orders), scope=scope)
    cancelled: Counter[str] = Counter()
    in_flight: Counter[str] = Counter()
    dead_lettered: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    for order_id, kind in orders.items():
        item = found.get(order_id)
        if item is None:
            rec.lost_ids.append(order_id)
            continue
        status = item.get("status") or "UNKNOWN"
        if status == "COMPLETED":
            rec.completed += 1
        elif status == "CANCELLED":
            cancelled[item.get("reason") or "(no reason)"] += 1
        elif order_id in dead:
            dead_lettered[dead[order_id]] += 1
        else:
            in_flight[status] += 1
        expected = EXPECTED.get(kind)
        if expected and status in TERMINAL and status != expected:
            unexpected[f"{kind}->{status}"] += 1
    rec.cancelled, rec.in_flight = dict(cancelled), dict(in_flight)
    rec.dead_lettered, rec.unexpected = dict(dead_lettered), dict(unexpected)
    rec.lost_ids.sort()
    return rec


def reconcile(reader: Reader, orders: dict[str, str]) -> Reconciliation:
    found = reader.orders_by_id(sorted(orders))
    pending = [i for i in orders if (found.get(i) or {}).get("status") not in TERMINAL]
    dead = reader.dead_lettered_order_ids() if pending else {}
    return classify(orders, found, dead)


def settle(reader: Reader, orders: dict[str, str], timeout_s: float, progress: Callable[[int, int], None],
           sleep: Callable[[float], None], clock: Callable[[], float]) -> Reconciliation:
    """Wait (bounded) until no order is in flight, then reconcile."""
    deadline = clock() + timeout_s
    while True:
        rec = reconcile(reader, orders)
        moving = sum(rec.in_flight.values())
        progress(rec.accepted - moving, rec.accepted)
        if moving == 0 or clock() >= deadline:
            return rec
        sleep(2.0)


def window_orders(reader: Reader, since_iso: str) -> Reconciliation:
    """Without a run: the orders created since ``since_iso`` (none can be known lost)."""
    found = reader.orders_created_since(since_iso)
    pending = [i for i, v in found.items() if v.get("status") not in TERMINAL]
    dead = reader.dead_lettered_order_ids() if pending else {}
    return classify(dict.fromkeys(found, "unknown"), found, dead, scope="window")
