"""What the platform says about a time window: X-Ray, CloudWatch and the orders, on either target.

Everything is read through the window's ``AwsAccess`` with the calls one would make on
AWS; the local target emits ``AWS/*`` metrics and X-Ray segments into moto so the same
calls answer there (``ecomctl.local.telemetry``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecomctl.observe.metrics import MetricsSummary
from ecomctl.observe.notify import NotificationLatency
from ecomctl.observe.reconcile import Reconciliation
from ecomctl.observe.xray import XRaySummary
from ecomctl.reads import Reader
from ecomctl.targets.base import AwsAccess

METRIC_PAD = timedelta(minutes=2)  # CloudWatch delivers late; the query window extends past now


@dataclass
class ObserveResult:
    stage: str
    start: datetime
    end: datetime
    xray: XRaySummary
    metrics: MetricsSummary
    reconciliation: Reconciliation
    notifications: NotificationLatency = field(default_factory=NotificationLatency)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "start": _iso(self.start), "end": _iso(self.end),
                "xray": self.xray.to_json(), "cloudwatch": self.metrics.to_json(),
                "reconciliation": self.reconciliation.to_json(), "notifications": self.notifications.to_json(),
                "notes": self.notes}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_machine_arn(access: AwsAccess, reader: Reader) -> str | None:
    wanted = reader.topology.name(reader.topology.saga.logical)
    for page in access.client("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            if machine["name"] == wanted:
                return str(machine["stateMachineArn"])
    return None


def _probe_client(access: AwsAccess) -> Any:
    from botocore.config import Config

    return access.session.client("cloudwatch", endpoint_url=access.endpoint_url, region_name=access.region,
                                 config=Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 1}))


def _lambda_p99_from_xray(metrics: MetricsSummary, xray: XRaySummary, reader: Reader) -> None:
    by_name = {s.name: s for s in xray.services if s.type == "AWS::Lambda::Function"}
    for logical, figures in metrics.functions.items():
        row = by_name.get(reader.topology.name(logical))
        figures["duration_p99_ms"] = row.p99_ms if row else 0.0
    metrics.percentiles = "Lambda p99 from X-Ray segments (the endpoint serves no CloudWatch percentiles)"


def observe(access: AwsAccess, reader: Reader, stage: str, start: datetime, end: datetime,
            reconciliation: Reconciliation) -> ObserveResult:
    from ecomctl.observe import metrics, notify, xray

    traces, published = xray.summarize(access.client("xray"), start, end)
    figures = metrics.summarize(access.client("cloudwatch"), _probe_client(access), reader.topology,
                                state_machine_arn(access, reader), start, end + METRIC_PAD)
    if figures.percentiles.startswith("Maximum"):
        _lambda_p99_from_xray(figures, traces, reader)
    notes = ["X-Ray counts are of sampled traces (Lambda's default 1/s + 5 % per function); "
             "rates come from CloudWatch"]
    if traces.truncated:
        notes.append(f"X-Ray: only the first {xray.MAX_TRACES} traces of the window were read")
    if reconciliation.lost:
        lost = ", ".join(reconciliation.lost_ids[:10])
        notes.append(f"{reconciliation.lost} order(s) accepted and not found: {lost}")
    return ObserveResult(stage, start, end, traces, figures, reconciliation, notify.measure(reader, published), notes)


# --------------------------------------------------------------------------- the last run


def last_run_path(home: Path, stage: str) -> Path:
    return home / "runs" / f"{stage}-last.json"


def save_run(home: Path, stage: str, run: dict[str, Any]) -> None:
    path = last_run_path(home, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))


def load_run(home: Path, stage: str) -> dict[str, Any] | None:
    try:
        data = json.loads(last_run_path(home, stage).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
