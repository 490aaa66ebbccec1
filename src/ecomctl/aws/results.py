"""Results of the window and AWS commands (extend, windows, cost, doctor, the AWS preflight),
and their tables, registered on ``render.tables``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from ecomctl import render
from ecomctl.aws import prices
from ecomctl.aws.cost import Projection
from ecomctl.window import format_duration


@dataclass(frozen=True)
class ExtendResult:
    stage: str
    target: str
    old_deadline: str
    deadline: str
    length_s: int
    rearmed: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowRow:
    stage: str
    target: str
    status: str
    region: str
    started_at: str
    deadline: str
    left_s: int
    usd_per_hour: float
    usd_so_far: float  # on its own target: $0 on local
    usd_on_aws: float  # what the same window has cost, or would have, on AWS
    stack: str | None = None
    known: bool = True  # False: found by tag on AWS, no local state


@dataclass(frozen=True)
class WindowsResult:
    windows: list[WindowRow]
    stale: list[str] = field(default_factory=list)  # stale windows removed on the way

    def to_json(self) -> dict[str, Any]:
        return {"windows": [asdict(w) for w in self.windows], "stale_removed": self.stale}


@dataclass(frozen=True)
class CostResult:
    stage: str
    with_opensearch: bool
    projection: Projection

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "with_opensearch": self.with_opensearch, **self.projection.to_json()}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorResult:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


@render.tables.register
def _extend(result: ExtendResult) -> list[RenderableType]:
    return [render.key_values(f"{result.target} window [bold]{result.stage}[/bold] extended", {
        "deadline": f"{result.deadline} (was {result.old_deadline})",
        "window length": format_duration(result.length_s), "re-armed": "; ".join(result.rearmed)})]


@render.tables.register
def _windows(result: WindowsResult) -> list[RenderableType]:
    if not result.windows:
        return ["no windows"]
    rows = [[w.stage + ("" if w.known else " (no local state)"), w.target, w.status, w.region,
             format_duration(w.left_s), w.deadline, f"{usd(w.usd_per_hour)}/h", usd(w.usd_so_far),
             usd(w.usd_on_aws)] for w in result.windows]
    return [render.columns("windows", ["stage", "target", "status", "region", "left", "deadline", "rate",
                                       "cost so far", "on AWS"], rows)]


@render.tables.register
def _cost(result: CostResult) -> list[RenderableType]:
    p = result.projection
    head = f"projected cost of stage [bold]{result.stage}[/bold] for {format_duration(p.hours * 3600)}"
    rows = [[line.type, line.count, line.basis, f"{usd(line.usd_per_hour)}/h", usd(line.usd_per_hour * p.hours)]
            for line in p.hourly]
    rows.append(["[bold]total standing charges[/bold]", "", "", f"{usd(p.usd_per_hour)}/h",
                 f"[bold]{usd(p.usd_total)}[/bold]"])
    shown: list[RenderableType] = [render.columns(head, ["resource type", "count", "basis", "rate", "window"], rows)]
    shown.append(render.columns("priced by usage (nothing while idle; not in the total)",
                                ["resource type", "count", "price"], [[u.type, u.count, u.basis] for u in p.usage]))
    if p.unpriced:
        shown.append(render.columns("UNPRICED (not $0: no price known)", ["resource", "why"],
                                    [[k, v] for k, v in p.unpriced.items()]))
    note = f"prices: {prices.SOURCE}; {sum(p.free.values())} resources have no charge of their own"
    if p.region != prices.REGION:
        note += f"; priced at {prices.REGION} rates, {p.region} is usually 0-30% dearer"
    shown.append(note)
    return shown


@render.tables.register
def _doctor(result: DoctorResult) -> list[RenderableType]:
    rows = [[c.name, "[green]ok[/green]" if c.ok else "[red]MISSING[/red]", c.detail, c.fix or "-"]
            for c in result.checks]
    table = Table(title="ecomctl doctor", title_justify="left")
    for head in ("check", "", "found", "how to fix"):
        table.add_column(head, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return [table, "ready to deploy" if result.ok else "not ready: fix the rows marked MISSING"]
