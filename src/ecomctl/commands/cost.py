"""`ecomctl cost`: what a window of the synthesized stack costs on AWS, before deploying."""

from __future__ import annotations

import typer

from ecomctl.window import DEFAULT_TTL


def cost(
    ctx: typer.Context,
    ttl: str = typer.Option(DEFAULT_TTL, "--ttl", help="Window length to price: 45m, 2h, 3h."),
    stage: str = typer.Option("dev", "--stage", help="Stage to synthesize and price."),
    with_opensearch: bool = typer.Option(False, "--with-opensearch", help="Include the OpenSearch domain."),
    json_output: bool = typer.Option(False, "--json", help="Print the projection as JSON."),
    refresh_prices: bool = typer.Option(False, "--refresh-prices",
                                        help="Read the standing charges from the AWS Price List API first."),
) -> None:
    """Project the cost of a window from the synthesized template's resources (list prices)."""
    from ecomctl import render
    from ecomctl.aws import meter
    from ecomctl.aws.results import CostResult
    from ecomctl.window import parse_ttl

    hours = parse_ttl(ttl).total_seconds() / 3600
    if refresh_prices:
        from ecomctl.aws import price_list

        with ctx.obj.err.status("reading the AWS Price List API...", spinner="dots"):
            refreshed = price_list.refresh(ctx.obj)
        ctx.obj.err.print(f"prices refreshed: {len(refreshed.found)} from the Price List API"
                          + (f"; kept the table's figure for {', '.join(refreshed.missing)}" if refreshed.missing
                             else ""))
    with ctx.obj.err.status("synthesizing and pricing the stack...", spinner="dots"):
        projection, _ = meter.projection(stage, hours, with_opensearch)
    render.emit(ctx.obj, CostResult(stage, with_opensearch, projection), json_output)


def register(app: typer.Typer) -> None:
    app.command()(cost)
