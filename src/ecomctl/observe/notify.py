"""Notification latency: a customer-visible transition to each notification about it (SNS, e-mail), against 30 s.

From the traced notifier invocations (X-Ray: the ``order_id`` and ``transition_at``
annotations and the SNS call's end): a sample, as tracing is sampled. A trace without
``transition_at`` (a platform older than the annotation) is measured from the order's
``createdAt``, an upper bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ecomctl.observe.xray import NotificationSample, quantile
from ecomctl.reads import Reader
from ecomctl.window import parse_iso

LIMIT_S = 30.0


@dataclass(frozen=True)
class NotificationLatency:
    samples: int = 0
    p50_s: float = 0.0
    p95_s: float = 0.0
    max_s: float = 0.0
    over_limit: int = 0
    limit_s: float = LIMIT_S
    channels: dict[str, dict[str, float]] = field(default_factory=dict)  # "sns", "e-mail" -> the same figures

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _figures(delays: list[float]) -> tuple[int, float, float, float, int]:
    return (len(delays), round(quantile(delays, 0.5), 2), round(quantile(delays, 0.95), 2), round(max(delays), 2),
            sum(1 for d in delays if d > LIMIT_S))


def latency(samples: list[NotificationSample], placed_at: dict[str, str]) -> NotificationLatency:
    delays: dict[str, list[float]] = {}
    for order_id, transition, sent, channel in samples:
        since = transition or placed_at.get(order_id)
        if since:
            delays.setdefault(channel, []).append(sent - parse_iso(since).timestamp())
    every = [d for per in delays.values() for d in per]
    if not every:
        return NotificationLatency()
    keys = ("samples", "p50_s", "p95_s", "max_s", "over_limit")
    channels = {channel: dict(zip(keys, _figures(per), strict=True)) for channel, per in sorted(delays.items())}
    return NotificationLatency(*_figures(every), channels=channels)


def measure(reader: Reader, samples: list[NotificationSample]) -> NotificationLatency:
    ids = sorted({order_id for order_id, transition, _, _ in samples if not transition})
    return latency(samples, reader.orders_placed_at(ids) if ids else {})
