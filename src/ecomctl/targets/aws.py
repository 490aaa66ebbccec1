"""The AWS target: the CDK app deployed with the pinned cdk CLI, for a bounded window.

``start`` prints account, region, stage, deadline and projected cost and asks (``--yes``
skips the question; no terminal and no ``--yes`` refuses), arms a server-side teardown
schedule, then deploys (``ecomctl.aws.target_ops``). ``stop`` runs the reaper and judges
the result by inventory. A window is reached with the operator's own credentials
(``--profile``/``--region``/``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomctl.state import WindowState
from ecomctl.targets.base import AwsAccess, Found, Progress, StartRequest, Stopped, quiet

if TYPE_CHECKING:
    from ecomctl.context import Context
    from ecomctl.reads import Reader
    from ecomshop.topology import Topology


class AwsTarget:
    name = "aws"

    def start(self, ctx: Context, request: StartRequest, progress: Progress = quiet) -> Found:
        from ecomctl.aws import target_ops

        return Found(target_ops.start(ctx, request, progress))

    def find(self, ctx: Context, window: WindowState) -> Found:
        return Found(window)

    def stop(self, ctx: Context, window: WindowState, progress: Progress = quiet) -> Stopped:
        from ecomctl.aws import target_ops

        return target_ops.stop(ctx, window, progress)

    def access(self, ctx: Context, window: WindowState) -> AwsAccess:
        region = window.region or ctx.region or "us-east-1"
        return AwsAccess(ctx.session(region=region), window.aws_endpoint or ctx.endpoint_url, region)

    def topology(self, window: WindowState) -> Topology:
        from ecomshop.topology import build_topology

        return build_topology(window.stage)

    def reader(self, ctx: Context, window: WindowState) -> Reader:
        from ecomctl.reads import Reader

        return Reader(self.access(ctx, window), self.topology(window))

    def describe(self, window: WindowState) -> dict[str, Any]:
        part = window.part
        schedule = part.get("schedule") or {}
        return {"account": part.get("account"), "stack": part.get("stack"), "api_auth": part.get("api_auth"),
                "teardown": _teardown(schedule), "usd_per_hour": part.get("usd_per_hour")}


def _teardown(schedule: dict[str, Any]) -> str | None:
    if not schedule:
        return None
    text = f"{schedule.get('schedule')} {schedule.get('expression')} UTC"
    if schedule.get("sweeper"):  # armed with the reaper function (state written since the sweeper exists)
        text += f" -> {str(schedule.get('target', '')).rsplit(':', 1)[-1]}; {schedule['sweeper']} every 15 min after"
    if schedule.get("account_sweeper"):
        text += f"; {schedule['account_sweeper']} every 15 min (by the ecomctl:expires-at tag)"
    return text
