"""The reaper: delete a window's stack and prove, by inventory, that nothing of it is left.

1. wait out a stack operation in progress; 2. empty the stack's buckets (every version);
3. DeleteStack and wait; on DELETE_FAILED, delete again retaining what failed; 4. sweep:
delete directly whatever the inventory still lists (moto's kept REST API and non-empty
bucket; on AWS a retained resource); 5. verify: the inventory must be empty. The clock
and the sleep are injected, so a test runs every wait at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecomctl.aws import inventory
from ecomctl.aws.teardown import aws_retry
from ecomctl.targets.base import AwsAccess

WAIT_S = 7200.0  # an OpenSearch domain can take most of an hour to go
POLL_S = 5.0
SWEEP_ATTEMPTS = 3


@dataclass
class Reaped:
    stack: str
    steps: list[str] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    leftovers: tuple[str, ...] = ()


@dataclass
class Reaper:
    access: AwsAccess
    stage: str
    stack: str
    progress: Callable[[str], None] = lambda _m: None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    budget_s: float = WAIT_S  # counted from run(); a Lambda has 15 minutes at most: past it, TimeoutError
    _t0: float | None = field(default=None, init=False)

    def _status(self) -> str | None:
        cf = self.access.client("cloudformation")
        try:
            return str(cf.describe_stacks(StackName=self.stack)["Stacks"][0]["StackStatus"])
        except cf.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise

    def _wait(self, until: Callable[[str | None], bool], what: str) -> str | None:
        started = self.monotonic() if self._t0 is None else self._t0
        while True:
            status = self._status()
            if until(status):
                return status
            if self.monotonic() - started > self.budget_s:
                raise TimeoutError(f"stack {self.stack} still {status} after {int(self.budget_s)}s ({what})")
            self.progress(f"{self.stack}: {status} ({what})")
            self.sleep(POLL_S)

    def _resources(self) -> list[dict[str, Any]]:
        cf, found, token = self.access.client("cloudformation"), [], None
        while True:
            page = cf.list_stack_resources(StackName=self.stack, **({"NextToken": token} if token else {}))
            found += page["StackResourceSummaries"]
            token = page.get("NextToken")
            if not token:
                return found

    def _buckets(self) -> list[str]:
        return [r["PhysicalResourceId"] for r in self._resources()
                if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")]

    def _failed(self) -> list[str]:
        return [r["LogicalResourceId"] for r in self._resources() if r["ResourceStatus"] == "DELETE_FAILED"]

    def delete_stack(self, report: Reaped) -> None:
        status = self._wait(lambda s: s is None or not s.endswith("_IN_PROGRESS") or s == "DELETE_IN_PROGRESS",
                            "waiting for the operation in progress")
        if status is None:
            report.steps.append("stack already gone")
            return
        for bucket in self._buckets():
            report.steps.append(f"emptied bucket {bucket} ({empty_bucket(self.access, bucket)} objects)")
        cf = self.access.client("cloudformation")
        for attempt in range(3):
            retain = self._failed() if attempt else []
            _delete_stack(cf, self.stack, retain)
            report.steps.append(f"DeleteStack{' retaining ' + ', '.join(retain) if retain else ''}")
            final = self._wait(lambda s: s is None or s in ("DELETE_COMPLETE", "DELETE_FAILED"), "deleting")
            if final != "DELETE_FAILED":
                report.steps.append("stack deleted")
                return
        report.steps.append("stack still DELETE_FAILED after 3 attempts; sweeping its resources")

    def sweep(self, report: Reaped) -> None:
        """Delete directly what the inventory still lists; what will not go is left for the verdict."""
        for kind, name in inventory.leftovers(self.access, self.stage, self.stack):
            remove = DELETERS.get(kind)
            if remove is None:
                continue
            for attempt in range(SWEEP_ATTEMPTS):
                self.progress(f"deleting {kind} {name}")
                try:
                    remove(self.access, name)
                except Exception as exc:  # a bucket refilled while emptied, a domain that will not go, ...
                    if attempt == SWEEP_ATTEMPTS - 1:
                        report.steps.append(f"could not delete {kind} {name}: {type(exc).__name__}: {exc}")
                    else:
                        self.sleep(POLL_S)
                    continue
                report.swept.append(f"{kind} {name}")
                break

    def run(self) -> Reaped:
        self._t0 = self.monotonic()
        report = Reaped(self.stack)
        self.delete_stack(report)
        self.sweep(report)
        report.leftovers = inventory.describe(inventory.leftovers(self.access, self.stage, self.stack))
        return report


@aws_retry
def _delete_stack(cf: Any, stack: str, retain: list[str]) -> None:
    cf.delete_stack(StackName=stack, **({"RetainResources": retain} if retain else {}))


@aws_retry
def empty_bucket(access: AwsAccess, bucket: str) -> int:
    """Delete every object version and delete marker, then every object; returns how many went."""
    s3 = access.client("s3")
    gone = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            gone += len(keys)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            gone += len(keys)
    return gone


def _bucket(access: AwsAccess, name: str) -> None:
    empty_bucket(access, name)
    access.client("s3").delete_bucket(Bucket=name)


DELETERS: dict[str, Callable[[AwsAccess, str], Any]] = {
    "bucket": _bucket,
    "rest-api": lambda a, n: a.client("apigateway").delete_rest_api(restApiId=n.split(" ")[0]),
    "function": lambda a, n: a.client("lambda").delete_function(FunctionName=n),
    "queue": lambda a, n: a.client("sqs").delete_queue(QueueUrl=a.client("sqs").get_queue_url(QueueName=n)["QueueUrl"]),
    "table": lambda a, n: a.client("dynamodb").delete_table(TableName=n),
    "topic": lambda a, n: a.client("sns").delete_topic(TopicArn=n),
    "stream": lambda a, n: a.client("kinesis").delete_stream(StreamName=n, EnforceConsumerDeletion=True),
    "state-machine": lambda a, n: a.client("stepfunctions").delete_state_machine(stateMachineArn=n),
    "event-bus": lambda a, n: a.client("events").delete_event_bus(Name=n),
    "log-group": lambda a, n: a.client("logs").delete_log_group(logGroupName=n),
    "opensearch-domain": lambda a, n: a.client("opensearch").delete_domain(DomainName=n),
    "alarm": lambda a, n: a.client("cloudwatch").delete_alarms(AlarmNames=[n]),
    "parameter": lambda a, n: a.client("ssm").delete_parameter(Name=n),
    # No recovery window: the key is generated anew for every window, and a secret left
    # pending deletion would keep its name taken for the next window of the stage.
    "secret": lambda a, n: a.client("secretsmanager").delete_secret(SecretId=n, ForceDeleteWithoutRecovery=True),
}
