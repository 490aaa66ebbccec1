"""Narrow fixes inside moto 5.2.1 (and botocore, the X-Ray SDK, jsonpath-ng, Flask) for the local target.

Each fix is a :class:`Patch` record: what it replaces, a fingerprint of the source it was
written against, the cost it removes, and what upstream change would retire it. A patch
whose target is missing or whose source changed is not applied, and says so (a WARNING
and the report's ``skipped``), so an upgrade can make the local target slower but never
quietly wrong. ``ECOMCTL_LOCAL_PATCHES=0`` applies only the fixes (patches of kind "fix",
without which moto 5.2.1 fails where AWS does not); ``ECOMCTL_LOCAL_PATCHES=none`` applies
nothing, vanilla moto, for comparing against upstream; ``ECOMCTL_LOCAL_PATCHES_OFF=name,...``
leaves out the patches named, to measure one against the rest. ``revert()`` restores every
original, so tests can run patched and unpatched moto in one process.

``python -m ecomctl.local.patches`` prints every target's current fingerprint and whether
it matches (run it after a dependency upgrade, in a fresh process).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ecomctl.local.patches import dynamodb, kinesis, sdk, server, sqs, stepfunctions
from ecomctl.local.patches.base import Patch, Patcher, PatchReport, fingerprint

__all__ = ["PATCHES", "SIGN_CHEAPLY", "Patch", "PatchReport", "apply", "fingerprint", "is_applied",
           "last_report", "patched", "revert", "sign_in_process_requests_cheaply"]

ENV_SWITCH = "ECOMCTL_LOCAL_PATCHES"
OFF_SWITCH = "ECOMCTL_LOCAL_PATCHES_OFF"  # comma-separated patch names, each left out (A/B one patch)
PATCHES: tuple[Patch, ...] = (*stepfunctions.PATCHES, *server.PATCHES, *sqs.PATCHES, *dynamodb.PATCHES,
                              *kinesis.PATCHES, *sdk.PATCHES)
SIGN_CHEAPLY = sdk.SIGN_CHEAPLY  # applied on its own: only the platform process signs for moto in process

log = logging.getLogger(__name__)
_lock = threading.RLock()
_report: PatchReport | None = None
_applied: list[Patcher] = []  # one per applied patch, in order


def _disabled() -> str | None:
    value = os.environ.get(ENV_SWITCH, "1").strip().lower()
    if value in ("none", "vanilla"):
        return "all"
    if value in ("0", "false", "no", "off"):
        return "speed"
    return None


def _apply_each(patches: Sequence[Patch], report: PatchReport) -> None:
    # Every fingerprint is checked before anything changes: one patch must not see another's work.
    reasons = {patch.name: patch.mismatch() for patch in patches}
    for patch in patches:
        reason = reasons[patch.name]
        if reason is None:
            patcher = Patcher()
            try:
                patch.apply(patcher)
            except Exception as exc:
                patcher.undo()
                reason = f"failed to apply: {exc!r}"
            else:
                _applied.append(patcher)
                report.applied.append(patch.name)
                continue
        report.skipped[patch.name] = reason
        log.warning("moto patch %s not applied: %s", patch.name, reason)


def apply(patches: Sequence[Patch] | None = None) -> PatchReport:
    """Apply every patch whose targets are as expected; idempotent (returns the same report)."""
    global _report
    with _lock:
        if _report is not None:
            return _report
        report = PatchReport(disabled=_disabled())
        chosen = PATCHES if patches is None else patches
        if report.disabled == "speed":
            chosen = [p for p in chosen if p.kind == "fix"]
        off = {n.strip() for n in os.environ.get(OFF_SWITCH, "").split(",") if n.strip()}
        for patch in [p for p in chosen if p.name in off]:
            report.skipped[patch.name] = f"switched off ({OFF_SWITCH})"
        chosen = [p for p in chosen if p.name not in off]
        if report.disabled != "all":
            _apply_each(chosen, report)
        log.info("moto patches: %d applied, %d skipped%s", len(report.applied), len(report.skipped),
                 {None: "", "speed": f" (speed patches off: {ENV_SWITCH}=0)",
                  "all": f" (all off: {ENV_SWITCH}=none)"}[report.disabled])
        _report = report
        return report


def sign_in_process_requests_cheaply() -> PatchReport:
    """Apply :data:`SIGN_CHEAPLY` as well (the platform process only); its outcome joins the report."""
    with _lock:
        report = apply()
        if not report.disabled and SIGN_CHEAPLY.name not in report.applied and SIGN_CHEAPLY.name not in report.skipped:
            _apply_each([SIGN_CHEAPLY], report)
        return report


def last_report() -> PatchReport | None:
    """The report of the last :func:`apply` (None if never applied, or reverted since)."""
    return _report


def is_applied() -> bool:
    """Whether any patch is in effect now."""
    return bool(_applied)


def revert() -> None:
    """Restore every original the patches replaced, newest first; apply() may run again after."""
    global _report
    with _lock:
        while _applied:
            _applied.pop().undo()
        _report = None


@contextmanager
def patched() -> Iterator[PatchReport]:
    """The patches in effect inside the block; reverted after, unless they were already applied."""
    with _lock:
        already = _report is not None
        report = apply()
    try:
        yield report
    finally:
        if not already:
            revert()
