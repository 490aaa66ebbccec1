"""CloudWatch for a time window, in one GetMetricData call, and the alarms in ALARM.

Queues (depth, oldest message age; DLQ depth), Lambda (errors, throttles, duration p99),
the API (count, 4xx, 5xx, latency p99) and the saga (executions started, succeeded,
failed, timed out). Percentile statistics (``p99``) are asked for first; an endpoint that
cannot serve them (moto answers 500) gets the same call with ``Maximum`` instead, and the
summary says so (the observe layer then takes Lambda p99 from the X-Ray segments).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ecomshop.topology import Topology

PERIOD_S = 60


@dataclass(frozen=True)
class Query:
    id: str
    group: str  # queue, dlq, lambda, api, saga
    entity: str
    figure: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str  # a statistic, or "p99" (percentile: may be refused)

    def to_api(self, percentile_fallback: bool) -> dict[str, Any]:
        stat = "Maximum" if percentile_fallback and self.stat.startswith("p") else self.stat
        return {"Id": self.id, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": self.namespace, "MetricName": self.metric,
                       "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions]},
            "Period": PERIOD_S, "Stat": stat}}


@dataclass
class MetricsSummary:
    queues: dict[str, dict[str, float]] = field(default_factory=dict)  # queue -> depth_max, oldest_age_s, dlq_max
    functions: dict[str, dict[str, float]] = field(default_factory=dict)  # invocations, errors, throttles, p99
    api: dict[str, float] = field(default_factory=dict)
    saga: dict[str, float] = field(default_factory=dict)
    alarms: list[dict[str, str]] = field(default_factory=list)
    percentiles: str = "CloudWatch p99"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def queries(topology: Topology, state_machine_arn: str | None) -> list[Query]:
    found: list[tuple[str, str, str, str, str, tuple[tuple[str, str], ...], str]] = []
    for q in topology.queues:
        dims = (("QueueName", topology.name(q.logical)),)
        dlq_dims = (("QueueName", topology.name(topology.dlq(q.logical))),)
        found += [("queue", q.logical, "depth_max", "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, "Maximum"),
                  ("queue", q.logical, "oldest_age_s", "AWS/SQS", "ApproximateAgeOfOldestMessage", dims, "Maximum"),
                  ("queue", q.logical, "dlq_max", "AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq_dims,
                   "Maximum")]
    for f in topology.functions:
        dims = (("FunctionName", topology.name(f.logical)),)
        found += [("lambda", f.logical, m.lower(), "AWS/Lambda", m, dims, "Sum")
                  for m in ("Invocations", "Errors", "Throttles")]
        found.append(("lambda", f.logical, "duration_p99_ms", "AWS/Lambda", "Duration", dims, "p99"))
    api = (("ApiName", topology.name("api")), ("Stage", topology.stage))
    found += [("api", "api", m.lower(), "AWS/ApiGateway", m, api, "Sum") for m in ("Count", "4XXError", "5XXError")]
    found.append(("api", "api", "latency_p99_ms", "AWS/ApiGateway", "Latency", api, "p99"))
    if state_machine_arn:
        sm = (("StateMachineArn", state_machine_arn),)
        found += [("saga", "saga", m[len("Executions"):].lower(), "AWS/States", m, sm, "Sum")
                  for m in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")]
    return [Query(f"m{i}", *row) for i, row in enumerate(found)]


def _fetch(cloudwatch: Any, qs: list[Query], start: datetime, end: datetime, fallback: bool) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    kwargs: dict[str, Any] = {"MetricDataQueries": [q.to_api(fallback) for q in qs], "StartTime": start,
                              "EndTime": end, "ScanBy": "TimestampAscending"}
    for _ in range(50):
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            values.setdefault(result["Id"], []).extend(float(v) for v in result.get("Values", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return values


def fetch(cloudwatch: Any, probe: Any, qs: list[Query], start: datetime, end: datetime) -> tuple[dict[str, list[float]],
                                                                                                  bool]:
    """Values per query id, and whether percentiles had to fall back to Maximum.

    ``probe`` is a client without retries for the first try: a refused percentile is
    answered 500, which the normal client would retry three times.
    """
    from botocore.exceptions import ClientError

    try:
        return _fetch(probe, qs, start, end, fallback=False), False
    except ClientError as exc:
        if int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) < 500:
            raise
    return _fetch(cloudwatch, qs, start, end, fallback=True), True


def _combine(query: Query, values: list[float]) -> float:
    if not values:
        return 0.0
    return round(sum(values) if query.stat == "Sum" else max(values), 2)


def summarize(cloudwatch: Any, probe: Any, topology: Topology, state_machine_arn: str | None, start: datetime,
              end: datetime) -> MetricsSummary:
    qs = queries(topology, state_machine_arn)
    values, fell_back = fetch(cloudwatch, probe, qs, start, end)
    summary = MetricsSummary(percentiles="Maximum (the endpoint serves no percentiles)" if fell_back
                             else "CloudWatch p99")
    targets = {"queue": summary.queues, "lambda": summary.functions}
    for q in qs:
        value = _combine(q, values.get(q.id, []))
        if q.group in targets:
            targets[q.group].setdefault(q.entity, {})[q.figure] = value
        else:
            (summary.api if q.group == "api" else summary.saga)[q.figure] = value
    summary.alarms = alarms_in_alarm(cloudwatch, topology)
    return summary


def alarms_in_alarm(cloudwatch: Any, topology: Topology) -> list[dict[str, str]]:
    paginator = cloudwatch.get_paginator("describe_alarms")
    return [{"name": a["AlarmName"], "reason": str(a.get("StateReason", ""))[:200]}
            for page in paginator.paginate(StateValue="ALARM", AlarmNamePrefix=topology.name(""))
            for a in page.get("MetricAlarms", [])]
