"""SLO gates: ``'p99<800ms,errors<1%'`` parsed once, checked against a run's figures.

A gate names a figure of the run, a comparison and a bound with its unit:
``p50 p90 p95 p99 max avg`` (latency: ``ms`` or ``s``), ``errors`` (% of requests
failed), ``dropped`` (% of scheduled sends that could not be made), ``lag`` (the
schedule's worst lag: ``ms`` or ``s``), ``achieved`` (% of the target rate, usually ``>``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecomctl.errors import UsageError

_LATENCY = {"p50", "p90", "p95", "p99", "max", "avg"}
_PERCENT = {"errors", "dropped", "achieved"}
_DURATION = _LATENCY | {"lag"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_GATE = re.compile(r"^\s*([a-z0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*(ms|s|%)?\s*$")


@dataclass(frozen=True)
class Gate:
    figure: str
    op: str
    bound: float  # ms for durations, percent for rates
    text: str

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.bound)


def _bound(figure: str, number: float, unit: str | None, text: str) -> float:
    if figure in _DURATION:
        if unit not in ("ms", "s"):
            raise UsageError(f"bad --slo gate {text!r}: {figure} needs a unit, ms or s (e.g. {figure}<800ms)")
        return number * 1000 if unit == "s" else number
    if unit != "%":
        raise UsageError(f"bad --slo gate {text!r}: {figure} is a percentage (e.g. {figure}<1%)")
    return number


def parse(spec: str | None) -> list[Gate]:
    """Gates from ``--slo``; a malformed one is a usage error naming it."""
    if spec is None or not spec.strip():
        return []
    gates = []
    for part in spec.split(","):
        match = _GATE.match(part)
        if not match:
            raise UsageError(f"bad --slo gate {part.strip()!r}: expected FIGURE<BOUND, e.g. 'p99<800ms,errors<1%'")
        figure, op, number, unit = match.groups()
        if figure not in _DURATION | _PERCENT:
            known = ", ".join(sorted(_DURATION | _PERCENT))
            raise UsageError(f"bad --slo gate {part.strip()!r}: unknown figure {figure!r} (one of {known})")
        gates.append(Gate(figure, op, _bound(figure, float(number), unit, part.strip()), part.strip()))
    return gates


@dataclass(frozen=True)
class Verdict:
    gate: str
    value: float
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {"gate": self.gate, "value": round(self.value, 3), "passed": self.passed}


def check(gates: list[Gate], figures: dict[str, float]) -> list[Verdict]:
    """Each gate against ``figures`` (the run's values keyed by figure name, in gate units)."""
    return [Verdict(g.text, figures.get(g.figure, 0.0), g.holds(figures.get(g.figure, 0.0))) for g in gates]
