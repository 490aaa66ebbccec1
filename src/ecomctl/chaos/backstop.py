"""The server-side backstop on AWS: a one-time EventBridge Scheduler schedule per flag that
calls SSM DeleteParameter at the flag's expiry and deletes itself afterwards, so a flag
goes away even when the CLI that set it was killed with -9.

(On the local target the platform process sweeps expired flags: ecomctl.local.flag_sweeper.)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

DELETE_PARAMETER_TARGET = "arn:aws:scheduler:::aws-sdk:ssm:deleteParameter"


def schedule_name(parameter: str, run_id: str) -> str:
    """At most 64 characters, stable for a (parameter, run) pair."""
    return "ecomctl-chaos-" + hashlib.sha256(f"{run_id}|{parameter}".encode()).hexdigest()[:40]


def schedule_deletion(scheduler: Any, parameter: str, run_id: str, at: datetime, role_arn: str) -> str:
    """Create the one-time schedule deleting ``parameter`` at ``at``; returns its name."""
    name = schedule_name(parameter, run_id)
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=f"at({at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": DELETE_PARAMETER_TARGET, "RoleArn": role_arn, "Input": json.dumps({"Name": parameter}),
                "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}},
        ActionAfterCompletion="DELETE",
        Description=f"ecomctl chaos backstop: delete {parameter} (run {run_id})",
    )
    return name


def cancel(scheduler: Any, name: str) -> bool:
    """Delete the schedule after a normal rollback; True if it was still there."""
    try:
        scheduler.delete_schedule(Name=name)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
