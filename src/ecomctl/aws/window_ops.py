"""The window rules both targets share: ``extend`` and the list of every window.

``extend`` moves the deadline under the stage's lock. The 3 h bound counts from the
window's start (extending a 2h50m window by 30m needs ``--allow-long``). Every timer is
re-armed: on AWS the teardown schedule is moved first (if that fails the window keeps
its old deadline); then the state file is rewritten, which a local platform process
re-reads in its watchdog.
"""

from __future__ import annotations

from datetime import timedelta

from ecomctl import lifecycle, state
from ecomctl.aws import discover, meter, teardown
from ecomctl.aws.results import ExtendResult, WindowRow, WindowsResult
from ecomctl.context import Context
from ecomctl.errors import PreconditionFailed, UsageError
from ecomctl.locks import stage_lock
from ecomctl.window import LONG_TTL, format_duration, iso, parse_iso


def check_extension(started: str, deadline: str, by: timedelta, allow_long: bool) -> tuple[str, int]:
    """(new deadline, new length in s); past 3 h from the start is refused without ``allow_long``."""
    start, new = parse_iso(started), parse_iso(deadline) + by
    length = new - start
    if length > LONG_TTL and not allow_long:
        raise UsageError(f"extending by {format_duration(by.total_seconds())} makes the window "
                         f"{format_duration(length.total_seconds())} long (more than 3h from its start "
                         f"{started}); pass --allow-long if you mean it")
    return iso(new), int(length.total_seconds())


def extend(ctx: Context, stage: str, by: timedelta, allow_long: bool) -> ExtendResult:
    with stage_lock(stage, "extend"):
        _target, window = lifecycle.require(ctx, stage)
        if parse_iso(window.deadline) <= ctx.clock():
            raise PreconditionFailed(f"window {stage!r} is past its deadline {window.deadline}; it is being torn down")
        old = window.deadline
        new, length = check_extension(window.started_at, window.deadline, by, allow_long)
        rearmed = ["state file (the platform's watchdog re-reads it)"] if window.target == "local" else []
        if window.target == "aws":
            rearmed.append(teardown.rearm(ctx, window, new))
        window.deadline, window.ttl_s = new, length
        state.write(window)
        return ExtendResult(stage, window.target, old, new, length, rearmed)


def _row(ctx: Context, window: state.WindowState, known: bool = True) -> WindowRow:
    now = ctx.clock()
    here, on_aws = meter.so_far(window, now) or (0.0, 0.0)
    left = max(0, int((parse_iso(window.deadline) - now).total_seconds()))
    return WindowRow(window.stage, window.target, window.status, window.region, window.started_at,
                     window.deadline, left, round(meter.rate(window) or 0.0, 6), round(here, 4), round(on_aws, 4),
                     window.part.get("stack") if window.target == "aws" else None, known)


def list_windows(ctx: Context, scan_aws: bool = False) -> WindowsResult:
    """Every recorded window (stale ones cleaned on the way), and with ``scan_aws`` the stacks found by tag."""
    rows: list[WindowRow] = []
    cleaned: list[str] = []
    for stage in state.stages():
        _target, found = lifecycle.find(ctx, stage)
        if found.window is None:
            if found.cleaned is not None:
                cleaned.append(f"{found.cleaned.stage} ({found.cleaned.why})")
            continue
        rows.append(_row(ctx, found.window))
    if scan_aws:
        known = {r.stack for r in rows if r.stack}
        rows += [_row(ctx, w, known=False) for w in discover.tagged_windows(ctx) if w.part.get("stack") not in known]
    return WindowsResult(rows, cleaned)
