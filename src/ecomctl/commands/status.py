"""`ecomctl status`: time left, endpoints, queues, orders, breakers and chaos flags."""

from __future__ import annotations

import typer


def status(
    ctx: typer.Context,
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to show."),
    json_output: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the stage's window: deadline, endpoints, queues, orders, breakers and active chaos."""
    from ecomctl import lifecycle, render

    render.emit(ctx.obj, lifecycle.status(ctx.obj, stage), json_output)


def register(app: typer.Typer) -> None:
    app.command()(status)
