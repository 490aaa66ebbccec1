"""The AWS target: the CDK app deployed with the cdk toolkit (issue 9 builds the window).

Until then it can already be *read*: a window recorded by another tool version or
written by hand is found and reached with the operator's own credentials
(``--profile``/``--region``/``AWS_ENDPOINT_URL``), but nothing is created or destroyed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomctl.errors import UserError
from ecomctl.state import WindowState
from ecomctl.targets.base import AwsAccess, Found, Progress, StartRequest, Stopped, quiet

if TYPE_CHECKING:
    from ecomctl.context import Context
    from ecomshop.topology import Topology

NOT_YET = "--target aws is not implemented yet (a later issue deploys the CDK app); use --target local"


class AwsTarget:
    name = "aws"

    def start(self, ctx: Context, request: StartRequest, progress: Progress = quiet) -> Found:
        raise UserError(NOT_YET)

    def find(self, ctx: Context, window: WindowState) -> Found:
        return Found(window)

    def stop(self, ctx: Context, window: WindowState, progress: Progress = quiet) -> Stopped:
        raise UserError(NOT_YET)

    def access(self, ctx: Context, window: WindowState) -> AwsAccess:
        region = window.region or ctx.region or "us-east-1"
        return AwsAccess(ctx.session(region=region), window.aws_endpoint or ctx.endpoint_url, region)

    def topology(self, window: WindowState) -> Topology:
        from ecomshop.topology import build_topology

        return build_topology(window.stage)

    def describe(self, window: WindowState) -> dict[str, Any]:
        return {k: window.part.get(k) for k in ("account", "stack") if k in window.part}
