"""The drill's live progress (phase, time left, current figures) and its closing verdict table."""

from __future__ import annotations

import json
import threading
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ecomctl.context import Context
from ecomctl.errors import ExitStatus, UserError
from ecomctl.gameday.drill import Drill, DrillOptions
from ecomctl.report.model import GamedayReport
from ecomctl.report.writers import write


def _figures(drill: Drill) -> str:
    samples = drill.report.samples if hasattr(drill, "report") else []
    if not samples:
        return ""
    s = samples[-1]
    queued = sum(s.queues.values())
    rpm = f"{s.rpm:.0f}/min" if s.rpm is not None else "-"
    p99 = f"p99 {s.p99_ms:.0f} ms" if s.p99_ms is not None else "p99 -"
    open_breakers = [k for k, v in s.breakers.items() if v != "CLOSED"]
    return f" · {rpm} · {p99} · {queued} queued" + (f" · breaker {','.join(open_breakers)}" if open_breakers else "")


def _tick(bar: Progress, holder: dict[str, Any], done: threading.Event) -> None:
    """Move the bar with the clock and show the latest figures, between the drill's messages."""
    while not done.wait(1.0):
        drill = holder["drill"]
        bar.update(holder["task"], description=f"{holder['phase']}{_figures(drill)}", completed=drill.elapsed())


def run_with_progress(ctx: Context, options: DrillOptions, json_output: bool) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    with Progress(*columns, console=ctx.err, transient=False, refresh_per_second=2) as bar:
        holder: dict[str, Any] = {}

        def say(text: str) -> None:
            holder["phase"] = text[:70]

        drill = Drill(ctx, options, say)
        holder["drill"], holder["task"] = drill, bar.add_task("starting", total=drill.estimate_s())
        done = threading.Event()
        holder["phase"] = "starting"
        ticker = threading.Thread(target=_tick, args=(bar, holder, done), daemon=True)
        ticker.start()
        try:
            report = drill.run()
        finally:
            done.set()
            ticker.join(timeout=2)
            if hasattr(drill, "report"):
                paths = write(drill.report, options.report_dir)
                ctx.err.print(f"report: {paths['html']} (summary {paths['markdown']})", highlight=False)
    _render(ctx, report, json_output)
    if not report.passed:
        raise UserError("the game day failed: " + _why(report), ExitStatus.HYPOTHESIS_FAILED)


def _why(report: GamedayReport) -> str:
    failed = [f"{v.scenario} ({v.outcome})" for v in report.verdicts if not v.held]
    lost = report.reconciliation.get("lost")
    return "; ".join(failed + ([] if lost == 0 else [f"lost orders: {lost}"])) or "no scenario ran"


def _render(ctx: Context, report: GamedayReport, json_output: bool) -> None:
    if json_output:
        ctx.out.print_json(json.dumps(report.to_json()))
        return
    table = Table(title=f"game day: {report.target} stage {report.stage}", title_justify="left")
    for col in ("scenario", "verdict", "summary"):
        table.add_column(col)
    for v in report.verdicts:
        table.add_row(v.scenario, "[green]held[/green]" if v.held else f"[red]{v.outcome}[/red]", v.summary)
    ctx.out.print(table)
    r = report.reconciliation
    ctx.out.print(f"orders: {r.get('accepted', '-')} accepted, {r.get('completed', '-')} completed, "
                  f"{r.get('cancelled', '-')} cancelled, {r.get('lost', '-')} lost; "
                  f"cost: {report.cost.get('usd', '-')} USD ({report.cost.get('basis', '-')})", highlight=False)
