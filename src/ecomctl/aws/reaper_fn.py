"""The reaper as a Lambda function: what the deadline schedule and the sweeper invoke.

The window's teardown must not depend on the operator's laptop, so the same ``Reaper`` that
``down`` runs is deployed (by ``up``, before the stack) as ``ecomctl-<stage>-reaper``:

- ``{"action": "reap"}`` comes from the one-time schedule at the deadline;
- ``{"action": "sweep-expired"}`` comes every 15 minutes from the account sweeper (one per
  account and region, ``ecomctl-account-sweeper``): it reaps every stack whose
  ``ecomctl:expires-at`` tag has passed, the backstop for a stage whose own timers were lost;
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

import contextlib
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
    if not topic:
        return
    sns = access.client("sns")
    # A stage whose control plane is gone has no topic: the function's log keeps the report.
    with contextlib.suppress(sns.exceptions.NotFoundException):
        sns.publish(TopicArn=topic, Subject=subject[:99], Message=json.dumps(body, indent=1))


def expired_stacks(access: Any, now: datetime) -> list[dict[str, str]]:
    """(stage, stack, topic) of every stack tagged ``ecomctl:stage`` whose ``ecomctl:expires-at`` has passed."""
    from ecomctl.window import parse_iso

    found = []
    for page in access.client("cloudformation").get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
            stage, expires = tags.get("ecomctl:stage"), tags.get("ecomctl:expires-at", "none")
            if not stage or stack["StackStatus"] == "DELETE_COMPLETE" or expires == "none":
                continue
            try:
                due = parse_iso(expires) <= now
            except ValueError:
                continue  # a tag edited by hand is not a deadline
            if due:
                account = str(stack["StackId"]).split(":")[4]
                found.append({"stage": stage, "stack": str(stack["StackName"]),
                              "topic": f"arn:aws:sns:{access.region}:{account}:ecomctl-{stage}-teardown"})
    return found


def sweep_expired(access: Any, now: datetime, budget_s: float, sleep: Callable[[float], None] | None = None,
                  monotonic: Callable[[], float] | None = None) -> dict[str, Any]:
    """Reap each expired stack in turn within one invocation's budget; the next sweep takes the rest."""
    import time

    clock = monotonic or time.monotonic
    started, results, deferred = clock(), [], []
    for found in expired_stacks(access, now):
        left = budget_s - (clock() - started)
        if left <= MARGIN_S + 1:
            deferred.append(found["stack"])
            continue
        results.append(handle({"action": "reap", **found}, access, now, left, sleep, monotonic))
    return {"state": "swept", "reaped": [r["stack"] for r in results if r.get("state") == "reaped"],
            "results": results, "deferred": deferred}


def handle(event: dict[str, Any], access: Any, now: datetime, budget_s: float,
           sleep: Callable[[float], None] | None = None,
           monotonic: Callable[[], float] | None = None) -> dict[str, Any]:
    """One invocation; ``access``, ``now``, ``budget_s``, ``sleep`` and ``monotonic`` are injected by tests."""
    from ecomctl.aws import inventory, teardown
    from ecomctl.aws.reaper import Reaper
    from ecomctl.window import parse_iso

    if event.get("action") == "sweep-expired":
        return sweep_expired(access, now, budget_s, sleep, monotonic)
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
