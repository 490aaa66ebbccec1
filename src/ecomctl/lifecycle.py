"""The window's life: up, find, status, down, on whichever target a window runs.

Each function takes the invocation's context and returns a result object; it never
prints (progress goes to the callback it is given). ``find`` reads the stage's state and
dispatches on the target recorded there, so ``status`` and ``down`` need no ``--target``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ecomctl import state, targets
from ecomctl.aws import meter
from ecomctl.context import Context
from ecomctl.errors import PreconditionFailed, UserError
from ecomctl.locks import stage_lock
from ecomctl.reads import Reader
from ecomctl.results import DownResult, NoWindow, StatusResult, UpResult
from ecomctl.targets.base import AwsAccess, Found, Progress, StartRequest, Target, quiet
from ecomctl.window import parse_iso


def find(ctx: Context, stage: str) -> tuple[Target | None, Found]:
    """The stage's window, checked on its own target (a stale one is cleaned on the way)."""
    recorded = state.read(stage)
    if recorded is None:
        return None, Found(None)
    target = targets.get(recorded.target)
    return target, target.find(ctx, recorded)


def require(ctx: Context, stage: str) -> tuple[Target, state.WindowState]:
    """A ready window of ``stage``, or a one-line error saying how to get one."""
    target, found = find(ctx, stage)
    if target is None or found.window is None:
        raise PreconditionFailed(f"no window is running for stage {stage!r}; start one with "
                                 f"`ecomctl up --stage {stage}`")
    if found.window.status != "ready":
        raise PreconditionFailed(f"window {stage!r} is still starting; try again in a few seconds")
    return target, found.window


def reader(ctx: Context, stage: str) -> tuple[state.WindowState, AwsAccess, Reader]:
    """The read layer on a ready window of ``stage``."""
    target, window = require(ctx, stage)
    return window, target.access(ctx, window), target.reader(ctx, window)


def up(ctx: Context, target_name: str, request: StartRequest, progress: Progress = quiet,
       before: Callable[[], None] | None = None) -> UpResult:
    """Start a window under the stage's lock; ``before`` (the AWS preflight) runs inside it."""
    target = targets.get(target_name)
    with stage_lock(request.stage, "up"):
        if before is not None:
            before()
        found = target.start(ctx, request, progress)
    if found.window is None:  # pragma: no cover - a target raises instead
        raise UserError(f"the {target_name} window of stage {request.stage!r} did not come up")
    return UpResult(found.window, target.describe(found.window), found.cleaned)


def ttl_remaining(ctx: Context, window: state.WindowState) -> int:
    return max(0, int((parse_iso(window.deadline) - ctx.clock()).total_seconds()))


def status(ctx: Context, stage: str) -> StatusResult | NoWindow:
    target, found = find(ctx, stage)
    if target is None or found.window is None:
        return NoWindow(stage, found.cleaned)
    window = found.window
    if window.status != "ready":
        raise PreconditionFailed(f"window {stage!r} is still starting; try again in a few seconds")
    read = target.reader(ctx, window)
    return StatusResult(
        window=window, ttl_remaining_s=ttl_remaining(ctx, window),
        target_info={**target.describe(window), "cost": meter.summary(window, ctx.clock()),
                     "partner_registration": read.partner_registration()},
        queues=read.queue_depths(), orders=read.order_counts(), flags=read.active_flags(ctx.clock()),
        breakers=read.breakers(), cleaned=found.cleaned,
    )


def down(ctx: Context, stage: str, progress: Progress = quiet,
         before: Callable[[state.WindowState], None] | None = None) -> DownResult | NoWindow:
    """Stop the stage's window under its lock; ``before`` (the AWS preflight) sees the window first."""
    with stage_lock(stage, "down"):
        target, found = find(ctx, stage)
        if target is None or found.window is None:
            return NoWindow(stage, found.cleaned, stopped=False)
        if before is not None:
            before(found.window)
        stopped = target.stop(ctx, found.window, progress)
    lasted = int((datetime.now(UTC) - parse_iso(found.window.started_at)).total_seconds())
    return DownResult(found.window, stopped.forced, stopped.leftovers, max(0, lasted), stopped.details)
