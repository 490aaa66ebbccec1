"""The reaper as a Lambda function: what the deadline schedule and the sweeper invoke.

The window's teardown must not depend on the operator's laptop, so the same ``Reaper`` that
``down`` runs is deployed (by ``up``, before the stack) as ``ecomctl-<stage>-reaper``:

- ``{"action": "reap"}`` comes from the one-time schedule at the deadline;
- ``{"action": "sweep"}`` comes every 15 minutes from the sweeper schedule, which starts at
  the deadline: it re-runs the reaper until the inventory is empty (a stack with an
  OpenSearch domain takes longer to delete than one invocation may run) and is the backstop
  if the one-time schedule was lost.

Each run has the invocation's remaining time as its budget. When the inventory is empty it
deletes both schedules and says so on the window's SNS topic; when something will not go it
says what is left (the escalation), and the next sweep tries again. The function and its
role stay (they cost nothing idle) until ``ecomctl down`` removes them.

Only the standard library, boto3, tenacity and a few ecomctl modules (see control.BUNDLED).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

MARGIN_S = 60.0  # left for the report and the notification after the reaper's budget runs out


def _access() -> Any:
    import boto3

    from ecomctl.targets.base import AwsAccess

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return AwsAccess(boto3.Session(), os.environ.get("ECOMCTL_ENDPOINT_URL") or None, region)


def _notify(access: Any, topic: str | None, subject: str, body: dict[str, Any]) -> None:
    if topic:
        access.client("sns").publish(TopicArn=topic, Subject=subject[:99], Message=json.dumps(body, indent=1))


def handle(event: dict[str, Any], access: Any, now: datetime, budget_s: float,
           sleep: Callable[[float], None] | None = None,
           monotonic: Callable[[], float] | None = None) -> dict[str, Any]:
    """One invocation; ``access``, ``now``, ``budget_s``, ``sleep`` and ``monotonic`` are injected by tests."""
    from ecomctl.aws import inventory, teardown
    from ecomctl.aws.reaper import Reaper
    from ecomctl.window import parse_iso

    stage, stack, topic = str(event["stage"]), str(event["stack"]), event.get("topic")
    action = event.get("action", "reap")
    deadline = event.get("deadline")
    if action == "sweep" and deadline and now < parse_iso(deadline):
        return {"stage": stage, "state": "not-due", "deadline": deadline}
    reaper = Reaper(access, stage, stack, budget_s=max(1.0, budget_s - MARGIN_S))
    if sleep is not None:
        reaper.sleep = sleep
    if monotonic is not None:
        reaper.monotonic = monotonic
    try:
        report = reaper.run()
    except TimeoutError as exc:
        left = inventory.describe(inventory.leftovers(access, stage, stack))
        body = {"stage": stage, "stack": stack, "state": "in-progress", "why": str(exc), "left": list(left)}
        _notify(access, topic, f"ecomctl {stage}: teardown still in progress", body)
        return body
    body = {"stage": stage, "stack": stack, "steps": report.steps, "swept": report.swept,
            "left": list(report.leftovers), "action": action}
    if report.leftovers:
        body["state"] = "left-over"
        _notify(access, topic, f"ecomctl {stage}: teardown left {len(report.leftovers)} resource(s)", body)
        return body
    body["state"] = "reaped"
    body["disarmed"] = teardown.delete_schedules(access, stage)
    _notify(access, topic, f"ecomctl {stage}: window torn down, nothing left", body)
    return body


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    budget = context.get_remaining_time_in_millis() / 1000 if context is not None else 840.0
    result = handle(event, _access(), datetime.now(UTC), budget)
    print(json.dumps(result))  # the function's log is the reaper's journal
    return result
