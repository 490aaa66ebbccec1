"""A load run from start to verdict: the child, the dashboard, the settling, observe, the SLOs.

The parent never imports Locust: it starts the child (``ecomctl.load.child``), tails its
stats stream into the live dashboard, reads queue depths through the read layer, then
waits for the orders the run created to settle, reconciles them and reads X-Ray and
CloudWatch for the run's window.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ecomctl import api_auth, lifecycle
from ecomctl.api_auth import Signer
from ecomctl.context import Context
from ecomctl.errors import UsageError, UserError
from ecomctl.load import child, slo
from ecomctl.load.child import Children, LoadPlan, StatsTail
from ecomctl.load.dashboard import Dashboard
from ecomctl.load.result import LoadResult, slo_figures
from ecomctl.load.schedule import Schedule
from ecomctl.reads import QueueDepth, Reader

DEPTHS_EVERY_S = 3.0


@dataclass(frozen=True)
class LoadOptions:
    stage: str
    rpm: float
    duration_s: float
    profile: str = "steady"
    slo: str | None = None
    workers: int = 0
    remote_workers: int = 0
    master_bind: str = "127.0.0.1"
    html: Path | None = None
    settle_s: float = 60.0
    observe: bool = True


def plan_for(options: LoadOptions, api_url: str, run_id: str, signer: Signer | None = None) -> LoadPlan:
    if options.rpm <= 0:
        raise UsageError(f"invalid --rpm {options.rpm:g}: the arrival rate must be above zero")
    if options.workers < 0 or options.remote_workers < 0:
        raise UsageError("--workers and --remote-workers cannot be negative")
    try:
        schedule = Schedule(options.rpm, options.duration_s, options.profile)
    except ValueError as exc:
        raise UsageError(f"invalid --profile: {exc}") from None
    if schedule.rpm * schedule.duration_s / 60 < 1:
        raise UsageError(f"--rpm {options.rpm:g} for {options.duration_s:g}s schedules no request at all")
    return LoadPlan(schedule, api_url, run_id, options.workers, options.remote_workers, options.master_bind,
                    html=options.html, signer=signer)


def _depths(reader: Reader, last: list[QueueDepth]) -> list[QueueDepth]:
    try:
        return reader.queue_depths()
    except Exception:  # the dashboard keeps the last figures; the run must not die of a slow read
        return last


def watch(ctx: Context, children: Children, tail: StatsTail, dashboard: Dashboard, reader: Reader) -> None:
    started, depths_at = time.monotonic(), 0.0
    depths: list[QueueDepth] = []
    with Live(console=ctx.err, refresh_per_second=4, transient=False) as live:
        while children.master.poll() is None:
            tail.poll()
            children.check_workers(started)
            if time.monotonic() - depths_at >= DEPTHS_EVERY_S:
                depths, depths_at = _depths(reader, depths), time.monotonic()
            notes = [f"worker {n} ended early (exit {c}) at {t:g} s" for n, (c, t) in children.exits.items()]
            live.update(dashboard.render(tail.last_tick, depths, notes))
            time.sleep(0.25)
        tail.poll()
        live.update(dashboard.render(tail.final or tail.last_tick, depths, []))


def _settle(ctx: Context, reader: Reader, orders: dict[str, str], timeout_s: float) -> Any:
    from ecomctl.observe.reconcile import settle

    columns = (TextColumn("orders settling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=ctx.err, transient=True) as bar:
        task = bar.add_task("settle", total=max(1, len(orders)))

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(1, total))

        return settle(reader, orders, timeout_s, show, time.sleep, time.monotonic)


def run(ctx: Context, options: LoadOptions, progress: Callable[[str], None]) -> LoadResult:
    gates = slo.parse(options.slo)
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    plan_for(options, "http://127.0.0.1", run_id)  # bad options are refused before a window is looked up
    window, access, reader = lifecycle.reader(ctx, options.stage)
    if not window.api_url:
        raise UserError(f"the window of stage {options.stage!r} has no API URL")
    plan = plan_for(options, window.api_url, run_id, api_auth.signer_for(window.part, access))
    runs = ctx.home / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stats, log = runs / f"{run_id}.jsonl", runs / f"{run_id}.log"
    if plan.remote_workers:
        progress("remote workers join with: " + " ".join(child.worker_command(plan, "<this host>")))
    started_at = ctx.clock()
    children = child.spawn(plan, stats, log)
    tail = StatsTail(stats)
    try:
        watch(ctx, children, tail, Dashboard(plan.schedule.rpm, plan.schedule.duration_s, plan.schedule.profile),
              reader)
    finally:
        children.stop()
    if tail.final is None:
        raise UserError(f"the load generator exited with code {children.master.returncode} before its summary "
                        f"({child.last_log_line(log) or 'no output'}; log: {log})")
    return _conclude(ctx, options, gates, run_id, window.api_url, tail.final, children, started_at, access, reader)


def _conclude(ctx: Context, options: LoadOptions, gates: list[slo.Gate], run_id: str, api_url: str,
              final: dict[str, Any], children: Children, started_at: datetime, access: Any,
              reader: Reader) -> LoadResult:
    from ecomctl.observe import observe, save_run

    orders: dict[str, str] = final.get("orders") or {}
    reconciliation = _settle(ctx, reader, orders, options.settle_s)
    ended_at = ctx.clock()
    save_run(ctx.home, options.stage, {"run_id": run_id, "start": started_at.isoformat(),
                                       "end": ended_at.isoformat(), "orders": orders})
    observed = None
    if options.observe:
        with ctx.err.status("reading X-Ray and CloudWatch for the run"):
            observed = observe(access, reader, options.stage, started_at - timedelta(seconds=5), ended_at,
                               reconciliation)
    notes = [] if not reconciliation.in_flight else [
        f"{sum(reconciliation.in_flight.values())} order(s) still in flight after {options.settle_s:g} s"]
    return LoadResult(run_id, options.stage, api_url, final, slo.check(gates, slo_figures(final)), reconciliation,
                      observed, dict(children.exits), notes)


def observe_alone(ctx: Context, stage: str, since: timedelta) -> Any:
    """`ecomctl observe`: the window's last ``since``; the last load run's orders if it falls in it."""
    from ecomctl.observe import load_run, observe
    from ecomctl.observe.reconcile import reconcile, window_orders

    _window, access, reader = lifecycle.reader(ctx, stage)
    end = ctx.clock()
    start = end - since
    last = load_run(ctx.home, stage)
    if last and datetime.fromisoformat(last["end"]) >= start and last.get("orders"):
        reconciliation = reconcile(reader, last["orders"])
    else:
        reconciliation = window_orders(reader, start.astimezone(UTC).isoformat(timespec="milliseconds")
                                       .replace("+00:00", "Z"))
    return observe(access, reader, stage, start, end, reconciliation)
