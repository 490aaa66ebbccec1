"""`ecomctl synth`: write the CDK cloud assembly (cached by content hash)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecomctl.console import err as err_console
from ecomctl.console import out as out_console


def synth(
    stage: Annotated[str, typer.Option("--stage", help="Stage to render (resources named ecom-<stage>-*).")] = "dev",
    out: Annotated[Path | None, typer.Option(
        "--out", help="Cloud assembly directory (default: cdk.out/ at the repository root).")] = None,
    with_opensearch: Annotated[bool, typer.Option(
        "--with-opensearch", help="Add the OpenSearch domain (the costly part; off by default).")] = False,
    expires_at: Annotated[str, typer.Option(
        "--expires-at", help="Window deadline for the ecomctl:expires-at tag, e.g. 2030-01-01T12:00:00Z.")] = "none",
    force: Annotated[bool, typer.Option("--force", help="Synthesize even if the cached assembly is current.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Synthesize the platform's CloudFormation (no AWS call, no credentials, no Docker)."""
    from ecomctl.synth import synth as run_synth

    with err_console.status("synthesizing the CDK app (cdk-nag on)...", spinner="dots"):
        result = run_synth(stage=stage, out=out, with_opensearch=with_opensearch,
                           expires_at=expires_at, force=force)
    if json_output:
        out_console.print_json(json.dumps(result.to_json()))
        return
    how = "cached: sources and options unchanged" if result.cached else f"synthesized in {result.seconds:.1f} s"
    out_console.print(
        f"[bold]{result.stack}[/bold]: {result.resources} resources -> {result.out} ({how})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(synth)
