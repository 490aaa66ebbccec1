"""The server-side timer: a one-time EventBridge Scheduler schedule that deletes the stack.

Armed before anything is deployed, so a laptop that sleeps, a killed CLI or a lost state
file cannot keep the stack alive past its deadline. The schedule calls CloudFormation
``DeleteStack`` through Scheduler's universal target, with a role that may do only that
(on this one stack) and pass the CDK deploy role CloudFormation deletes with; it deletes
itself after running (``ActionAfterCompletion=DELETE``) and retries for a day.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from ecomctl.targets.base import AwsAccess
from ecomctl.window import parse_iso

DELETE_STACK_TARGET = "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
GROUP = "default"
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
    target: str
    armed_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def names(stage: str) -> tuple[str, str]:
    """(schedule name, role name) of a stage's teardown."""
    return f"ecomctl-{stage}-teardown", f"ecomctl-{stage}-teardown"


def at_expression(deadline: datetime | str) -> str:
    when = parse_iso(deadline) if isinstance(deadline, str) else deadline
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def role_policy(account: str, region: str, stack: str) -> dict[str, Any]:
    """Least privilege: DeleteStack on this stack, and passing CDK's CloudFormation role to CloudFormation."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DeleteTheWindowStack", "Effect": "Allow", "Action": "cloudformation:DeleteStack",
         "Resource": f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"},
        {"Sid": "PassTheStackRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": f"arn:aws:iam::{account}:role/cdk-{CDK_QUALIFIER}-cfn-exec-role-{account}-{region}",
         "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}},
    ]}


def trust_policy(account: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}


@aws_retry
def ensure_role(access: AwsAccess, stage: str, account: str, stack: str) -> str:
    iam = access.client("iam")
    _, role = names(stage)
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_policy(account)),
                              Description=f"ecomctl: deletes stack {stack} at its deadline",
                              Tags=[{"Key": "ecomctl:stage", "Value": stage}])["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="delete-window-stack",
                        PolicyDocument=json.dumps(role_policy(account, access.region, stack)))
    return str(arn)


def _schedule_args(stage: str, stack: str, deadline: str, role_arn: str) -> dict[str, Any]:
    schedule, _ = names(stage)
    return {
        "Name": schedule, "GroupName": GROUP, "ScheduleExpression": at_expression(deadline),
        "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE", "State": "ENABLED",
        "Description": f"ecomctl: tear down window {stage} (stack {stack}) at {deadline}",
        "Target": {"Arn": DELETE_STACK_TARGET, "RoleArn": role_arn, "Input": json.dumps({"StackName": stack}),
                   "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}},
    }


@aws_retry
def arm(access: AwsAccess, stage: str, account: str, stack: str, deadline: str, now: str) -> Armed:
    """Create (or move) the stage's teardown schedule; returns what was stored."""
    role_arn = ensure_role(access, stage, account, stack)
    scheduler = access.client("scheduler")
    args = _schedule_args(stage, stack, deadline, role_arn)
    try:
        scheduler.create_schedule(**args)
    except scheduler.exceptions.ConflictException:
        scheduler.update_schedule(**args)
    return Armed(args["Name"], GROUP, role_arn, args["ScheduleExpression"], DELETE_STACK_TARGET, now)


def stored(access: AwsAccess, stage: str) -> dict[str, Any] | None:
    """The schedule as the service stores it, or None."""
    scheduler = access.client("scheduler")
    try:
        return dict(scheduler.get_schedule(Name=names(stage)[0], GroupName=GROUP))
    except scheduler.exceptions.ResourceNotFoundException:
        return None


def rearm(ctx: Any, window: Any, deadline: str) -> str:
    """Move a window's schedule to ``deadline``; returns what was re-armed, for the operator."""
    from ecomctl.targets import get
    from ecomctl.window import iso

    access = get("aws").access(ctx, window)
    armed = arm(access, window.stage, str(window.part["account"]), str(window.part["stack"]), deadline,
                iso(ctx.clock()))
    window.part["schedule"] = armed.to_json()
    return f"schedule {armed.schedule} -> {armed.expression} UTC"


@aws_retry
def disarm(access: AwsAccess, stage: str) -> list[str]:
    """Delete the stage's schedule and role (after the stack is gone); returns what was deleted."""
    schedule, role = names(stage)
    gone: list[str] = []
    scheduler, iam = access.client("scheduler"), access.client("iam")
    try:
        scheduler.delete_schedule(Name=schedule, GroupName=GROUP)
        gone.append(f"schedule {schedule}")
    except scheduler.exceptions.ResourceNotFoundException:
        pass
    try:
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        iam.delete_role(RoleName=role)
        gone.append(f"role {role}")
    except iam.exceptions.NoSuchEntityException:
        pass
    return gone
