"""`ecomctl observe`: X-Ray, CloudWatch and the order reconciliation for the window's recent past."""

from __future__ import annotations

import typer


def observe(
    ctx: typer.Context,
    since: str = typer.Option("15m", "--since", help="How far back to look: 15m, 1h."),
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to observe."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Traces, metrics, alarms and orders of the last --since; the last load run's orders if it is in it."""
    from datetime import timedelta

    from ecomctl import render
    from ecomctl.commands.load import _seconds
    from ecomctl.load.run import observe_alone
    from ecomctl.observe import view  # noqa: F401  (registers the renderer)

    result = observe_alone(ctx.obj, stage, timedelta(seconds=_seconds(since, "--since")))
    render.emit(ctx.obj, result, json_output)


def register(app: typer.Typer) -> None:
    app.command()(observe)
