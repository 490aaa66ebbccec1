"""The server-side timers: two EventBridge Scheduler schedules that invoke the reaper function.

Armed before anything is deployed, so a laptop that sleeps, a killed CLI or a lost state
file cannot keep the stack alive past its deadline:

- ``ecomctl-<stage>-teardown``: one time, ``at(<deadline>)``, invokes the reaper
  (``control``/``reaper_fn``: empty the buckets, DeleteStack, retry retaining what failed,
  sweep, verify by inventory, notify); it deletes itself after running and retries for a day;
- ``ecomctl-<stage>-sweeper``: every 15 minutes from the deadline, the same function in
  sweep mode, until the inventory is empty (then the function deletes both schedules).

Scheduler's role may only invoke that one function. ``extend`` moves both.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from ecomctl.targets.base import AwsAccess
from ecomctl.window import parse_iso

GROUP = "default"
SWEEP_EVERY = "rate(15 minutes)"
CDK_QUALIFIER = "hnb659fds"
_THROTTLES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable",
              "InternalFailure", "ConflictException"}


def _transient(exc: BaseException) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in _THROTTLES


aws_retry = retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(6),
                  wait=wait_random_exponential(multiplier=0.5, max=20), reraise=True)


@dataclass(frozen=True)
class Armed:
    schedule: str
    group: str
    role_arn: str
    expression: str
    target: str  # the reaper function's ARN
    armed_at: str
    sweeper: str = ""
    topic: str = ""
    account_sweeper: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def names(stage: str) -> tuple[str, str]:
    """(schedule name, Scheduler's role name) of a stage's teardown."""
    return f"ecomctl-{stage}-teardown", f"ecomctl-{stage}-teardown"


def sweeper_name(stage: str) -> str:
    return f"ecomctl-{stage}-sweeper"


def at_expression(deadline: datetime | str) -> str:
    when = parse_iso(deadline) if isinstance(deadline, str) else deadline
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def role_policy(function_arn: str) -> dict[str, Any]:
    """Least privilege: Scheduler may invoke the reaper function, nothing else."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "InvokeTheReaper", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}]}


def trust_policy(account: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}


@aws_retry
def ensure_role(access: AwsAccess, stage: str, account: str, stack: str, function_arn: str) -> str:
    return _invoke_role(access.client("iam"), names(stage)[1], account, function_arn,
                        f"ecomctl: deletes stack {stack} at its deadline", {"ecomctl:stage": stage})


def _invoke_role(iam: Any, role: str, account: str, function_arn: str, description: str,
                 tags: dict[str, str]) -> str:
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_policy(account)),
                              Description=description,
                              Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="invoke-the-reaper",
                        PolicyDocument=json.dumps(role_policy(function_arn)))
    return str(arn)


ACCOUNT_SWEEP_ROLE = "ecomctl-account-sweeper-schedule"


@aws_retry
def arm_account_sweeper(access: AwsAccess, account: str) -> str:
    """The account's backstop, once per account and region (idempotent; ``down`` leaves it: it
    costs one short invocation every 15 minutes): reaps any stack whose ``ecomctl:expires-at``
    tag has passed, even one whose own schedules were lost. Returns the schedule's name."""
    from ecomctl.aws import control

    function_arn = control.ensure_account_sweeper(access, account)
    role_arn = _invoke_role(access.client("iam"), ACCOUNT_SWEEP_ROLE, account, function_arn,
                            "ecomctl: invokes the account sweeper", {"ecomctl:control-of": "account"})
    _put(access.client("scheduler"), {
        "Name": control.ACCOUNT_SWEEPER, "GroupName": GROUP, "ScheduleExpression": SWEEP_EVERY,
        "FlexibleTimeWindow": {"Mode": "OFF"}, "State": "ENABLED",
        "Description": "ecomctl: reap every stack whose ecomctl:expires-at tag has passed",
        "Target": {"Arn": function_arn, "RoleArn": role_arn, "Input": json.dumps({"action": "sweep-expired"}),
                   "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}},
    })
    return control.ACCOUNT_SWEEPER


def _event(action: str, stage: str, stack: str, deadline: str, topic: str) -> str:
    return json.dumps({"action": action, "stage": stage, "stack": stack, "deadline": deadline, "topic": topic})


def _schedule_args(stage: str, stack: str, deadline: str, role_arn: str, function_arn: str,
                   topic: str) -> dict[str, Any]:
    schedule, _ = names(stage)
    return {
        "Name": schedule, "GroupName": GROUP, "ScheduleExpression": at_expression(deadline),
        "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE", "State": "ENABLED",
        "Description": f"ecomctl: tear down window {stage} (stack {stack}) at {deadline}",
        "Target": {"Arn": function_arn, "RoleArn": role_arn, "Input": _event("reap", stage, stack, deadline, topic),
                   "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}},
    }


def _sweeper_args(stage: str, stack: str, deadline: str, role_arn: str, function_arn: str,
                  topic: str) -> dict[str, Any]:
    from datetime import timedelta

    return {
        "Name": sweeper_name(stage), "GroupName": GROUP, "ScheduleExpression": SWEEP_EVERY,
        "StartDate": parse_iso(deadline) + timedelta(minutes=15), "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Description": f"ecomctl: re-run the reaper of window {stage} every 15 min after {deadline} until empty",
        "Target": {"Arn": function_arn, "RoleArn": role_arn, "Input": _event("sweep", stage, stack, deadline, topic),
                   "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}},
    }


def _put(scheduler: Any, args: dict[str, Any]) -> None:
    try:
        scheduler.create_schedule(**args)
    except scheduler.exceptions.ConflictException:
        scheduler.update_schedule(**args)


@aws_retry
def arm(access: AwsAccess, stage: str, account: str, stack: str, deadline: str, now: str,
        notify: str | None = None) -> Armed:
    """Deploy (or update) the reaper function, then create (or move) both schedules; returns what was stored."""
    from ecomctl.aws import control

    account_sweeper = arm_account_sweeper(access, account)
    function_arn, topic = control.ensure(access, stage, account, stack, notify)
    role_arn = ensure_role(access, stage, account, stack, function_arn)
    scheduler = access.client("scheduler")
    args = _schedule_args(stage, stack, deadline, role_arn, function_arn, topic)
    _put(scheduler, args)
    _put(scheduler, _sweeper_args(stage, stack, deadline, role_arn, function_arn, topic))
    return Armed(args["Name"], GROUP, role_arn, args["ScheduleExpression"], function_arn, now,
                 sweeper_name(stage), topic, account_sweeper)


def stored(access: AwsAccess, stage: str, sweeper: bool = False) -> dict[str, Any] | None:
    """The deadline schedule (or the sweeper) as the service stores it, or None."""
    scheduler = access.client("scheduler")
    try:
        return dict(scheduler.get_schedule(Name=sweeper_name(stage) if sweeper else names(stage)[0], GroupName=GROUP))
    except scheduler.exceptions.ResourceNotFoundException:
        return None


def rearm(ctx: Any, window: Any, deadline: str) -> str:
    """Move a window's schedule to ``deadline``; returns what was re-armed, for the operator."""
    from ecomctl.targets import get
    from ecomctl.window import iso

    access = get("aws").access(ctx, window)
    armed = arm(access, window.stage, str(window.part["account"]), str(window.part["stack"]), deadline,
                iso(ctx.clock()), notify=window.part.get("notify"))
    window.part["schedule"] = armed.to_json()
    return f"schedule {armed.schedule} -> {armed.expression} UTC; {armed.sweeper} from 15 min after"


@aws_retry
def delete_schedules(access: AwsAccess, stage: str) -> list[str]:
    """Delete both schedules (what the reaper function does once the inventory is empty)."""
    scheduler, gone = access.client("scheduler"), []
    for name in (names(stage)[0], sweeper_name(stage)):
        try:
            scheduler.delete_schedule(Name=name, GroupName=GROUP)
            gone.append(f"schedule {name}")
        except scheduler.exceptions.ResourceNotFoundException:
            pass
    return gone


@aws_retry
def disarm(access: AwsAccess, stage: str) -> list[str]:
    """Delete the schedules, Scheduler's role and the reaper function (after the stack is gone)."""
    from ecomctl.aws import control

    _, role = names(stage)
    gone = delete_schedules(access, stage) + delete_role(access.client("iam"), role)
    return gone + control.remove(access, stage)


def delete_role(iam: Any, role: str) -> list[str]:
    """Delete a role and its inline policies; ``["role <name>"]``, or [] if it was not there."""
    try:
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        iam.delete_role(RoleName=role)
    except iam.exceptions.NoSuchEntityException:
        return []
    return [f"role {role}"]
