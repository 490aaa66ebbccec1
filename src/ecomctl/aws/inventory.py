"""What of a window is left, judged by listing, never by a stack status.

Every billable (or stateful) type the app creates is listed by the stage's name prefix
(``ecom-<stage>-``), and everything the Resource Groups Tagging API knows by the
``ecomctl:stage`` tag is listed too. moto's DeleteStack says DELETE_COMPLETE while it
keeps a bucket that holds objects and every REST API (aws_on_moto.md); on AWS a forced
delete can report done early: either way, only this list says the window is gone.
Each item is ``(kind, name)``; ``deleters`` removes one directly (the reaper's sweep).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ecomctl.aws.teardown import aws_retry
from ecomctl.targets.base import AwsAccess

Item = tuple[str, str]


def _pages(client: Any, op: str, key: str, **kw: Any) -> Iterator[Any]:
    for page in client.get_paginator(op).paginate(**kw):
        yield from page.get(key, [])


def _stack(access: AwsAccess, prefix: str, stack: str) -> list[Item]:
    cf = access.client("cloudformation")
    try:
        found = cf.describe_stacks(StackName=stack)["Stacks"]
    except cf.exceptions.ClientError:
        return []
    return [("stack", s["StackName"]) for s in found if s["StackStatus"] != "DELETE_COMPLETE"]


def _by_prefix(access: AwsAccess, prefix: str, stack: str) -> list[Item]:
    c = access.client
    stage = prefix.removeprefix("ecom-").rstrip("-")
    found: list[Item] = []
    found += [("bucket", b["Name"]) for b in c("s3").list_buckets().get("Buckets", []) if b["Name"].startswith(prefix)]
    found += [("rest-api", f"{a['id']} ({a['name']})") for a in _pages(c("apigateway"), "get_rest_apis", "items")
              if a["name"].startswith(prefix)]
    found += [("function", f["FunctionName"]) for f in _pages(c("lambda"), "list_functions", "Functions")
              if f["FunctionName"].startswith(prefix)]
    queues = c("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    found += [("queue", u.rsplit("/", 1)[-1]) for u in queues]
    found += [("table", t) for t in _pages(c("dynamodb"), "list_tables", "TableNames") if t.startswith(prefix)]
    found += [("topic", t["TopicArn"]) for t in _pages(c("sns"), "list_topics", "Topics")
              if t["TopicArn"].rsplit(":", 1)[-1].startswith(prefix)]
    found += [("stream", s) for s in c("kinesis").list_streams().get("StreamNames", []) if s.startswith(prefix)]
    machines = _pages(c("stepfunctions"), "list_state_machines", "stateMachines")
    found += [("state-machine", m["stateMachineArn"]) for m in machines if m["name"].startswith(prefix)]
    found += [("event-bus", b["Name"]) for b in c("events").list_event_buses(NamePrefix=prefix).get("EventBuses", [])]
    found += [("log-group", g["logGroupName"]) for p in (f"/aws/lambda/{prefix}", prefix, f"/aws/vendedlogs/{prefix}")
              for g in _pages(c("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=p)]
    found += [("opensearch-domain", d["DomainName"]) for d in c("opensearch").list_domain_names().get("DomainNames", [])
              if d["DomainName"].startswith(prefix)]
    found += [("alarm", a["AlarmName"]) for a in _pages(c("cloudwatch"), "describe_alarms", "MetricAlarms",
                                                         AlarmNamePrefix=prefix)]
    found += [("secret", s["Name"]) for s in _pages(c("secretsmanager"), "list_secrets", "SecretList",
              Filters=[{"Key": "name", "Values": [prefix]}]) if s["Name"].startswith(prefix)]
    found += [("parameter", p["Name"]) for p in _pages(c("ssm"), "describe_parameters", "Parameters",
              ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"/ecomshop/{stage}/"]}])]
    return found


def _by_tag(access: AwsAccess, prefix: str, stack: str) -> list[Item]:
    stage = prefix.removeprefix("ecom-").rstrip("-")
    tagging = access.client("resourcegroupstaggingapi")
    return [("tagged", r["ResourceARN"]) for r in _pages(
        tagging, "get_resources", "ResourceTagMappingList", TagFilters=[{"Key": "ecomctl:stage", "Values": [stage]}])]


LISTERS: tuple[Callable[[AwsAccess, str, str], list[Item]], ...] = (_stack, _by_prefix, _by_tag)


@aws_retry
def leftovers(access: AwsAccess, stage: str, stack: str) -> list[Item]:
    """Everything of the stage still there, by stack, name prefix and tag (duplicates kept apart by kind)."""
    prefix = f"ecom-{stage}-"
    found: list[Item] = []
    for lister in LISTERS:
        found += lister(access, prefix, stack)
    named = {name.split(" ")[0] for kind, name in found if kind not in ("stack", "tagged")}
    # A tagged ARN that names something already listed by prefix is the same resource.
    return [(k, n) for k, n in found if k != "tagged" or not any(part in n for part in named)]


def describe(items: list[Item]) -> tuple[str, ...]:
    return tuple(f"{kind} {name}" for kind, name in items)
