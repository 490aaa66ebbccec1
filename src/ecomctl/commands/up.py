"""`ecomctl up`: start a game-day window (the local target runs the platform on moto)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ecomctl.cli import app
from ecomctl.console import err, out
from ecomctl.errors import UsageError, UserError
from ecomctl.window import DEFAULT_TTL, check_ttl, format_duration, parse_ttl


@app.command()
def up(
    target: str = typer.Option("local", "--target", help="local (embedded moto platform) or aws."),
    ttl: str = typer.Option(DEFAULT_TTL, "--ttl", help="Window length: 45m, 2h, 2h30m (max 3h without --allow-long)."),
    stage: str = typer.Option("dev", "--stage", help="Stage name (resources are named ecom-<stage>-*)."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Order API port (default: a free one)."),
    allow_long: bool = typer.Option(False, "--allow-long", help="Allow a window longer than 3h."),
    tracing: bool = typer.Option(True, "--tracing/--no-tracing", help="X-Ray segments for every invocation."),
    json_output: bool = typer.Option(False, "--json", help="Print the window as JSON."),
) -> None:
    """Bring the platform up for a bounded window; it tears itself down at the deadline."""
    duration = parse_ttl(ttl)
    check_ttl(duration, allow_long)
    if target == "aws":
        raise UserError("--target aws is not implemented yet (a later issue deploys the CDK app); use --target local")
    if target != "local":
        raise UsageError(f"unknown --target {target!r}: use local or aws")

    from ecomctl.local import launcher

    with err.status("starting the local platform...", spinner="dots") as spinner:
        window, cleaned = launcher.start(
            stage, duration, api_port=port, tracing=tracing,
            progress=lambda msg: spinner.update(f"{msg}..."),
        )
    if cleaned is not None:
        err.print(f"cleaned stale state of stage {cleaned.stage!r} (pid {cleaned.pid} was gone)", highlight=False)
    info = {
        "target": window.target, "stage": window.stage, "api_url": window.api_url,
        "aws_endpoint": window.aws_endpoint, "deadline": window.deadline, "ttl_s": window.ttl_s,
        "pid": window.pid, "state_file": str(_state_file(stage)), "log": window.log,
    }
    if json_output:
        out.print_json(json.dumps(info))
        return
    table = Table(title=f"local window [bold]{stage}[/bold] is up", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("API", str(window.api_url))
    table.add_row("AWS endpoint", str(window.aws_endpoint))
    table.add_row("deadline", f"{window.deadline} (in {format_duration(window.ttl_s)})")
    table.add_row("state", str(_state_file(stage)))
    table.add_row("log", window.log)
    table.add_row("pid", str(window.pid))
    out.print(table)
    out.print(f"try: curl -s {window.api_url}/orders -H 'Content-Type: application/json' "
              "-d '{\"customerId\":\"c-1\",\"items\":[{\"sku\":\"SKU-0001\",\"quantity\":1,\"unitPrice\":9.99}]}'",
              highlight=False, soft_wrap=True)
    out.print(f"     AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {window.region} "
              f"--endpoint-url {window.aws_endpoint} sqs list-queues", highlight=False, soft_wrap=True)


def _state_file(stage: str) -> object:
    from ecomctl.state import state_path

    return state_path(stage)
