"""`ecomctl gameday`: the whole drill in one command, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecomctl.window import check_ttl, parse_ttl, resolve_cells

DEFAULT_REPORT = Path("gameday-report")


def gameday(
    ctx: typer.Context,
    target: str = typer.Option("local", "--target", help="local (embedded moto platform) or aws."),
    ttl: str = typer.Option("1h", "--ttl", help="Window length if the drill brings the window up."),
    rpm: float = typer.Option(1000.0, "--rpm", help="Orders per minute under the whole drill (open model)."),
    scenarios: str = typer.Option("all", "--scenarios", help="all, or a comma list: payment-down,duplicate-orders"),
    quick: bool = typer.Option(False, "--quick", help="Short phases: the whole drill in a few minutes."),
    report: Annotated[Path, typer.Option("--report", help="Directory for report.html/summary.md.")] = DEFAULT_REPORT,
    stage: str = typer.Option("dev", "--stage", help="Stage to drill."),
    cells: int | None = typer.Option(None, "--cells", show_default=False,
                                     help="local: the window's cells, if the drill brings it up (see `up --cells`)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before creating billable resources (aws)."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Up, baseline load, each chaos scenario under load, recovery, reconciliation, down; a report."""
    from ecomctl import targets
    from ecomctl.errors import PreconditionFailed, UsageError
    from ecomctl.gameday.drill import DrillOptions, scenario_names
    from ecomctl.gameday.view import run_with_progress

    duration = parse_ttl(ttl)
    check_ttl(duration, allow_long=False)
    targets.get(target)
    if rpm <= 0:
        raise UsageError(f"invalid --rpm {rpm:g}: the arrival rate must be above zero")
    cells = resolve_cells(cells, target)
    if target == "aws" and not yes:
        raise PreconditionFailed("a game day on aws deploys billable resources: check `ecomctl cost`, then pass --yes")
    options = DrillOptions(target=target, stage=stage, ttl=duration, rpm=rpm, scenarios=scenario_names(scenarios),
                           quick=quick, report_dir=report, cells=cells)
    run_with_progress(ctx.obj, options, json_output)


def register(app: typer.Typer) -> None:
    app.command()(gameday)
