"""`ecomctl windows`: every window of every stage and target, time left and cost so far."""

from __future__ import annotations

import typer


def windows(
    ctx: typer.Context,
    scan_aws: bool = typer.Option(False, "--aws", help="Also find, by tag, stacks this machine has no state for."),
    json_output: bool = typer.Option(False, "--json", help="Print the windows as JSON."),
) -> None:
    """List every window with its time left and its cost so far (local: what AWS would charge)."""
    from ecomctl import render
    from ecomctl.aws.window_ops import list_windows

    with ctx.obj.err.status("reading windows...", spinner="dots"):
        result = list_windows(ctx.obj, scan_aws=scan_aws)
    render.emit(ctx.obj, result, json_output)


def register(app: typer.Typer) -> None:
    app.command()(windows)
