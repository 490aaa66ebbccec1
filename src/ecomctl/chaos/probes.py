"""The probes a hypothesis is made of: each reads the platform through the read layer.

A probe is a function of the run (what it placed, wrote and set) and its ``params``; it
returns a value the file's tolerance (max, min, equals, one_of) is checked against. A new
scenario combines these in YAML; a new kind of observation is one function here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecomctl.chaos import lake
from ecomctl.chaos.driver import Traffic
from ecomctl.reads import Reader


@dataclass
class RunView:
    """What a probe may look at: the read layer and what this run did."""

    reader: Reader
    run_id: str
    traffic: Traffic = field(default_factory=Traffic)
    burst: lake.Burst | None = None
    cost: Any = None  # the experiment's CostSpec, for the cost probes
    _cache: dict[str, Any] = field(default_factory=dict)

    def run_orders(self) -> dict[str, dict[str, str | None]]:
        """Every order this run placed (answered 202, or created in the table under its keys)."""
        ids = set(self.traffic.orders)
        for order_ids in self.reader.orders_with_key_prefix(f"{self.run_id}-").values():
            ids |= order_ids
        found = self.reader.orders_by_id(sorted(ids))
        return {i: found.get(i, {"status": None, "reason": None}) for i in ids}


Probe = Callable[[RunView, dict[str, Any]], Any]
PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def add(fn: Probe) -> Probe:
        PROBES[name] = fn
        return fn
    return add


@probe("dlq_depth")
def _dlq_depth(view: RunView, params: dict[str, Any]) -> int:
    """Messages in the dead-letter queue of ``queue`` (all queues when absent)."""
    queue = params.get("queue")
    return sum(q.dlq for q in view.reader.queue_depths() if queue in (None, q.queue))


@probe("breaker_state")
def _breaker_state(view: RunView, params: dict[str, Any]) -> str:
    provider = params.get("provider", "inventory")
    return next((b.state for b in view.reader.breakers() if b.provider == provider), "CLOSED")


def _statuses(params: dict[str, Any]) -> set[str]:
    return set(params.get("statuses") or [])


@probe("run_orders_placed")
def _placed(view: RunView, params: dict[str, Any]) -> int:
    return len(view.traffic.orders)


@probe("run_orders_in")
def _orders_in(view: RunView, params: dict[str, Any]) -> int:
    wanted = _statuses(params)
    return sum(1 for o in view.run_orders().values() if o["status"] in wanted)


@probe("run_orders_outside")
def _orders_outside(view: RunView, params: dict[str, Any]) -> int:
    """Orders of this run not (yet) in one of ``statuses``; a lost order counts too."""
    allowed = _statuses(params)
    return sum(1 for o in view.run_orders().values() if o["status"] not in allowed)


@probe("run_orders_lost")
def _orders_lost(view: RunView, params: dict[str, Any]) -> int:
    """Orders the API accepted that the orders table does not have."""
    return sum(1 for o in view.run_orders().values() if o["status"] is None)


@probe("run_orders_without_reason")
def _without_reason(view: RunView, params: dict[str, Any]) -> int:
    wanted = _statuses(params)
    return sum(1 for o in view.run_orders().values() if o["status"] in wanted and not o["reason"])


@probe("orders_charged_more_than_once")
def _double_charged(view: RunView, params: dict[str, Any]) -> int:
    return sum(1 for order_id in view.run_orders() if len(view.reader.charges(order_id)) > 1)


@probe("keys_without_exactly_one_order")
def _keys_orders(view: RunView, params: dict[str, Any]) -> int:
    created = view.reader.orders_with_key_prefix(f"{view.run_id}-k")
    keys = [k for k in view.traffic.keys if not k.startswith("unkeyed-")]
    return sum(1 for k in keys if len(created.get(k, set())) != 1)


@probe("keys_without_exactly_one_charge")
def _keys_charges(view: RunView, params: dict[str, Any]) -> int:
    created = view.reader.orders_with_key_prefix(f"{view.run_id}-k")
    keys = [k for k in view.traffic.keys if not k.startswith("unkeyed-")]
    return sum(1 for k in keys if sum(len(view.reader.charges(o)) for o in created.get(k, set())) != 1)


@probe("on_hold_not_parked")
def _on_hold_not_parked(view: RunView, params: dict[str, Any]) -> int:
    """Orders on hold beyond the messages parked in the shipping DLQ (a silent drop shows here)."""
    on_hold = sum(1 for o in view.run_orders().values() if o["status"] == "SHIPPING_ON_HOLD")
    return max(0, on_hold - _dlq_depth(view, {"queue": "shipping"}))


@probe("lake_rules_cover")
def _rules_cover(view: RunView, params: dict[str, Any]) -> bool:
    """Whether the lake's lifecycle rules transition or expire ``key`` (default: the burst's)."""
    key = params.get("key") or (view.burst.prefix + "x" if view.burst else "orders/x")
    return bool(lake.rules_cover(view.reader.lake_lifecycle(), key))


def _daily_bytes(view: RunView) -> int:
    if "inventory" not in view._cache:
        view._cache["inventory"] = sum(size for _, size in view.reader.lake_objects())
    return int(view._cache["inventory"])


@probe("lake_cost_usd")
def _cost(view: RunView, params: dict[str, Any]) -> float:
    """Projected storage cost over the horizon from the actual inventory; ``lifecycle: false``
    prices the same bytes kept in STANDARD forever."""
    if view.cost is None:
        raise ValueError("the lake_cost_usd probe needs the experiment's cost: section")
    rules = view.reader.lake_lifecycle() if params.get("lifecycle", True) else []
    return lake.project_cost(_daily_bytes(view), rules, view.cost)


@probe("lake_cost_saving")
def _saving(view: RunView, params: dict[str, Any]) -> float:
    """The fraction of the projected cost the lifecycle rules save (0.0 .. 1.0)."""
    without = _cost(view, {"lifecycle": False})
    return round(1 - _cost(view, {"lifecycle": True}) / without, 3) if without else 0.0


@probe("burst_objects_left")
def _burst_left(view: RunView, params: dict[str, Any]) -> int:
    return len(view.reader.lake_objects(view.burst.prefix)) if view.burst else 0


@probe("run_flags_left")
def _flags_left(view: RunView, params: dict[str, Any]) -> int:
    import json

    left = 0
    for raw in view.reader.flags().values():
        try:
            left += json.loads(raw).get("run_id") == view.run_id
        except (ValueError, AttributeError):
            continue
    return left
