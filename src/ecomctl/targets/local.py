"""The local target: the platform process on an embedded moto server (``ecomctl.local``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecomctl import state
from ecomctl.local import launcher
from ecomctl.local.part import LOCAL_CREDENTIALS, LocalPart
from ecomctl.targets.base import AwsAccess, Cleaned, Found, Progress, StartRequest, Stopped, quiet

if TYPE_CHECKING:
    from ecomctl.context import Context
    from ecomctl.reads import Reader
    from ecomshop.topology import Topology


def _cleaned(c: launcher.Cleaned | None) -> Cleaned | None:
    return None if c is None else Cleaned(c.stage, c.why)


class LocalTarget:
    name = "local"

    def start(self, ctx: Context, request: StartRequest, progress: Progress = quiet) -> Found:
        window, cleaned = launcher.start(
            request.stage, request.ttl, api_port=request.api_port, tracing=request.tracing,
            extra_args=list(request.extra_args), progress=progress, cells=request.cells,
        )
        return Found(window, _cleaned(cleaned))

    def find(self, ctx: Context, window: state.WindowState) -> Found:
        live, cleaned = launcher.check(window)
        return Found(live, _cleaned(cleaned))

    def stop(self, ctx: Context, window: state.WindowState, progress: Progress = quiet) -> Stopped:
        result = launcher.stop_window(window, progress)
        part = LocalPart.of(window)
        return Stopped(window, None, result.forced, result.leftovers,
                       {"pid": part.pid, "ports": part.ports})

    def access(self, ctx: Context, window: state.WindowState) -> AwsAccess:
        session = ctx.session(region=window.region, credentials=LOCAL_CREDENTIALS)
        return AwsAccess(session, window.aws_endpoint, window.region)

    def topology(self, window: state.WindowState) -> Topology:
        from ecomshop.topology import build_topology

        return build_topology(window.stage)

    def reader(self, ctx: Context, window: state.WindowState) -> Reader:
        from ecomctl.reads import CellsReader, Reader

        shared = self.access(ctx, window)
        endpoints = LocalPart.of(window).cell_endpoints()
        if len(endpoints) < 2:
            return Reader(shared, self.topology(window))
        session = ctx.session(region=window.region, credentials=LOCAL_CREDENTIALS)
        cells = [shared] + [AwsAccess(session, url, window.region) for url in endpoints[1:]]
        return CellsReader(shared, cells, self.topology(window))

    def describe(self, window: state.WindowState) -> dict[str, Any]:
        part = LocalPart.of(window)
        cells = {"cells": [{"cell": c.get("index"), "pid": c.get("pid"), "api": c.get("api_url"),
                            "aws_endpoint": c.get("aws_endpoint")} for c in part.cells]} if part.cells else {}
        return {
            **cells,
            "pid": part.pid, "ports": part.ports, "log": part.log, "tracing": part.tracing, "api_auth": part.api_auth,
            "state_file": str(state.state_path(window.stage)),
            "moto_patches": _patches(part.patches),
        }


def _patches(report: dict[str, Any] | None) -> str:
    if report is None:
        return "not reported"
    skipped = report.get("skipped") or {}
    applied = len(report.get("applied") or [])
    if report.get("disabled") == "all":
        return "none (vanilla moto: ECOMCTL_LOCAL_PATCHES=none)"
    if report.get("disabled"):  # "speed", or True from a state file written before the fixes were kept
        return f"speed patches off (ECOMCTL_LOCAL_PATCHES=0), {applied} fix(es) kept"
    if skipped:
        return f"{applied} applied, {len(skipped)} skipped (source changed): {', '.join(sorted(skipped))}"
    return f"all {applied} applied"
