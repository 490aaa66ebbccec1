"""One place that turns results into what the operator sees: Rich tables or ``--json``.

``tables(result)`` gives the renderables of a result (a report can embed them again);
``emit`` prints them, or the result's JSON, and the notes that go to stderr.
"""

from __future__ import annotations

import json
from functools import singledispatch
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from ecomctl.context import Context
from ecomctl.results import DownResult, NoWindow, StatusResult, UpResult
from ecomctl.window import format_duration


def emit(ctx: Context, result: Any, json_output: bool) -> None:
    cleaned = getattr(result, "cleaned", None)
    if cleaned is not None:
        ctx.err.print(f"cleaned stale state of stage {cleaned.stage!r} ({cleaned.why})", highlight=False)
    if json_output:
        ctx.out.print_json(json.dumps(result.to_json()))
        return
    for item in tables(result):
        ctx.out.print(item, highlight=False, soft_wrap=isinstance(item, str))


def key_values(title: str, rows: dict[str, Any]) -> Table:
    table = Table(show_header=False, title=title, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, "-" if value is None else str(value))
    return table


def columns(title: str, headers: list[str], rows: list[list[Any]]) -> Table:
    """A table whose first column is a name and the others right-aligned figures."""
    table = Table(title=title, title_justify="left")
    for i, head in enumerate(headers):
        table.add_column(head, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    return table


@singledispatch
def tables(result: Any) -> list[RenderableType]:
    raise TypeError(f"no renderer for {type(result).__name__}")


@tables.register
def _no_window(result: NoWindow) -> list[RenderableType]:
    return [f"no window is running for stage {result.stage!r}"]


def _target_rows(info: dict[str, Any]) -> dict[str, Any]:
    """A target's facts as table rows; the cells of a local window, one line each."""
    rows = {}
    for key, value in info.items():
        if key == "cells" and isinstance(value, list):
            value = "\n".join(f"cell {c.get('cell')}: pid {c.get('pid')}, API {c.get('api')}, "
                               f"AWS endpoint {c.get('aws_endpoint')}" for c in value if isinstance(c, dict))
            value += "\n(the API above routes to them; the AWS endpoint above is cell 0, which also holds the " \
                     "shared SSM, X-Ray, CloudWatch, S3 and Scheduler)"
        rows[key.replace("_", " ")] = value
    return rows


@tables.register
def _up(result: UpResult) -> list[RenderableType]:
    w = result.window
    rows: dict[str, Any] = {"API": w.api_url, "AWS endpoint": w.aws_endpoint or "(the region's own)",
                            "deadline": f"{w.deadline} (in {format_duration(w.ttl_s)})"}
    rows.update(_target_rows(result.target_info))
    shown: list[RenderableType] = [key_values(f"{w.target} window [bold]{w.stage}[/bold] is up", rows)]
    if w.api_url:
        order = '{"customerId":"c-1","items":[{"sku":"SKU-0001","quantity":1,"unitPrice":9.99}]}'
        shown.append(f"try: curl -s {w.api_url}/orders -H 'Content-Type: application/json' -d '{order}'")
    if w.aws_endpoint:
        shown.append(f"     AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {w.region} "
                     f"--endpoint-url {w.aws_endpoint} sqs list-queues")
    return shown


@tables.register
def _status(result: StatusResult) -> list[RenderableType]:
    w = result.window
    head = {"time left": f"{format_duration(result.ttl_remaining_s)} (deadline {w.deadline})",
            "API": w.api_url, "AWS endpoint": w.aws_endpoint or "(the region's own)"}
    head.update(_target_rows(result.target_info))
    shown: list[RenderableType] = [key_values(f"{w.target} window [bold]{w.stage}[/bold]", head)]
    shown.append(columns("queues", ["queue", "visible", "in flight", "DLQ"],
                         [[q.queue, q.visible, q.in_flight, f"[red]{q.dlq}[/red]" if q.dlq else 0]
                          for q in result.queues]))
    shown.append(columns("orders", ["status", "count"],
                         [[k, v] for k, v in result.orders.items()] or [["(none yet)", 0]]))
    shown.append(columns("circuit breakers", ["dependency", "state", "failures", "since"],
                         [[b.provider, b.state if b.state == "CLOSED" else f"[red]{b.state}[/red]", b.failures,
                           b.changed_at or "-"] for b in result.breakers]))
    if result.flags:
        shown.append(columns("active chaos flags", ["flag", "effect", "expires", "left", "set by"],
                             [[f.name, f.effect, f.expires_at, format_duration(f.remaining_s),
                               f.value.get("run_id") or f.value.get("owner") or "-"] for f in result.flags]))
    else:
        shown.append("no active chaos flags")
    return shown


@tables.register
def _down(result: DownResult) -> list[RenderableType]:
    w = result.window
    how = " (had to be killed)" if result.forced else ""
    what = ", ".join(f"{k} {v}" for k, v in result.details.items() if v not in (None, [], ""))
    return [f"window [bold]{w.stage}[/bold] ({w.target}) is down{how} after {format_duration(result.lasted_s)}"
            f"{': ' + what + ' gone' if what else ''}; state removed"]
