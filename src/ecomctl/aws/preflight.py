"""Before anything is created or destroyed on AWS: say where, for how long, at what cost; then ask.

The account comes from STS GetCallerIdentity (the credentials that will do the work, not
a profile's name); the question is asked only on a terminal: with no terminal and no
``--yes`` the answer is no, so a cron job or a pipe can never deploy by accident.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from ecomctl.context import Context
from ecomctl.errors import ExitStatus, UserError

DEFAULT_REGION = "us-east-1"


class NotConfirmed(UserError):
    exit_status = ExitStatus.PRECONDITION


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str
    region: str


def region_of(ctx: Context) -> str:
    return ctx.region or DEFAULT_REGION


def identity(ctx: Context, region: str | None = None) -> Identity:
    """Who the operator's credentials are (STS), in which region."""
    from ecomctl.targets.base import AwsAccess

    where = region or region_of(ctx)
    sts = AwsAccess(ctx.session(region=where), ctx.endpoint_url, where).client("sts")
    who = sts.get_caller_identity()
    return Identity(str(who["Account"]), str(who["Arn"]), where)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(ctx: Context, action: str, rows: dict[str, Any], yes: bool) -> None:
    """Print what is about to happen (always), then ask unless ``yes``; refuse without a terminal."""
    from ecomctl import render

    ctx.err.print(render.key_values(f"about to {action} on AWS", rows), highlight=False)
    if yes:
        return
    if not is_interactive():
        raise NotConfirmed(f"refusing to {action} on AWS without confirmation: no terminal to ask on; "
                           "pass --yes to confirm")
    import typer

    if not typer.confirm(f"{action} on AWS account {rows.get('account')}?", default=False, err=True):
        raise NotConfirmed(f"not confirmed: nothing was done ({action})")
