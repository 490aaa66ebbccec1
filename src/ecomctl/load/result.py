"""A load run's result: the child's final figures, the SLO verdicts, the reconciliation, observe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecomctl.load.slo import Verdict
from ecomctl.observe import ObserveResult
from ecomctl.observe.reconcile import Reconciliation


def slo_figures(final: dict[str, Any]) -> dict[str, float]:
    """The run's figures in SLO-gate units (ms, %)."""
    latency = final.get("latency_ms") or {}
    requests, scheduled = int(final.get("requests", 0)), int(final.get("scheduled", 0))
    target = float(final.get("target_rpm") or 0.0)
    if final.get("profile", "steady") == "steady" and target:
        achieved_pct = float(final.get("achieved_rpm", 0.0)) / target * 100
    else:
        achieved_pct = int(final.get("sent", 0)) / scheduled * 100 if scheduled else 0.0
    return {
        **{k: float(latency.get(k, 0.0)) for k in ("p50", "p90", "p95", "p99", "max", "avg")},
        "errors": int(final.get("failures", 0)) / requests * 100 if requests else 0.0,
        "dropped": int(final.get("dropped", 0)) / scheduled * 100 if scheduled else 0.0,
        "lag": float((final.get("lag_ms") or {}).get("max", 0.0)),
        "achieved": achieved_pct,
    }


@dataclass
class LoadResult:
    run_id: str
    stage: str
    api_url: str
    final: dict[str, Any]
    verdicts: list[Verdict]
    reconciliation: Reconciliation
    observed: ObserveResult | None = None
    worker_exits: dict[int, tuple[int, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        f = self.final
        latency = f.get("latency_ms") or {}
        return {
            "run_id": self.run_id, "stage": self.stage, "api_url": self.api_url,
            "target_rpm": f.get("target_rpm"), "achieved_rpm": f.get("achieved_rpm"), "profile": f.get("profile"),
            "duration_s": f.get("duration_s"), "requests": f.get("requests", 0), "failures": f.get("failures", 0),
            "scheduled": f.get("scheduled", 0), "sent": f.get("sent", 0), "could_not_send": f.get("dropped", 0),
            "latency_ms": {k: latency.get(k, 0.0) for k in ("p50", "p95", "p99", "max", "avg")},
            "intended_latency_ms": f.get("intended_latency_ms", {}), "schedule_lag_ms": f.get("lag_ms", {}),
            "endpoints": f.get("endpoints", []), "errors": f.get("errors", [])[:20],
            "slo": {"passed": self.passed, "violations": [v.gate for v in self.verdicts if not v.passed],
                    "gates": [v.to_json() for v in self.verdicts]},
            "reconciliation": self.reconciliation.to_json(),
            "observe": self.observed.to_json() if self.observed else None,
            "workers_lost": [{"worker": n, "exit_code": code, "at_s": at}
                             for n, (code, at) in sorted(self.worker_exits.items())],
            "notes": self.notes,
        }
