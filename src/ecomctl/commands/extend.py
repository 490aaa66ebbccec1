"""`ecomctl extend 30m`: move a window's deadline and re-arm every timer."""

from __future__ import annotations

import typer


def extend(
    ctx: typer.Context,
    by: str = typer.Argument(..., help="How much longer: 15m, 30m, 1h."),
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to extend."),
    allow_long: bool = typer.Option(False, "--allow-long", help="Allow the window to pass 3h from its start."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Move the deadline of the stage's window (3h from its start at most without --allow-long)."""
    from ecomctl import render
    from ecomctl.aws.window_ops import extend as run_extend
    from ecomctl.errors import UsageError
    from ecomctl.window import parse_ttl

    try:
        duration = parse_ttl(by)
    except UsageError:
        raise UsageError(f"invalid duration {by!r}: use a positive duration like 15m, 30m or 1h") from None
    with ctx.obj.err.status(f"extending window {stage}...", spinner="dots"):
        result = run_extend(ctx.obj, stage, duration, allow_long)
    render.emit(ctx.obj, result, json_output)


def register(app: typer.Typer) -> None:
    app.command()(extend)
