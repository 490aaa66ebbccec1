"""`ecomctl up`: start a game-day window on a target."""

from __future__ import annotations

import typer

from ecomctl.window import DEFAULT_TTL, check_ttl, parse_ttl, resolve_cells


def up(
    ctx: typer.Context,
    target: str = typer.Option("local", "--target", help="local (embedded moto platform) or aws."),
    ttl: str = typer.Option(DEFAULT_TTL, "--ttl", help="Window length: 45m, 2h, 2h30m (max 3h without --allow-long)."),
    stage: str = typer.Option("dev", "--stage", help="Stage name (resources are named ecom-<stage>-*)."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Order API port (default: a free one)."),
    allow_long: bool = typer.Option(False, "--allow-long", help="Allow a window longer than 3h."),
    tracing: bool = typer.Option(True, "--tracing/--no-tracing", help="X-Ray segments, sampled as Lambda does."),
    with_opensearch: bool = typer.Option(False, "--with-opensearch", help="aws: add the OpenSearch domain (costly)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="aws: deploy without asking (account, cost are printed)."),
    notify: str | None = typer.Option(None, "--notify", envvar="ECOMCTL_NOTIFY", metavar="EMAIL",
                                      help="aws: e-mail the teardown's reports (nothing left, or what is) here."),
    cells: int | None = typer.Option(None, "--cells", show_default=False,
                                     help="local: N whole platforms, one process (one core) each, behind one API "
                                          "[default: one per core, up to 4; ECOMCTL_LOCAL_CELLS]."),
    json_output: bool = typer.Option(False, "--json", help="Print the window as JSON."),
) -> None:
    """Bring the platform up for a bounded window; it tears itself down at the deadline."""
    from ecomctl import lifecycle, render, targets
    from ecomctl.targets.base import StartRequest
    from ecomctl.window import check_email

    duration = parse_ttl(ttl)
    check_ttl(duration, allow_long)
    targets.get(target)  # an unknown target is a usage error before anything starts
    cells = resolve_cells(cells, target)
    aws_flags = (("--yes",) if yes else ()) + (("--with-opensearch",) if with_opensearch else ())
    request = StartRequest(stage=stage, ttl=duration, api_port=port, tracing=tracing, cells=cells,
                           extra_args=aws_flags if target == "aws" else (),
                           notify=check_email(notify) if notify and target == "aws" else None)
    if target == "aws":  # it asks first, then shows its own progress (arming, the stack's events)
        result = lifecycle.up(ctx.obj, target, request, progress=lambda msg: ctx.obj.err.print(f"{msg}..."))
    else:
        with ctx.obj.err.status(f"starting the {target} platform...", spinner="dots") as spinner:
            result = lifecycle.up(ctx.obj, target, request, progress=lambda msg: spinner.update(f"{msg}..."))
    render.emit(ctx.obj, result, json_output)


def register(app: typer.Typer) -> None:
    app.command()(up)
