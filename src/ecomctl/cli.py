"""The Typer application: global options, command registration, one error mapper.

Commands live in ecomctl.commands.<name> and only parse arguments and render; the
logic they call lives in modules by concern (ecomctl.local, ecomctl.synth, ...).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from ecomctl.console import err
from ecomctl.errors import ExitStatus, UserError

app = typer.Typer(
    name="ecomctl",
    help="Game days on the ecomshop event-driven platform: up, chaos, load, status, down.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its commands on `app` when imported.
COMMAND_MODULES = ("synth", "up", "down", "status")


@app.callback()
def _global(
    profile: str | None = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile (aws target)."),
    region: str | None = typer.Option(None, "--region", envvar="AWS_REGION", help="AWS region (aws target)."),
) -> None:
    if profile:
        os.environ["AWS_PROFILE"] = profile
    if region:
        os.environ["AWS_REGION"] = region
        os.environ.setdefault("AWS_DEFAULT_REGION", region)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"ecomctl.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ecomctl.commands.{name}":
                raise


_register()


def main() -> None:
    """Console entry point: expected errors become one line and an exit code."""
    debug = os.environ.get("ECOMCTL_DEBUG") == "1"
    try:
        app()  # standalone: Click prints usage errors itself and exits 2
    except UserError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(int(exc.exit_status))
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(int(ExitStatus.INTERRUPTED))
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: never a traceback to the user
        if debug:
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (ECOMCTL_DEBUG=1 shows the traceback)",
                  highlight=False, soft_wrap=True)
        sys.exit(int(ExitStatus.ERROR))


if __name__ == "__main__":
    # Commands register on the imported `ecomctl.cli` module, not on this __main__ copy.
    from ecomctl.cli import main as _main

    _main()
