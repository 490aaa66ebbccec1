"""`ecomctl down`: stop a window now and check, by inventory, that nothing of it is left."""

from __future__ import annotations

from typing import Any

import typer


def down(
    ctx: typer.Context,
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to stop."),
    yes: bool = typer.Option(False, "--yes", "-y", help="aws: tear down without asking."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Stop the stage's window at once, on the target it runs on."""
    from ecomctl import lifecycle, render
    from ecomctl.errors import UserError
    from ecomctl.results import DownResult

    with ctx.obj.err.status(f"stopping window {stage}...", spinner="dots") as spinner:
        result = lifecycle.down(ctx.obj, stage, progress=lambda msg: spinner.update(f"{msg}..."),
                                before=_preflight(ctx.obj, yes, spinner))
    render.emit(ctx.obj, result, json_output)
    if isinstance(result, DownResult) and result.leftovers:
        raise UserError(f"window {stage!r} stopped, but left: {', '.join(result.leftovers)}")


def _preflight(obj: Any, yes: bool, spinner: Any) -> Any:
    """For an AWS window: print account, region, stage and cost, and ask (``--yes`` skips the question)."""

    def before(window: Any) -> None:
        if window.target == "aws":
            from ecomctl.aws.target_ops import down_preflight

            spinner.stop()
            down_preflight(obj, window, yes)
            spinner.start()

    return before


def register(app: typer.Typer) -> None:
    app.command()(down)
