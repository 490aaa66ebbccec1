"""`ecomctl status`: time left, endpoints, queue depths, orders by status, chaos flags."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ecomctl.cli import app
from ecomctl.console import err, out
from ecomctl.errors import UserError
from ecomctl.window import format_duration


@app.command()
def status(
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to show."),
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the stage's window: deadline, endpoints, queues, orders and active chaos."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ecomctl.local import inspect, launcher

    window, cleaned = launcher.find(stage)
    if cleaned is not None:
        err.print(f"cleaned stale state of stage {stage!r} (pid {cleaned.pid} was gone)", highlight=False)
    if window is None:
        if json_output:
            out.print_json(json.dumps({"window": None}))
        else:
            out.print(f"no window is running for stage {stage!r}", highlight=False)
        return
    if window.status != "ready":
        raise UserError(f"window {stage!r} is still starting (pid {window.pid}); log: {window.log}")
    try:
        snap = inspect.snapshot(window)
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"cannot read window {stage!r} at {window.aws_endpoint}: {exc}") from None
    if json_output:
        out.print_json(json.dumps(snap))
        return

    head = Table(show_header=False, title=f"{snap['target']} window [bold]{stage}[/bold]", title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    head.add_row("time left", f"{format_duration(snap['ttl_remaining_s'])} (deadline {snap['deadline']})")
    head.add_row("API", str(snap["api_url"]))
    head.add_row("AWS endpoint", str(snap["aws_endpoint"]))
    out.print(head)

    queues = Table(title="queues", title_justify="left")
    for col in ("queue", "visible", "in flight", "DLQ"):
        queues.add_column(col, justify="left" if col == "queue" else "right")
    for name, q in snap["queues"].items():
        dlq = f"[red]{q['dlq']}[/red]" if q["dlq"] else "0"
        queues.add_row(name, str(q["visible"]), str(q["in_flight"]), dlq)
    out.print(queues)

    orders = Table(title="orders", title_justify="left")
    orders.add_column("status")
    orders.add_column("count", justify="right")
    for name, n in snap["orders"].items():
        orders.add_row(name, str(n))
    if not snap["orders"]:
        orders.add_row("(none yet)", "0")
    out.print(orders)

    if snap["chaos"]:
        chaos = Table(title="active chaos flags", title_justify="left")
        for col in ("flag", "expires", "left", "effect"):
            chaos.add_column(col)
        for f in snap["chaos"]:
            chaos.add_row(f["name"], f["expires_at"], format_duration(f["remaining_s"]),
                          str(f["value"].get("effect", "")))
        out.print(chaos)
    else:
        out.print("no active chaos flags")
