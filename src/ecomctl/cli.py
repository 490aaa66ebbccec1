"""The Typer application: global options, the invocation's context, the error mapper.

Commands live in ``ecomctl.commands.<name>``; they parse arguments, call one service
function and render its result. They are registered here, explicitly, so a command that
fails to import fails loudly instead of vanishing from ``--help``.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from ecomctl.errors import ExitStatus, explain

# Typer ships its own copy of Click: its exceptions, not the click package's, are the
# ones that pass through (an exit code, Ctrl-C at a prompt, a usage error Click prints).
_PASS_THROUGH: tuple[type[BaseException], ...] = tuple(c for c in (typer.Exit, typer.Abort, *typer.BadParameter.__mro__)
                      if c.__name__ in ("Exit", "Abort", "ClickException"))


class _Group(TyperGroup):
    """Maps every expected error to one line and its exit code inside the app, so an
    in-process ``CliRunner`` sees exactly what a user's terminal does."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            _say(ctx, "interrupted")
            raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
        except Exception as exc:
            known = explain(exc)
            if known is None:
                if os.environ.get("ECOMCTL_DEBUG") == "1":
                    raise
                known = (f"{type(exc).__name__}: {exc} (ECOMCTL_DEBUG=1 shows the traceback)", ExitStatus.ERROR)
            message, code = known
            _say(ctx, f"[red]error:[/red] {message}")
            raise typer.Exit(int(code)) from None


def _say(ctx: Any, text: str) -> None:
    from ecomctl.console import err

    console = ctx.obj.err if ctx.obj is not None and hasattr(ctx.obj, "err") else err
    console.print(text, highlight=False, soft_wrap=True)


app = typer.Typer(
    name="ecomctl",
    cls=_Group,
    help="Game days on the ecomshop event-driven platform: up, chaos, load, status, down.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", help="AWS profile (default: AWS_PROFILE)."),
    region: str | None = typer.Option(None, "--region", help="AWS region (default: AWS_REGION)."),
) -> None:
    from ecomctl.console import err, out
    from ecomctl.context import Context

    ctx.obj = Context.from_environment(profile=profile, region=region, out=out, err=err)


def _register() -> None:
    from ecomctl.commands import chaos, cost, doctor, down, extend, gameday, load, observe, status, synth, up, windows

    for module in (synth, up, down, status, extend, windows, cost, doctor, chaos, load, observe, gameday):
        module.register(app)


_register()


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
