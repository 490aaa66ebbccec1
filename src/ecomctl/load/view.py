"""A load run's summary as tables (registered on ``ecomctl.render.tables``)."""

from __future__ import annotations

from rich.console import RenderableType

from ecomctl.load.result import LoadResult
from ecomctl.observe.view import metrics_tables, notification_line, reconciliation_tables, xray_tables
from ecomctl.render import columns, key_values, tables


def _head(result: LoadResult) -> RenderableType:
    f = result.final
    lat, lag, intended = f.get("latency_ms") or {}, f.get("lag_ms") or {}, f.get("intended_latency_ms") or {}
    target, achieved = float(f.get("target_rpm") or 0), float(f.get("achieved_rpm") or 0)
    requests, failures = int(f.get("requests", 0)), int(f.get("failures", 0))
    return key_values(f"load run {result.run_id} on [bold]{result.stage}[/bold] ({result.api_url})", {
        "rate": f"target {target:g} rpm ({f.get('profile')}), achieved {achieved:,.1f} rpm"
                + (f" ({achieved / target * 100:.2f} %)" if target and f.get("profile") == "steady" else ""),
        "sends": f"{f.get('sent', 0):,} of {f.get('scheduled', 0):,} scheduled, could not send {f.get('dropped', 0)}",
        "schedule lag": f"p50 {lag.get('p50', 0):g} ms, p99 {lag.get('p99', 0):g} ms, max {lag.get('max', 0):g} ms",
        "requests": f"{requests:,}, failed {failures:,} ({failures / requests * 100 if requests else 0:.2f} %)",
        "latency": f"p50 {lat.get('p50', 0):g} ms, p95 {lat.get('p95', 0):g} ms, p99 {lat.get('p99', 0):g} ms, "
                   f"max {lat.get('max', 0):g} ms",
        "from due time": f"p50 {intended.get('p50', 0):g} ms, p95 {intended.get('p95', 0):g} ms, "
                         f"p99 {intended.get('p99', 0):g} ms (coordinated omission corrected)",
    })


def _slo(result: LoadResult) -> RenderableType:
    if not result.verdicts:
        return "SLO: no gates (--slo 'p99<800ms,errors<1%')"
    marks = [f"{'[green]✓' if v.passed else '[red]✗'} {v.gate}[/] ({v.value:.4g})" for v in result.verdicts]
    verdict = "[green]passed[/green]" if result.passed else "[red]VIOLATED[/red]"
    return f"SLO {verdict}: " + "  ".join(marks)


@tables.register
def _load(result: LoadResult) -> list[RenderableType]:
    f = result.final
    shown: list[RenderableType] = [_head(result)]
    shown.append(columns("endpoints", ["request", "count", "failed", "p50 ms", "p95 ms", "p99 ms"],
                         [[f"{e['method']} {e['name']}", e["requests"], e["failures"], e["p50"], e["p95"], e["p99"]]
                          for e in f.get("endpoints", [])]))
    if f.get("errors"):
        shown.append(columns("failures", ["request", "error", "count"],
                             [[f"{e['method']} {e['name']}", e["error"], e["occurrences"]] for e in f["errors"][:10]]))
    shown.append(_slo(result))
    shown += reconciliation_tables(result.reconciliation)
    if result.observed is not None:
        shown += [*xray_tables(result.observed.xray), *metrics_tables(result.observed.metrics),
                  notification_line(result.observed.notifications)]
    for n, (code, at) in sorted(result.worker_exits.items()):
        shown.append(f"[yellow]worker {n} ended early (exit {code}) at {at:g} s; the others carried on[/yellow]")
    shown += [f"note: {n}" for n in result.notes]
    return shown
