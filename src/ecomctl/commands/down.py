"""`ecomctl down`: stop a window now and check that nothing of it is left."""

from __future__ import annotations

import json

import typer

from ecomctl.cli import app
from ecomctl.console import err, out
from ecomctl.errors import UserError


@app.command()
def down(
    stage: str = typer.Option("dev", "--stage", help="Stage whose window to stop."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Stop the stage's window at once (process, ports and state file)."""
    from ecomctl.local import launcher

    with err.status(f"stopping window {stage}...", spinner="dots") as spinner:
        result = launcher.stop(stage, progress=lambda msg: spinner.update(f"{msg}..."))
    if result.cleaned is not None:
        err.print(f"cleaned stale state of stage {stage!r} (pid {result.cleaned.pid} was gone)", highlight=False)
    if result.window is None:
        if json_output:
            out.print_json(json.dumps({"window": None, "stopped": False}))
        else:
            out.print(f"no window is running for stage {stage!r}", highlight=False)
        return
    if result.leftovers:
        raise UserError(f"window {stage!r} stopped, but left: {', '.join(result.leftovers)}")
    if json_output:
        out.print_json(json.dumps({"window": stage, "stopped": True, "forced": result.forced,
                                   "pid": result.window.pid}))
        return
    how = " (had to be killed)" if result.forced else ""
    out.print(f"window [bold]{stage}[/bold] is down{how}: process {result.window.pid} gone, "
              f"ports {', '.join(map(str, result.window.ports)) or '-'} closed, state removed", highlight=False)
