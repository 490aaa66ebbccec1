"""`ecomctl chaos`: list the scenarios, run one (`chaos <scenario>` or `chaos run <scenario>`),
see what is active (`chaos status`) and turn it off (`chaos off`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from ecomctl.errors import UsageError


class _ScenarioGroup(TyperGroup):
    """`ecomctl chaos payment-down` (and `ecomctl chaos --file X`) is `ecomctl chaos run ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["run", *args]
        return list(super().parse_args(ctx, args))


chaos_app = typer.Typer(cls=_ScenarioGroup, no_args_is_help=True,
                        help="Chaos experiments: list, run <scenario> (or just <scenario>), status, off.")


class _RichUI:
    def __init__(self, console: Any) -> None:
        self.console = console

    @contextmanager
    def wait(self, label: str, seconds: float) -> Iterator[Callable[[float], None]]:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=max(seconds, 0.001))
            yield lambda elapsed: progress.update(task, completed=min(elapsed, seconds))

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False)


def _rate(value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise UsageError(f"invalid --rate {value}: use a fraction between 0 and 1")
    return value


@chaos_app.command("run")
def run(
    ctx: typer.Context,
    scenario: str | None = typer.Argument(None, help="A scenario from `ecomctl chaos list`."),
    file: str | None = typer.Option(None, "--file", help="Run an experiment file from elsewhere."),
    duration: str | None = typer.Option(None, "--duration", help="How long the fault stays on: 30s, 5m, 1m30s."),
    rate: float | None = typer.Option(None, "--rate", help="Fraction of calls the flags hit (0..1)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Preflight and the hypothesis before; inject nothing."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip the steady-state hypothesis before and after."),
    json_file: str | None = typer.Option(None, "--json", help="Write the journal as JSON to FILE ('-': stdout)."),
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to run on."),
) -> None:
    """Run an experiment: exit 0 if the hypothesis held, 10 if not, 11 if a stop condition aborted it."""
    import json

    from ecomctl import render
    from ecomctl.chaos import catalog
    from ecomctl.chaos.runner import ChaosRun, RunOptions
    from ecomctl.chaos.spec import parse_duration

    try:
        seconds = parse_duration(duration, "--duration") if duration is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _, experiment = catalog.resolve(scenario, Path(file) if file else None)
    options = RunOptions(stage=stage, duration_s=seconds, rate=_rate(rate), dry_run=dry_run, verify=not no_verify)
    journal = ChaosRun(ctx.obj, experiment, options, _RichUI(ctx.obj.err)).execute()
    if json_file is not None and json_file != "-":
        Path(json_file).write_text(json.dumps(journal.to_json(), indent=2, default=str))
        ctx.obj.err.print(f"journal written to {json_file}", highlight=False)
    render.emit(ctx.obj, journal, json_file == "-")
    raise typer.Exit(int(journal.exit_status))


@chaos_app.command("list")
def list_scenarios(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the scenarios as JSON."),
) -> None:
    """The shipped scenarios and what each verifies."""
    from ecomctl import render
    from ecomctl.chaos import catalog
    from ecomctl.chaos.journal import ScenarioList, ScenarioRow

    rows = [ScenarioRow(e.name, e.verifies, [f.point for f in e.flags], e.duration, str(p))
            for p, e in catalog.load_all()]
    render.emit(ctx.obj, ScenarioList(rows), json_output)


@chaos_app.command("status")
def status(
    ctx: typer.Context,
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to show."),
    json_output: bool = typer.Option(False, "--json", help="Print the active flags as JSON."),
) -> None:
    """What is active: each flag, since when, until when, set by which run."""
    from ecomctl import lifecycle, render
    from ecomctl.chaos.journal import ChaosStatus

    _, _, reader = lifecycle.reader(ctx.obj, stage)
    active = reader.active_flags(ctx.obj.clock())
    names = {f.name for f in active}
    stale = sorted(n for n in reader.flags() if n not in names)
    render.emit(ctx.obj, ChaosStatus(stage, active, stale), json_output)


@chaos_app.command("off")
def off(
    ctx: typer.Context,
    scenario: str | None = typer.Argument(None, help="Turn off the flags this scenario set."),
    all_flags: bool = typer.Option(False, "--all", help="Delete every chaos flag of the stage (not the halt flag)."),
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to use."),
    json_output: bool = typer.Option(False, "--json", help="Print what was deleted as JSON."),
) -> None:
    """Delete chaos flags now: those of one scenario, or all of them."""
    from ecomctl import lifecycle, render
    from ecomctl.chaos import flags
    from ecomctl.chaos.journal import ChaosOff
    from ecomshop.faults import HALT_FLAG

    if (scenario is None) == (not all_flags):
        raise UsageError("name a scenario or pass --all (not both)")
    _, access, reader = lifecycle.reader(ctx.obj, stage)
    deleted = []
    for name, raw in sorted(reader.flags().items()):
        if name == HALT_FLAG or (scenario is not None and _scenario_of(raw) != scenario):
            continue
        if flags.delete(access.client("ssm"), f"{reader.topology.ssm_prefix}/{name}", None):
            deleted.append(name)
    render.emit(ctx.obj, ChaosOff(stage, deleted), json_output)


def _scenario_of(raw: str) -> str | None:
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value.get("scenario") if isinstance(value, dict) else None


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")
