"""What the pacer counts, in a form that travels between Locust workers and the master.

Locust's own stats give the service time of each request; these add what the open model
needs: requests scheduled and sent, the schedule's lag, the sends that could not be made,
the latency from the *intended* send time (coordinated omission corrected) and the ids of
the orders the run created. A worker ships its delta to the master with Locust's
``report_to_master`` event; the master merges it with ``worker_report``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def bucket(ms: float) -> int:
    """Two significant digits above 100 ms (as Locust buckets), 1 ms below."""
    if ms < 100:
        return round(ms)
    digits = len(str(int(ms))) - 2
    return int(round(ms, -digits))


def percentile(histogram: dict[int, int] | Counter[int], q: float) -> float:
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    rank, seen = q * total, 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


@dataclass
class Tally:
    scheduled: int = 0
    sent: int = 0
    dropped: int = 0
    lag_max_s: float = 0.0
    lag: Counter[int] = field(default_factory=Counter)  # ms buckets
    intended: Counter[int] = field(default_factory=Counter)  # ms buckets, from the due time
    orders: dict[str, str] = field(default_factory=dict)  # orderId -> kind of order
    done: int = 0  # processes whose schedule is over
    in_flight: int = 0
    first_at: float = 0.0  # wall clock of the first and the last send
    last_at: float = 0.0

    def record_send(self, lag_s: float, at: float) -> None:
        self.sent += 1
        self.first_at = min(self.first_at, at) if self.first_at else at
        self.last_at = max(self.last_at, at)
        self.lag_max_s = max(self.lag_max_s, lag_s)
        self.lag[bucket(lag_s * 1000)] += 1

    def to_wire(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled, "sent": self.sent, "dropped": self.dropped,
                "lag_max_s": self.lag_max_s, "lag": dict(self.lag), "intended": dict(self.intended),
                "orders": dict(self.orders), "done": self.done, "in_flight": self.in_flight,
                "first_at": self.first_at, "last_at": self.last_at}

    def take_delta(self) -> dict[str, Any]:
        """Everything counted since the last call (and reset), for a worker's report."""
        wire = self.to_wire()
        in_flight = self.in_flight
        fresh = Tally()
        self.__dict__.update(fresh.__dict__)
        self.in_flight = in_flight
        return wire

    def merge(self, wire: dict[str, Any]) -> None:
        self.scheduled += int(wire.get("scheduled", 0))
        self.sent += int(wire.get("sent", 0))
        self.dropped += int(wire.get("dropped", 0))
        self.lag_max_s = max(self.lag_max_s, float(wire.get("lag_max_s", 0.0)))
        self.lag.update({int(k): int(v) for k, v in (wire.get("lag") or {}).items()})
        self.intended.update({int(k): int(v) for k, v in (wire.get("intended") or {}).items()})
        self.orders.update(wire.get("orders") or {})
        self.done += int(wire.get("done", 0))
        first = float(wire.get("first_at") or 0.0)
        if first:
            self.first_at = min(self.first_at, first) if self.first_at else first
        self.last_at = max(self.last_at, float(wire.get("last_at") or 0.0))

    def achieved_rpm(self, duration_s: float, interval_s: float) -> float:
        """Sends per minute over the span they were actually made in (first to last, plus one interval)."""
        span = self.last_at - self.first_at + interval_s if self.sent > 1 else duration_s
        return self.sent / max(span, 1e-9) * 60
