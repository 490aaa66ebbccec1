"""Notification latency: an order placed to each SNS notification about it, against 30 s.

From the traced notifier invocations (X-Ray: the ``order_id`` annotation and the SNS
call's end) and the order's ``createdAt``: a sample, as tracing is sampled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ecomctl.observe.xray import quantile
from ecomctl.reads import Reader

LIMIT_S = 30.0


@dataclass(frozen=True)
class NotificationLatency:
    samples: int = 0
    p50_s: float = 0.0
    p95_s: float = 0.0
    max_s: float = 0.0
    over_limit: int = 0
    limit_s: float = LIMIT_S

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def latency(samples: list[tuple[str, float]], placed_at: dict[str, str]) -> NotificationLatency:
    delays = []
    for order_id, published in samples:
        placed = placed_at.get(order_id)
        if placed:
            delays.append(published - datetime.fromisoformat(placed.replace("Z", "+00:00")).timestamp())
    if not delays:
        return NotificationLatency()
    return NotificationLatency(len(delays), round(quantile(delays, 0.5), 2), round(quantile(delays, 0.95), 2),
                               round(max(delays), 2), sum(1 for d in delays if d > LIMIT_S))


def measure(reader: Reader, samples: list[tuple[str, float]]) -> NotificationLatency:
    ids = sorted({order_id for order_id, _ in samples})
    return latency(samples, reader.orders_placed_at(ids) if ids else {})
