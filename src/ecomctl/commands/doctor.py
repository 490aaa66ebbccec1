"""`ecomctl doctor`: what a deploy to AWS needs, each check with how to fix it."""

from __future__ import annotations

import typer


def doctor(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check credentials, region, Node.js, the cdk toolkit and CDK bootstrap; non-zero if any is missing."""
    from ecomctl import render
    from ecomctl.aws.doctor import run_checks
    from ecomctl.errors import ExitStatus

    with ctx.obj.err.status("checking...", spinner="dots") as spinner:
        result = run_checks(ctx.obj, progress=lambda msg: spinner.update(f"checking {msg}..."))
    render.emit(ctx.obj, result, json_output)
    if not result.ok:
        raise typer.Exit(int(ExitStatus.PRECONDITION))


def register(app: typer.Typer) -> None:
    app.command()(doctor)
