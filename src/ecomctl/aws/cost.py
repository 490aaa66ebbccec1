"""The cost meter: list prices applied to the synthesized template, and to a window's age.

``project(template, hours)`` prices every resource of a CloudFormation template by its
type and properties (``prices``): standing charges per hour (OpenSearch nodes and storage,
Kinesis shards, alarms, dashboards, keys), usage-priced types listed with their unit
price (nothing while idle), free types counted, and anything else listed as *unpriced*,
never as $0. ``so_far(rate, started, now)`` is the standing charge of a window that has
run since ``started`` (the stack's creation time on AWS: the server's clock, so the figure
stays right after the laptop slept).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ecomctl.aws import prices as P


@dataclass(frozen=True)
class Line:
    type: str
    count: int
    usd_per_hour: float
    basis: str


@dataclass(frozen=True)
class Projection:
    hours: float
    region: str
    hourly: list[Line] = field(default_factory=list)
    usage: list[Line] = field(default_factory=list)
    free: dict[str, int] = field(default_factory=dict)
    unpriced: dict[str, str] = field(default_factory=dict)  # logical id -> why

    @property
    def usd_per_hour(self) -> float:
        return sum(line.usd_per_hour for line in self.hourly)

    @property
    def usd_total(self) -> float:
        return self.usd_per_hour * self.hours

    def to_json(self) -> dict[str, Any]:
        return {
            "hours": self.hours, "region": self.region, "usd_per_hour": round(self.usd_per_hour, 6),
            "usd_total": round(self.usd_total, 4), "price_source": P.SOURCE,
            "price_region": P.REGION, "hourly": [vars(line) for line in self.hourly],
            "usage": [{"type": u.type, "count": u.count, "price": u.basis} for u in self.usage],
            "free": self.free, "unpriced": self.unpriced,
        }


class Unpriceable(ValueError):
    """A property the price depends on is not a literal (or names an unknown size)."""


def _literal(props: dict[str, Any], key: str, default: Any) -> Any:
    value = props.get(key, default)
    if isinstance(value, dict | list):
        raise Unpriceable(f"{key} is not a literal")
    return value


def _monthly(per_month: float) -> float:
    return per_month / P.HOURS_PER_MONTH


def _opensearch(props: dict[str, Any]) -> tuple[float, str]:
    cluster = props.get("ClusterConfig") or {}
    nodes: list[tuple[str, int]] = [(_literal(cluster, "InstanceType", "r5.large.search"),
                                     int(_literal(cluster, "InstanceCount", 1)))]
    if _literal(cluster, "DedicatedMasterEnabled", False):
        nodes.append((_literal(cluster, "DedicatedMasterType", ""), int(_literal(cluster, "DedicatedMasterCount", 3))))
    if _literal(cluster, "WarmEnabled", False):
        nodes.append((_literal(cluster, "WarmType", ""), int(_literal(cluster, "WarmCount", 0))))
    rate, parts = 0.0, []
    for kind, count in nodes:
        if kind not in P.OPENSEARCH_INSTANCE_HOUR:
            raise Unpriceable(f"instance type {kind!r} is not in the price table")
        rate += P.OPENSEARCH_INSTANCE_HOUR[kind] * count
        parts.append(f"{count} x {kind} @ ${P.OPENSEARCH_INSTANCE_HOUR[kind]}/h")
    ebs = props.get("EBSOptions") or {}
    if _literal(ebs, "EBSEnabled", False):
        volume = str(_literal(ebs, "VolumeType", "gp2"))
        size = int(_literal(ebs, "VolumeSize", 10))
        data_nodes = nodes[0][1]
        if volume not in P.OPENSEARCH_EBS_GB_MONTH:
            raise Unpriceable(f"volume type {volume!r} is not in the price table")
        rate += _monthly(P.OPENSEARCH_EBS_GB_MONTH[volume]) * size * data_nodes
        parts.append(f"{data_nodes} x {size} GB {volume} @ ${P.OPENSEARCH_EBS_GB_MONTH[volume]}/GB-month")
    return rate, "; ".join(parts)


def _kinesis(props: dict[str, Any]) -> tuple[float, str]:
    mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    if mode == "ON_DEMAND":
        return P.KINESIS_ON_DEMAND_STREAM_HOUR, f"on-demand stream @ ${P.KINESIS_ON_DEMAND_STREAM_HOUR}/h + usage"
    shards = int(_literal(props, "ShardCount", 1))
    return P.KINESIS_SHARD_HOUR * shards, f"{shards} shard(s) @ ${P.KINESIS_SHARD_HOUR}/shard-hour"


def _dynamodb(props: dict[str, Any]) -> tuple[float, str] | None:
    if _literal(props, "BillingMode", "PROVISIONED") == "PAY_PER_REQUEST":
        return None
    tables = [props, *(props.get("GlobalSecondaryIndexes") or [])]
    rcu = sum(int(_literal(t.get("ProvisionedThroughput") or {}, "ReadCapacityUnits", 0)) for t in tables)
    wcu = sum(int(_literal(t.get("ProvisionedThroughput") or {}, "WriteCapacityUnits", 0)) for t in tables)
    return rcu * P.DYNAMODB_RCU_HOUR + wcu * P.DYNAMODB_WCU_HOUR, f"{rcu} RCU + {wcu} WCU provisioned"


_FLAT = {
    "AWS::CloudWatch::Alarm": (P.ALARM_MONTH, "alarm"),
    "AWS::CloudWatch::CompositeAlarm": (0.50, "composite alarm"),
    "AWS::CloudWatch::Dashboard": (P.DASHBOARD_MONTH, "dashboard"),
    "AWS::KMS::Key": (P.KMS_KEY_MONTH, "key"),
    "AWS::SecretsManager::Secret": (P.SECRET_MONTH, "secret"),
}


def _standing(rtype: str, props: dict[str, Any]) -> tuple[float, str] | None:
    """(USD per hour, basis) of a resource's standing charge; None: no standing charge."""
    if rtype in ("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain"):
        return _opensearch(props)
    if rtype == "AWS::Kinesis::Stream":
        return _kinesis(props)
    if rtype == "AWS::DynamoDB::Table":
        return _dynamodb(props)
    if rtype in _FLAT:
        per_month, what = _FLAT[rtype]
        return _monthly(per_month), f"${per_month:.2f}/{what}-month"
    return None


def _is_free(rtype: str) -> bool:
    return rtype in P.FREE or rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource"


def project(template: dict[str, Any], hours: float, region: str = P.REGION) -> Projection:
    """Price ``template`` for a window of ``hours``."""
    hourly: dict[str, list[tuple[float, str]]] = defaultdict(list)
    usage: Counter[str] = Counter()
    free: Counter[str] = Counter()
    unpriced: dict[str, str] = {}
    for logical, resource in sorted((template.get("Resources") or {}).items()):
        rtype = str(resource.get("Type", "?"))
        props = resource.get("Properties") or {}
        try:
            standing = _standing(rtype, props)
        except (Unpriceable, TypeError, ValueError) as exc:
            unpriced[logical] = f"{rtype}: {exc}"
            continue
        if standing is not None:
            hourly[rtype].append(standing)
        if rtype in P.USAGE:
            usage[rtype] += 1
        elif standing is None and _is_free(rtype):
            free[rtype] += 1
        elif standing is None:
            unpriced[logical] = f"{rtype}: not in the price table"
    lines = [Line(t, len(v), sum(r for r, _ in v), "; ".join(sorted({b for _, b in v})))
             for t, v in sorted(hourly.items())]
    lines.sort(key=lambda line: -line.usd_per_hour)
    return Projection(hours, region, lines, [Line(t, n, 0.0, P.USAGE[t]) for t, n in sorted(usage.items())],
                      dict(sorted(free.items())), unpriced)


def so_far(usd_per_hour: float, started: datetime, now: datetime) -> float:
    """The standing charge of a window running since ``started`` (pro rata, never negative)."""
    return usd_per_hour * max(0.0, (now - started).total_seconds()) / 3600.0


def template_of(assembly: Path, stack: str) -> dict[str, Any]:
    import json

    return dict(json.loads((assembly / f"{stack}.template.json").read_text()))
