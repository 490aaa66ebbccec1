"""What a chaos command returns: the run's journal and the list/status/off results, with
their Rich renderers registered on ``ecomctl.render.tables``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import RenderableType

from ecomctl import render
from ecomctl.errors import ExitStatus
from ecomctl.reads import ActiveFlag

OUTCOME_EXIT = {"held": ExitStatus.OK, "dry-run": ExitStatus.OK, "hypothesis-failed": ExitStatus.HYPOTHESIS_FAILED,
                "not-steady": ExitStatus.HYPOTHESIS_FAILED, "unverified": ExitStatus.OK, "aborted": ExitStatus.ABORTED,
                "interrupted": ExitStatus.INTERRUPTED}


@dataclass
class ProbeResult:
    phase: str  # before, during, after
    probe: str
    params: dict[str, Any]
    tolerance: str
    value: Any
    ok: bool
    at: str
    note: str = ""


@dataclass
class ChaosJournal:
    run_id: str
    scenario: str
    description: str
    target: str
    stage: str
    started_at: str
    duration_s: float
    verify: bool = True
    dry_run: bool = False
    ended_at: str | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    probes: list[ProbeResult] = field(default_factory=list)
    breaker_timeline: list[dict[str, Any]] = field(default_factory=list)
    traffic: dict[str, Any] = field(default_factory=dict)
    burst: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    stop_condition: str | None = None
    rollback: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str = "running"

    @property
    def exit_status(self) -> ExitStatus:
        return OUTCOME_EXIT.get(self.outcome, ExitStatus.ERROR)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": int(self.exit_status)}


@dataclass(frozen=True)
class ScenarioRow:
    name: str
    verifies: str
    points: list[str]
    duration_s: float
    file: str


@dataclass(frozen=True)
class ScenarioList:
    scenarios: list[ScenarioRow]

    def to_json(self) -> dict[str, Any]:
        return {"scenarios": [asdict(s) for s in self.scenarios]}


@dataclass(frozen=True)
class ChaosStatus:
    stage: str
    flags: list[ActiveFlag]
    stale: list[str]  # parameters past expires_at, not yet swept

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "stale": self.stale,
                "active": [{"name": f.name, "effect": f.effect, "rate": f.value.get("rate"),
                            "set_at": f.value.get("set_at"), "expires_at": f.expires_at, "remaining_s": f.remaining_s,
                            "run_id": f.value.get("run_id"), "scenario": f.value.get("scenario"),
                            "owner": f.value.get("owner")} for f in self.flags]}


@dataclass(frozen=True)
class ChaosOff:
    stage: str
    deleted: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "deleted": self.deleted}


def _cell(value: Any) -> str:
    return "-" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


@render.tables.register
def _journal(j: ChaosJournal) -> list[RenderableType]:
    shown: list[RenderableType] = []
    if j.probes:
        shown.append(render.columns(
            f"chaos {j.scenario} ({j.run_id}): steady-state hypothesis", ["phase", "probe", "value", "tolerance", "ok"],
            [[p.phase, p.probe + (f" {p.params}" if p.params else ""), _cell(p.value), p.tolerance,
              "[green]yes[/green]" if p.ok else "[red]NO[/red]"] for p in j.probes]))
    if j.flags:
        shown.append(render.columns("flags set (create-only, self-expiring)", ["point", "effect", "rate", "expires"],
                                    [[f["point"], f["value"]["effect"], f["value"]["rate"], f["value"]["expires_at"]]
                                     for f in j.flags]))
    per_key = j.traffic.get("per_key") or {}
    if per_key:
        shown.append(render.columns("duplicates per key", ["key", "sent", "accepted (202)", "orders", "charges"],
                                    [[k, v["sent"], v["accepted"], v.get("orders", "-"), v.get("charges", "-")]
                                     for k, v in per_key.items()]))
    elif j.traffic:
        shown.append(f"traffic: {j.traffic.get('sent', 0)} orders sent, {j.traffic.get('accepted', 0)} accepted")
    if j.breaker_timeline:
        shown.append(render.columns("breaker over time", ["at", "provider", "state", "failures"],
                                    [[b["at"], b["provider"], b["state"], b["failures"]] for b in j.breaker_timeline]))
    if j.cost:
        c = j.cost
        shown.append(f"{c['years']}-year storage projection from {c['inventory_objects']} objects "
                     f"({c['inventory_bytes'] / 2**20:.1f} MiB, x{c['daily_multiplier']:g} a day): "
                     f"${c['with_lifecycle_usd']:,.2f} with the lifecycle rules, "
                     f"${c['without_lifecycle_usd']:,.2f} without; budget ${c['budget_usd']:,.2f}")
    shown.extend(j.notes)
    colour = "green" if j.exit_status == ExitStatus.OK else "red"
    why = f" ({j.stop_condition})" if j.stop_condition else ""
    shown.append(f"verdict: [{colour}]{j.outcome}[/{colour}]{why}; rollback: "
                 + (", ".join(f"{r['step']} {r['detail']}" for r in j.rollback) or "nothing to undo"))
    return shown


@render.tables.register
def _list(result: ScenarioList) -> list[RenderableType]:
    from rich.table import Table

    table = Table(title="chaos scenarios", title_justify="left")
    for head in ("scenario", "injects", "duration", "verifies"):
        table.add_column(head, no_wrap=head == "scenario")
    for s in result.scenarios:
        table.add_row(s.name, ", ".join(s.points) or "(no flags)", f"{s.duration_s:g}s", s.verifies)
    return [table]


@render.tables.register
def _status(result: ChaosStatus) -> list[RenderableType]:
    shown: list[RenderableType] = []
    if result.flags:
        shown.append(render.columns(
            f"active chaos on stage {result.stage}", ["flag", "effect", "rate", "since", "until", "left", "run"],
            [[f.name, f.effect, _cell(f.value.get("rate")), f.value.get("set_at", "-"), f.expires_at,
              f"{f.remaining_s}s", f.value.get("run_id", "-")] for f in result.flags]))
    else:
        shown.append(f"no active chaos flags on stage {result.stage}")
    if result.stale:
        shown.append(f"expired, not yet swept: {', '.join(result.stale)}")
    return shown


@render.tables.register
def _off(result: ChaosOff) -> list[RenderableType]:
    return [f"deleted {len(result.deleted)} flag(s) on stage {result.stage}"
            + (f": {', '.join(result.deleted)}" if result.deleted else "")]
