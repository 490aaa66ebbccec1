"""``up`` and ``down`` on AWS: preflight, arm the teardown, deploy; reap, verify, disarm.

Order matters. Nothing is created before the operator has seen account, region, stage,
deadline and projected cost (and said yes). The teardown schedule is armed *before* the
deploy: if arming fails, nothing is deployed; if the deploy fails, the schedule stays
armed and the window's state stays, so the stack cannot outlive its deadline and ``down``
can still reap it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecomctl import state
from ecomctl.aws import meter, preflight, teardown
from ecomctl.aws.results import usd
from ecomctl.context import Context
from ecomctl.errors import PreconditionFailed, UserError
from ecomctl.targets.base import AwsAccess, Progress, StartRequest, Stopped
from ecomctl.window import format_duration, iso
from ecomshop.topology import build_topology


def stack_name(stage: str) -> str:
    return f"ecom-{stage}"


def access_for(ctx: Context, region: str, endpoint: str | None) -> AwsAccess:
    return AwsAccess(ctx.session(region=region), endpoint, region)


def _refuse_existing(stage: str) -> None:
    current = state.read(stage)
    if current is not None:
        raise PreconditionFailed(f"stage {stage!r} already has a {current.target} window until {current.deadline}; "
                                 f"run `ecomctl down --stage {stage}` first")


def _plan(ctx: Context, request: StartRequest, now: datetime) -> tuple[Any, Any, Any, str]:
    who = preflight.identity(ctx)
    deadline = iso(now + request.ttl)
    with_os = "--with-opensearch" in request.extra_args
    projection, synthesized = meter.projection(request.stage, request.ttl.total_seconds() / 3600, with_os,
                                               expires_at=deadline,
                                               out=meter.assembly_dir(request.stage, with_os).with_suffix(".aws"))
    return who, projection, synthesized, deadline


def _record(request: StartRequest, who: Any, projection: Any, assembly: str, deadline: str, now: datetime,
            endpoint: str | None) -> state.WindowState:
    return state.WindowState(
        target="aws", stage=request.stage, deadline=deadline, started_at=iso(now),
        ttl_s=int(request.ttl.total_seconds()), status="arming", region=who.region, aws_endpoint=endpoint,
        part={"account": who.account, "stack": stack_name(request.stage), "assembly": assembly,
              "usd_per_hour": round(projection.usd_per_hour, 6),
              "with_opensearch": "--with-opensearch" in request.extra_args,
              "api_auth": build_topology(request.stage).api_auth, "notify": request.notify})


def _arm(access: AwsAccess, window: state.WindowState, progress: Progress) -> None:
    progress(f"arming the teardown schedule for {window.deadline}")
    try:
        armed = teardown.arm(access, window.stage, window.part["account"], window.part["stack"], window.deadline,
                             iso(datetime.now(UTC)), notify=window.part.get("notify"))
    except Exception as exc:
        state.remove(window.stage)
        raise UserError(f"arming the teardown failed ({type(exc).__name__}: {exc}); nothing was deployed") from None
    window.part["schedule"] = armed.to_json()
    window.status = "deploying"
    state.write(window)


def _deploy(ctx: Context, access: AwsAccess, window: state.WindowState, progress: Progress) -> None:
    from pathlib import Path

    from ecomctl.aws import deploy, moto_compat

    assembly = Path(window.part["assembly"])
    if moto_compat.is_moto(access.endpoint_url):
        progress("the endpoint is a moto server: deploying a moto-compatible copy of the assembly")
        assembly = moto_compat.compatible_copy(assembly, window.part["stack"], assembly.with_suffix(".moto"))
    try:
        created, outputs = deploy.deploy(access, assembly, window.part["stack"], ctx.err, ctx.profile)
    except Exception:
        window.status = "failed"
        state.write(window)
        raise
    window.part.update(stack_created_at=created, outputs=outputs)
    window.api_url = outputs.get("ApiUrl")
    window.status = "ready"
    state.write(window)


def start(ctx: Context, request: StartRequest, progress: Progress) -> state.WindowState:
    _refuse_existing(request.stage)
    now = ctx.clock()
    who, projection, synthesized, deadline = _plan(ctx, request, now)
    length = format_duration(request.ttl.total_seconds())
    preflight.confirm(ctx, f"deploy stage {request.stage}", {
        "account": who.account, "identity": who.arn, "region": who.region, "stage": request.stage,
        "stack": stack_name(request.stage), "deadline": f"{deadline} (in {length})",
        "projected cost": f"{usd(projection.usd_total)} standing charges ({usd(projection.usd_per_hour)}/h) + usage",
        "endpoint": ctx.endpoint_url or "AWS"}, "--yes" in request.extra_args)
    window = _record(request, who, projection, str(synthesized.out), deadline, now, ctx.endpoint_url)
    state.create(window)
    access = access_for(ctx, who.region, ctx.endpoint_url)
    _arm(access, window, progress)
    _deploy(ctx, access, window, progress)
    return window


def down_preflight(ctx: Context, window: state.WindowState, yes: bool) -> None:
    who = preflight.identity(ctx, window.region)
    if who.account != window.part.get("account"):
        raise PreconditionFailed(f"window {window.stage!r} is in account {window.part.get('account')}, but the "
                                 f"credentials are for {who.account}; use the profile that deployed it")
    spent = meter.so_far(window, ctx.clock())
    preflight.confirm(ctx, f"tear down stage {window.stage}", {
        "account": who.account, "region": window.region, "stage": window.stage, "stack": window.part.get("stack"),
        "deadline": window.deadline, "cost so far": usd(spent[0]) if spent else "unpriced"}, yes)


def stop(ctx: Context, window: state.WindowState, progress: Progress) -> Stopped:
    from ecomctl.aws.reaper import Reaper

    access = access_for(ctx, window.region, window.aws_endpoint)
    report = Reaper(access, window.stage, str(window.part["stack"]), progress).run()
    spent = meter.so_far(window, ctx.clock())
    details: dict[str, Any] = {"stack": report.stack, "steps": report.steps, "swept": report.swept,
                               "final_cost": usd(spent[0]) if spent else "unpriced"}
    if not report.leftovers:
        details["disarmed"] = teardown.disarm(access, window.stage)
        state.remove(window.stage)
    return Stopped(window, None, False, report.leftovers, details)
