"""The live view of a load run: a progress bar (elapsed, remaining) and the current figures."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ecomctl.reads import QueueDepth


class Dashboard:
    def __init__(self, target_rpm: float, duration_s: float, profile: str) -> None:
        self.target_rpm = target_rpm
        self.progress = Progress(TextColumn("[bold]load[/bold] {task.description}"), BarColumn(),
                                 TimeElapsedColumn(), TextColumn("remaining"), TimeRemainingColumn())
        self.task = self.progress.add_task(f"{target_rpm:g} rpm {profile}", total=duration_s)
        self.duration_s = duration_s

    def figures(self, tick: dict[str, Any], depths: list[QueueDepth], notes: list[str]) -> Table:
        # The final tick (the run's totals) carries no elapsed time: the whole run elapsed.
        elapsed = float(tick.get("elapsed_s") or 0.0) or self.duration_s
        sent, requests = int(tick.get("sent", 0)), int(tick.get("requests", 0))
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        achieved = sent / min(elapsed, self.duration_s) * 60 if sent else 0.0
        table.add_row("achieved", f"{achieved:,.0f} rpm of {self.target_rpm:g}  (sent {sent:,}, scheduled "
                                  f"{int(tick.get('scheduled', 0)):,}, could not send {int(tick.get('dropped', 0))})")
        table.add_row("latency", f"p50 {tick.get('p50', 0):g} ms  p95 {tick.get('p95', 0):g} ms  "
                                 f"p99 {tick.get('p99', 0):g} ms  (last seconds)")
        failures = int(tick.get("failures", 0))
        rate = failures / requests * 100 if requests else 0.0
        shown = f"{failures:,} ({rate:.2f} %) of {requests:,}"
        table.add_row("errors", f"[red]{shown}[/red]" if failures else shown)
        table.add_row("schedule", f"lag max {float(tick.get('lag_max_s', 0.0)) * 1000:,.0f} ms, "
                                  f"{int(tick.get('users', 0))} users"
                                  + (f", {tick['workers']} workers" if tick.get("workers") else ""))
        if depths:
            table.add_row("queues", "  ".join(f"{d.queue} {d.visible}+{d.in_flight}"
                                              + (f" [red]DLQ {d.dlq}[/red]" if d.dlq else "") for d in depths))
        for note in notes:
            table.add_row("note", f"[yellow]{note}[/yellow]")
        return table

    def render(self, tick: dict[str, Any], depths: list[QueueDepth], notes: list[str]) -> RenderableType:
        elapsed = float(tick.get("elapsed_s") or 0.0) or self.duration_s
        self.progress.update(self.task, completed=min(self.duration_s, elapsed))
        return Group(self.progress, self.figures(tick, depths, notes))
