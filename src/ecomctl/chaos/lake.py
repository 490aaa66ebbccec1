"""The storage-cost scenario's two halves: a capped, tagged burst into the lake, and the
projection of the lake's storage cost with and without its lifecycle rules.

The projection takes the lake's actual object inventory (bytes now, the burst included)
as one day's ingest, repeated every day for the horizon, and prices each day's bytes by
the storage class the lifecycle rules put them in at their age. Prices are S3's public
us-east-1 list prices per GB-month (storage only; requests and retrievals left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ecomctl.chaos.spec import BurstSpec, CostSpec

PRICE_PER_GB_MONTH = {"STANDARD": 0.023, "INTELLIGENT_TIERING": 0.0125, "STANDARD_IA": 0.0125,
                      "GLACIER_IR": 0.004, "GLACIER": 0.0036, "DEEP_ARCHIVE": 0.00099}
RUN_TAG = "ecomctl-chaos-run"
_GB = 1024**3


@dataclass(frozen=True)
class Burst:
    bucket: str
    prefix: str
    objects: int
    bytes: int


def write_burst(s3: Any, bucket: str, run_id: str, spec: BurstSpec) -> Burst:
    """Write the burst (never more than the spec's cap), every object tagged with the run."""
    prefix = f"{spec.prefix.rstrip('/')}/{run_id}/"
    payload = (b'{"chaos": "storage-cost-explosion"}\n' * (spec.object_kib * 32))[: spec.object_kib * 1024]

    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"{prefix}part-{i:05d}.json", Body=payload,
                      Tagging=f"{RUN_TAG}={run_id}")

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="chaos-burst") as pool:
        list(pool.map(put, range(spec.objects)))
    return Burst(bucket, prefix, spec.objects, spec.objects * len(payload))


def delete_burst(s3: Any, bucket: str, prefix: str) -> int:
    """Delete everything under the burst's prefix (idempotent); returns how many went."""
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def rules_cover(rules: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The enabled rules whose prefix filter matches ``key`` and that transition or expire it."""
    covering = []
    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        rule_filter = rule.get("Filter") or {}
        prefix = rule_filter.get("Prefix", (rule_filter.get("And") or {}).get("Prefix", rule.get("Prefix", "")))
        if key.startswith(prefix or "") and (rule.get("Transitions") or rule.get("Expiration")):
            covering.append(rule)
    return covering


def _class_at(age_days: int, transitions: list[tuple[int, str]]) -> str:
    current = "STANDARD"
    for after, storage_class in transitions:
        if age_days >= after:
            current = storage_class
    return current


def project_cost(daily_bytes: float, rules: list[dict[str, Any]], spec: CostSpec) -> float:
    """USD of storage over ``spec.years`` for ``daily_bytes`` ingested every day, under ``rules``."""
    transitions = sorted((int(t["Days"]), str(t["StorageClass"])) for r in rules for t in r.get("Transitions", []))
    expirations = [int(r["Expiration"]["Days"]) for r in rules if (r.get("Expiration") or {}).get("Days")]
    expire_after = min(expirations) if expirations else None
    horizon = spec.years * 365
    # Cost of one day's bytes over its life, by age, then summed over the days they arrive.
    per_age = []
    for age in range(horizon):
        if expire_after is not None and age >= expire_after:
            per_age.append(0.0)
        else:
            per_age.append(PRICE_PER_GB_MONTH.get(_class_at(age, transitions), 0.023) / 30)
    cumulative, total = 0.0, 0.0
    for age in range(horizon):  # bytes ingested on day d are age (horizon - 1 - d) at the end
        cumulative += per_age[age]
        total += cumulative
    return round(total * daily_bytes * spec.daily_multiplier / _GB, 2)
