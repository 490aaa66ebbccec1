"""What a game-day report shows, as plain data (the drill fills it, the writers render it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Sample:
    """One look at the platform during the drill, ``t`` seconds after it started."""

    t: float
    rpm: float | None = None  # achieved order rate over the last interval
    p99_ms: float | None = None  # API latency p99 over the last interval
    queues: dict[str, int] = field(default_factory=dict)  # visible + in flight
    dlqs: dict[str, int] = field(default_factory=dict)
    breakers: dict[str, str] = field(default_factory=dict)  # provider -> CLOSED / HALF_OPEN / OPEN


@dataclass
class Phase:
    name: str  # "baseline", "payment-down", "recovery", ...
    start_t: float
    end_t: float
    chaos: bool = False


@dataclass
class Verdict:
    scenario: str
    held: bool
    outcome: str  # "held", "hypothesis failed", "aborted", "error"
    summary: str
    checks: list[dict[str, Any]] = field(default_factory=list)  # {"probe", "expected", "observed", "ok"}


@dataclass
class GamedayReport:
    target: str
    stage: str
    started_at: str
    finished_at: str = ""
    rpm_target: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    load: dict[str, Any] = field(default_factory=dict)  # the load summaries, by phase
    reconciliation: dict[str, Any] = field(default_factory=dict)  # placed, terminal, lost, ...
    slowest_traces: list[dict[str, Any]] = field(default_factory=list)  # {"id", "duration_ms", "path"}
    cost: dict[str, Any] = field(default_factory=dict)  # {"usd", "basis"}
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        lost = self.reconciliation.get("lost")
        return bool(self.verdicts) and all(v.held for v in self.verdicts) and lost == 0  # unknown is not 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}
