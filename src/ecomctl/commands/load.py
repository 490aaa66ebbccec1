"""`ecomctl load`: Locust at an exact arrival rate against the window's API, then the verdict."""

from __future__ import annotations

from pathlib import Path

import typer


def _seconds(text: str, option: str) -> float:
    from ecomctl.errors import UsageError
    from ecomctl.window import parse_ttl

    try:
        return parse_ttl(text).total_seconds()
    except UsageError:
        raise UsageError(f"invalid {option} {text!r}: use a positive duration like 20s, 5m or 1h") from None


def load(
    ctx: typer.Context,
    rpm: float = typer.Option(..., "--rpm", help="Target arrival rate, requests per minute (an open model)."),
    duration: str = typer.Option("5m", "--duration", help="How long to send: 20s, 5m, 1h."),
    profile: str = typer.Option("steady", "--profile", help="steady, ramp, spike or black-friday."),
    slo_spec: str | None = typer.Option(None, "--slo", help="Gates, e.g. 'p99<800ms,errors<1%'; a violation exits 12."),
    workers: int = typer.Option(0, "--workers", help="Locust worker processes on this machine (0: one process)."),
    remote_workers: int = typer.Option(0, "--remote-workers", help="More workers expected from other machines."),
    master_bind: str = typer.Option("127.0.0.1", "--master-bind", help="Where the Locust master listens."),
    html: str | None = typer.Option(None, "--html", help="Write Locust's HTML report here."),
    json_file: str | None = typer.Option(None, "--json", help="Write the summary as JSON to FILE ('-': stdout)."),
    settle: str = typer.Option("60s", "--settle", help="How long to wait for the run's orders to settle."),
    no_observe: bool = typer.Option(False, "--no-observe", help="Skip the X-Ray/CloudWatch summary."),
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to load."),
) -> None:
    """Send orders at an exact rate, watch live, then reconcile the orders and summarize X-Ray/CloudWatch."""
    import json

    from ecomctl import render
    from ecomctl.errors import ExitStatus
    from ecomctl.load import view  # noqa: F401  (registers the renderer)
    from ecomctl.load.run import LoadOptions, run

    options = LoadOptions(stage, rpm, _seconds(duration, "--duration"), profile, slo_spec, workers, remote_workers,
                          master_bind, Path(html) if html else None, _seconds(settle, "--settle"), not no_observe)
    result = run(ctx.obj, options, progress=lambda msg: ctx.obj.err.print(msg, highlight=False))
    if json_file and json_file != "-":
        Path(json_file).write_text(json.dumps(result.to_json(), indent=2))
    render.emit(ctx.obj, result, json_file == "-")
    if not result.passed:
        violated = ", ".join(v.gate for v in result.verdicts if not v.passed)
        ctx.obj.err.print(f"[red]error:[/red] SLO violated: {violated}", highlight=False)
        raise typer.Exit(int(ExitStatus.SLO_VIOLATED))


def register(app: typer.Typer) -> None:
    app.command()(load)
