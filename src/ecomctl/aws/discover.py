"""Windows on AWS that this machine has no state for, found by the stacks' ``ecomctl:*`` tags."""

from __future__ import annotations

from ecomctl.aws.preflight import region_of
from ecomctl.context import Context
from ecomctl.state import WindowState
from ecomctl.targets.base import AwsAccess
from ecomctl.window import iso


def tagged_windows(ctx: Context) -> list[WindowState]:
    region = region_of(ctx)
    cf = AwsAccess(ctx.session(region=region), ctx.endpoint_url, region).client("cloudformation")
    found: list[WindowState] = []
    for page in cf.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
            if "ecomctl:stage" not in tags or stack["StackStatus"] == "DELETE_COMPLETE":
                continue
            started = iso(stack["CreationTime"])
            deadline = tags.get("ecomctl:expires-at", "none")
            found.append(WindowState(
                target="aws", stage=tags["ecomctl:stage"], deadline=deadline if deadline != "none" else started,
                started_at=started, ttl_s=0, status=str(stack["StackStatus"]).lower(), region=region,
                aws_endpoint=ctx.endpoint_url, part={"stack": stack["StackName"], "stack_created_at": started}))
    return found
