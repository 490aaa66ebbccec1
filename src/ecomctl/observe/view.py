"""The observe summary as tables (registered on ``ecomctl.render.tables``)."""

from __future__ import annotations

from rich.console import RenderableType

from ecomctl.observe import ObserveResult
from ecomctl.observe.metrics import MetricsSummary
from ecomctl.observe.notify import NotificationLatency
from ecomctl.observe.reconcile import Reconciliation
from ecomctl.observe.xray import XRaySummary
from ecomctl.render import columns, tables


def _red(value: float | int, bad: bool) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"[red]{text}[/red]" if bad else text


def xray_tables(x: XRaySummary) -> list[RenderableType]:
    shown: list[RenderableType] = [
        f"X-Ray ({x.source}): {x.traces} traces, {_red(x.faults, x.faults > 0)} with a fault, "
        f"{_red(x.errors, x.errors > 0)} with an error, {_red(x.throttles, x.throttles > 0)} throttled"]
    if x.services:
        shown.append(columns("per service (ms)", ["service", "type", "count", "p50", "p95", "p99", "faults"],
                             [[s.name, s.type, s.count, s.p50_ms, s.p95_ms, s.p99_ms, _red(s.faults, s.faults > 0)]
                              for s in x.services[:20]]))
    if x.slowest:
        shown.append(columns("slowest traces", ["trace", "ms", "path"],
                             [[t.trace_id, t.duration_ms, " → ".join(t.path)] for t in x.slowest]))
    return shown


def metrics_tables(m: MetricsSummary) -> list[RenderableType]:
    shown: list[RenderableType] = [columns(
        "queues (CloudWatch, max over the window)", ["queue", "depth", "oldest age s", "DLQ"],
        [[q, f["depth_max"], f["oldest_age_s"], _red(f["dlq_max"], f["dlq_max"] > 0)] for q, f in m.queues.items()])]
    shown.append(columns(
        f"functions (duration: {m.percentiles})", ["function", "invocations", "errors", "throttles", "p99 ms"],
        [[n, f["invocations"], _red(f["errors"], f["errors"] > 0), _red(f["throttles"], f["throttles"] > 0),
          f["duration_p99_ms"]] for n, f in m.functions.items() if f["invocations"] or f["errors"]]
        or [["(no invocations)", 0, 0, 0, 0]]))
    api, saga = m.api, m.saga
    server_errors, failed = api.get("5xxerror", 0), saga.get("failed", 0)
    shown.append(f"API: {api.get('count', 0):g} requests, 4xx {api.get('4xxerror', 0):g}, "
                 f"5xx {_red(server_errors, server_errors > 0)}, latency p99 {api.get('latency_p99_ms', 0):g} ms"
                 f" | saga: started {saga.get('started', 0):g}, succeeded {saga.get('succeeded', 0):g}, "
                 f"failed {_red(failed, failed > 0)}, timed out {saga.get('timedout', 0):g}")
    shown.append("alarms in ALARM: " + (", ".join(f"[red]{a['name']}[/red]" for a in m.alarms) or "none"))
    return shown


def reconciliation_tables(r: Reconciliation) -> list[RenderableType]:
    rows: list[list[object]] = [["accepted", r.accepted], ["completed", r.completed]]
    rows += [[f"cancelled: {reason}", n] for reason, n in sorted(r.cancelled.items())]
    rows += [[f"in flight: {status}", n] for status, n in sorted(r.in_flight.items())]
    rows += [[f"dead-lettered: {queue}", _red(n, True)] for queue, n in sorted(r.dead_lettered.items())]
    rows.append(["lost", _red(r.lost, r.lost > 0)])
    title = "orders placed by the run" if r.scope == "run" else "orders created in the window"
    shown: list[RenderableType] = [columns(title, ["class", "orders"], rows)]
    if r.lost_ids:
        shown.append("[red]lost:[/red] " + ", ".join(r.lost_ids[:20]))
    if r.unexpected:
        shown.append("unexpected outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(r.unexpected.items())))
    return shown


def notification_line(n: NotificationLatency) -> str:
    if not n.samples:
        return "notification latency: no traced notification in the window"
    verdict = f"[red]{n.over_limit} over {n.limit_s:g} s[/red]" if n.over_limit else f"all within {n.limit_s:g} s"
    per = "; ".join(f"{c} {f['samples']:g}, max {f['max_s']:g} s" for c, f in n.channels.items())
    return (f"notification latency (transition → sent, {n.samples} traced): p50 {n.p50_s:g} s, p95 {n.p95_s:g} s, "
            f"max {n.max_s:g} s; {verdict}" + (f" ({per})" if per else ""))


@tables.register
def _observe(result: ObserveResult) -> list[RenderableType]:
    head = f"observe [bold]{result.stage}[/bold] {result.start:%H:%M:%S} to {result.end:%H:%M:%S}Z"
    return [head, *reconciliation_tables(result.reconciliation), *xray_tables(result.xray),
            *metrics_tables(result.metrics), notification_line(result.notifications),
            *(f"note: {n}" for n in result.notes)]
