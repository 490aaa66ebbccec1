"""`ecomctl synth`: write the CDK cloud assembly (cached by content hash)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from ecomctl.cli import app

out_console = Console()
err_console = Console(stderr=True)


@app.command()
def synth(
    stage: str = typer.Option("dev", "--stage", help="Stage to render (names resources ecom-<stage>-*)."),
    out: Path | None = typer.Option(None, "--out", help="Cloud assembly directory (default: cdk.out/ at the repo root)."),
    with_opensearch: bool = typer.Option(False, "--with-opensearch", help="Add the OpenSearch domain (costly)."),
    expires_at: str = typer.Option("none", "--expires-at", help="Window deadline tag, e.g. 2030-01-01T12:00:00Z."),
    force: bool = typer.Option(False, "--force", help="Synthesize even if the cached assembly is current."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Synthesize the platform's CloudFormation (no AWS call, no credentials, no Docker)."""
    from ecomctl.synth import synth as run_synth

    with err_console.status("synthesizing the CDK app (cdk-nag on)...", spinner="dots"):
        result = run_synth(stage=stage, out=out, with_opensearch=with_opensearch,
                           expires_at=expires_at, force=force)
    if json_output:
        out_console.print_json(json.dumps(result.to_json()))
        return
    how = "cached, unchanged sources" if result.cached else f"synthesized in {result.seconds:.1f} s"
    out_console.print(
        f"[bold]{result.stack}[/bold]: {result.resources} resources -> {result.out} ({how})", highlight=False)
