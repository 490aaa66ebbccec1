"""What the window commands return: plain objects, rendered by ``ecomctl.render``.

A result knows its JSON form (``to_json``); how it looks as tables is the renderer's
business, so a report can show the same result again without a command.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ecomctl.reads import ActiveFlag, BreakerState, QueueDepth
from ecomctl.state import WindowState
from ecomctl.targets.base import Cleaned


@dataclass(frozen=True)
class NoWindow:
    stage: str
    cleaned: Cleaned | None = None
    stopped: bool | None = None  # for ``down``: False (nothing to stop)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"window": None}
        if self.stopped is not None:
            data["stopped"] = self.stopped
        return data


@dataclass(frozen=True)
class UpResult:
    window: WindowState
    target_info: dict[str, Any]
    cleaned: Cleaned | None = None

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {"target": w.target, "stage": w.stage, "api_url": w.api_url, "aws_endpoint": w.aws_endpoint,
                "region": w.region, "deadline": w.deadline, "ttl_s": w.ttl_s, **self.target_info}


@dataclass(frozen=True)
class StatusResult:
    window: WindowState
    ttl_remaining_s: int
    target_info: dict[str, Any]
    queues: list[QueueDepth] = field(default_factory=list)
    orders: dict[str, int] = field(default_factory=dict)
    flags: list[ActiveFlag] = field(default_factory=list)
    breakers: list[BreakerState] = field(default_factory=list)
    cleaned: Cleaned | None = None

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "target": w.target, "stage": w.stage, "api_url": w.api_url, "aws_endpoint": w.aws_endpoint,
            "deadline": w.deadline, "ttl_remaining_s": self.ttl_remaining_s, w.target: self.target_info,
            "queues": {q.queue: {"visible": q.visible, "in_flight": q.in_flight, "dlq": q.dlq} for q in self.queues},
            "orders": self.orders,
            "chaos": [{"name": f.name, "expires_at": f.expires_at, "remaining_s": f.remaining_s, "value": f.value}
                      for f in self.flags],
            "breakers": {b.provider: {"state": b.state, "failures": b.failures, "changed_at": b.changed_at}
                         for b in self.breakers},
        }


@dataclass(frozen=True)
class DownResult:
    window: WindowState
    forced: bool
    leftovers: tuple[str, ...]
    lasted_s: int
    details: dict[str, Any] = field(default_factory=dict)
    cleaned: Cleaned | None = None

    def to_json(self) -> dict[str, Any]:
        return {"window": self.window.stage, "target": self.window.target, "stopped": not self.leftovers,
                "forced": self.forced, "leftovers": list(self.leftovers), "lasted_s": self.lasted_s,
                **self.details}


def plain(obj: Any) -> Any:
    """A dataclass (or list of them) as JSON-ready data."""
    if isinstance(obj, list):
        return [plain(o) for o in obj]
    return asdict(obj)
