"""The read layer: what an operator looks at, read through the ordinary AWS APIs.

``status``, chaos probes, the load dashboard and the game day all read the platform
here, on either target, through the window's ``AwsAccess`` (no credentials of its own):
queue depths, orders by status, the active chaos flags (parsed with the platform's own
flag schema, ``ecomshop.faults.Flag``) and each dependency's circuit breaker.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ecomctl.targets.base import AwsAccess
from ecomshop.faults import HALT_FLAG, Flag
from ecomshop.topology import Topology


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    visible: int
    in_flight: int
    dlq: int


@dataclass(frozen=True)
class ActiveFlag:
    name: str  # after the prefix: "payment.charge", "inventory", "halt"
    expires_at: str
    remaining_s: int
    value: dict[str, Any]

    @property
    def effect(self) -> str:
        return str(self.value.get("effect", "halt" if self.name == HALT_FLAG else ""))


@dataclass(frozen=True)
class BreakerState:
    provider: str
    state: str  # CLOSED, OPEN, HALF_OPEN
    failures: int
    changed_at: str | None


_ORDER_ID = re.compile(r"\bord-[0-9a-f]{20}\b")  # the platform's order ids (ecomshop.orders.store)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Reader:
    def __init__(self, access: AwsAccess, topology: Topology) -> None:
        self.aws = access
        self.topology = topology
        self._urls: dict[str, str] = {}

    def _url(self, logical: str) -> str:
        if logical not in self._urls:
            name = self.topology.name(logical)
            self._urls[logical] = self.aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[logical]

    def _depth(self, logical: str) -> tuple[int, int]:
        attrs = self.aws.client("sqs").get_queue_attributes(
            QueueUrl=self._url(logical),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (int(attrs.get("ApproximateNumberOfMessages", 0)),
                int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)))

    def queue_depths(self) -> list[QueueDepth]:
        rows = []
        for q in self.topology.queues:
            visible, in_flight = self._depth(q.logical)
            dlq_visible, dlq_in_flight = self._depth(self.topology.dlq(q.logical))
            rows.append(QueueDepth(q.logical, visible, in_flight, dlq_visible + dlq_in_flight))
        return rows

    def order_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        kwargs: dict[str, Any] = {"TableName": self.topology.name("orders"), "ProjectionExpression": "#s",
                                  "ExpressionAttributeNames": {"#s": "status"}}
        ddb = self.aws.client("dynamodb")
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                counts[item.get("status", {}).get("S", "UNKNOWN")] += 1
            if "LastEvaluatedKey" not in page:
                return dict(sorted(counts.items()))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def flags(self) -> dict[str, str]:
        """Every parameter under the chaos prefix, raw: name after the prefix -> value."""
        prefix = self.topology.ssm_prefix
        found: dict[str, str] = {}
        kwargs: dict[str, Any] = {"Path": prefix, "Recursive": True}
        ssm = self.aws.client("ssm")
        while True:
            page = ssm.get_parameters_by_path(**kwargs)
            for p in page.get("Parameters", []):
                found[p["Name"][len(prefix):].lstrip("/")] = p["Value"]
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def active_flags(self, now: datetime | None = None) -> list[ActiveFlag]:
        """The flags the handlers would act on now: valid by the platform's schema, not expired."""
        moment = now or datetime.now(UTC)
        active = []
        for name, raw in sorted(self.flags().items()):
            try:
                value = json.loads(raw)
                flag = Flag.model_validate(value if name != HALT_FLAG else {"effect": "error", **value})
            except (ValueError, TypeError, ValidationError):
                continue  # the handlers ignore what they cannot parse; so does the operator's view
            if not flag.active(moment):
                continue
            expires = flag.expires_at if flag.expires_at.tzinfo else flag.expires_at.replace(tzinfo=UTC)
            active.append(ActiveFlag(name, _iso(expires), int((expires - moment).total_seconds()), value))
        return active

    def breaker_providers(self) -> list[str]:
        """The dependencies behind a breaker: the functions granted the breakers table."""
        return sorted(f.logical for f in self.topology.functions
                      if any(g.ref == "table:breakers" for g in f.grants))

    def breakers(self) -> list[BreakerState]:
        items: dict[str, dict[str, Any]] = {}
        ddb = self.aws.client("dynamodb")
        kwargs: dict[str, Any] = {"TableName": self.topology.name("breakers"), "ConsistentRead": True}
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                items[item["provider"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        rows = []
        for provider in sorted(set(self.breaker_providers()) | set(items)):
            item = items.get(provider, {})
            changed = item.get("changedAt", {}).get("S")
            rows.append(BreakerState(
                provider, item.get("state", {}).get("S", "CLOSED"), int(item.get("failures", {}).get("N", 0)),
                _iso(datetime.fromtimestamp(float(changed), UTC)) if changed else None))
        return rows

    def partner_registration(self) -> str:
        """This deployment's registrations as the shipping partner holds them (its account's partition)."""
        spec = self.topology.partner
        if spec is None:
            return "not part of the topology"
        ddb = self.aws.client("dynamodb")
        page = ddb.query(TableName=self.topology.name("providers"), ConsistentRead=True,
                         KeyConditionExpression="pk = :pk AND begins_with(sk, :reg)",
                         ExpressionAttributeValues={":pk": {"S": f"PARTNER#{spec.account}"},
                                                    ":reg": {"S": "REGISTRATION#"}})
        rows = [f"{i['registrationId']['S']}: contract {i['contractVersion']['S']}, {i['state']['S']}"
                for i in page.get("Items", [])]
        return "; ".join(rows) + f" (account {spec.account})" if rows else f"none (account {spec.account})"

    # --- chaos probes (ecomctl.chaos) ------------------------------------------------------

    def orders_by_id(self, order_ids: list[str]) -> dict[str, dict[str, str | None]]:
        """Status and reason of the given orders (strongly consistent); a missing id is absent."""
        ddb = self.aws.client("dynamodb")
        table = self.topology.name("orders")
        found: dict[str, dict[str, str | None]] = {}
        for start in range(0, len(order_ids), 100):
            request: dict[str, Any] = {table: {"Keys": [{"orderId": {"S": i}} for i in order_ids[start:start + 100]],
                                               "ConsistentRead": True}}
            while request:
                page = ddb.batch_get_item(RequestItems=request)
                for item in page.get("Responses", {}).get(table, []):
                    found[item["orderId"]["S"]] = {"status": item.get("status", {}).get("S"),
                                                   "reason": item.get("reason", {}).get("S")}
                request = page.get("UnprocessedKeys") or {}
        return found

    def orders_with_key_prefix(self, prefix: str) -> dict[str, set[str]]:
        """Idempotency-Key -> the order ids created with it, for keys starting with ``prefix``."""
        ddb = self.aws.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.topology.name("orders"), "ProjectionExpression": "orderId, idempotencyKey",
            "FilterExpression": "begins_with(idempotencyKey, :p)", "ExpressionAttributeValues": {":p": {"S": prefix}}}
        found: dict[str, set[str]] = {}
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                found.setdefault(item["idempotencyKey"]["S"], set()).add(item["orderId"]["S"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def charges(self, order_id: str) -> list[dict[str, str]]:
        """The payment provider's charges of one order (its ledger in the providers table)."""
        page = self.aws.client("dynamodb").query(
            TableName=self.topology.name("providers"), KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CHARGE#{order_id}"}}, ConsistentRead=True)
        return [{"chargeId": i.get("chargeId", {}).get("S", ""), "state": i.get("state", {}).get("S", "")}
                for i in page.get("Items", [])]

    def lake_bucket(self) -> str:
        """The data lake's bucket (named ``ecom-<stage>-lake-<account>``)."""
        base = self.topology.name(self.topology.lake.logical) + "-"
        names = [b["Name"] for b in self.aws.client("s3").list_buckets().get("Buckets", [])
                 if b["Name"].startswith(base) and "log" not in b["Name"][len(base):]]
        if not names:
            raise LookupError(f"no lake bucket named {base}* in this window")
        return sorted(names)[0]

    def lake_lifecycle(self) -> list[dict[str, Any]]:
        """The lake's lifecycle rules as S3 answers them (none: an empty list)."""
        from botocore.exceptions import ClientError

        try:
            return list(self.aws.client("s3").get_bucket_lifecycle_configuration(
                Bucket=self.lake_bucket()).get("Rules", []))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
                return []
            raise

    def lake_objects(self, prefix: str = "") -> list[tuple[str, int]]:
        """(key, size in bytes) of every lake object under ``prefix``: the object inventory."""
        paginator = self.aws.client("s3").get_paginator("list_objects_v2")
        return [(o["Key"], int(o["Size"])) for page in paginator.paginate(Bucket=self.lake_bucket(), Prefix=prefix)
                for o in page.get("Contents", [])]

    def stack_alarms(self) -> list[dict[str, Any]]:
        """The stack's CloudWatch metric alarms (named ``ecom-<stage>-alarm-*``)."""
        paginator = self.aws.client("cloudwatch").get_paginator("describe_alarms")
        pages = paginator.paginate(AlarmNamePrefix=self.topology.name("alarm-"), AlarmTypes=["MetricAlarm"])
        return [a for page in pages for a in page.get("MetricAlarms", [])]

    # --- load and observe (ecomctl.load, ecomctl.observe) ------------------------------------

    def dead_lettered_order_ids(self, max_messages: int = 1000) -> dict[str, str]:
        """orderId -> the DLQ holding a message about it; peeked (visibility 0), never deleted."""
        sqs = self.aws.client("sqs")
        found: dict[str, str] = {}
        for q in self.topology.queues:
            dlq = self.topology.dlq(q.logical)
            seen: set[str] = set()
            while len(seen) < max_messages:
                page = sqs.receive_message(QueueUrl=self._url(dlq), MaxNumberOfMessages=10, VisibilityTimeout=0)
                fresh = [m for m in page.get("Messages", []) if m["MessageId"] not in seen]
                if not fresh:
                    break
                for message in fresh:
                    seen.add(message["MessageId"])
                    for order_id in _ORDER_ID.findall(message.get("Body", "")):
                        found.setdefault(order_id, dlq)
        return found

    def orders_created_since(self, since_iso: str) -> dict[str, dict[str, str | None]]:
        """Every order created at or after ``since_iso``: orderId -> status and reason."""
        ddb = self.aws.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.topology.name("orders"), "ProjectionExpression": "orderId, #s, reason",
            "FilterExpression": "createdAt >= :since", "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":since": {"S": since_iso}}}
        found: dict[str, dict[str, str | None]] = {}
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                found[item["orderId"]["S"]] = {"status": item.get("status", {}).get("S"),
                                               "reason": item.get("reason", {}).get("S")}
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def orders_placed_at(self, order_ids: list[str]) -> dict[str, str]:
        """orderId -> createdAt (ISO-8601 UTC) of the given orders; a missing id is absent."""
        ddb = self.aws.client("dynamodb")
        table = self.topology.name("orders")
        found: dict[str, str] = {}
        for start in range(0, len(order_ids), 100):
            request: dict[str, Any] = {table: {"Keys": [{"orderId": {"S": i}} for i in order_ids[start:start + 100]],
                                               "ProjectionExpression": "orderId, createdAt"}}
            while request:
                page = ddb.batch_get_item(RequestItems=request)
                for item in page.get("Responses", {}).get(table, []):
                    if "createdAt" in item:
                        found[item["orderId"]["S"]] = item["createdAt"]["S"]
                request = page.get("UnprocessedKeys") or {}
        return found


_BREAKER_ORDER = {"OPEN": 2, "HALF_OPEN": 1, "CLOSED": 0}


class CellsReader(Reader):
    """A window of cells (ecomctl.local.cells): what the cells share (the chaos flags in SSM,
    the lake in S3, the alarms in CloudWatch) is read once, where it lives, on the first
    cell; what each cell holds (queues, orders, breakers, the providers' ledgers) is read
    from every cell and merged, so each reading answers for the whole window."""

    def __init__(self, shared: AwsAccess, cells: list[AwsAccess], topology: Topology) -> None:
        super().__init__(shared, topology)
        self.cells = [Reader(access, topology) for access in cells]

    def queue_depths(self) -> list[QueueDepth]:
        per_cell = [cell.queue_depths() for cell in self.cells]
        return [QueueDepth(rows[0].queue, sum(r.visible for r in rows), sum(r.in_flight for r in rows),
                           sum(r.dlq for r in rows)) for rows in zip(*per_cell, strict=True)]

    def order_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for cell in self.cells:
            counts.update(cell.order_counts())
        return dict(sorted(counts.items()))

    def breakers(self) -> list[BreakerState]:
        """Each provider's breaker in its worst state over the cells (each cell has its own)."""
        worst: dict[str, BreakerState] = {}
        for cell in self.cells:
            for b in cell.breakers():
                seen = worst.get(b.provider)
                if seen is None or _BREAKER_ORDER.get(b.state, 0) > _BREAKER_ORDER.get(seen.state, 0):
                    worst[b.provider] = b
        return [worst[p] for p in sorted(worst)]

    def partner_registration(self) -> str:
        return "; ".join(f"cell {i}: {cell.partner_registration()}" for i, cell in enumerate(self.cells))

    def orders_by_id(self, order_ids: list[str]) -> dict[str, dict[str, str | None]]:
        found: dict[str, dict[str, str | None]] = {}
        for cell in self.cells:
            found.update(cell.orders_by_id([i for i in order_ids if i not in found]))
        return found

    def orders_with_key_prefix(self, prefix: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for cell in self.cells:
            for key, ids in cell.orders_with_key_prefix(prefix).items():
                found.setdefault(key, set()).update(ids)
        return found

    def charges(self, order_id: str) -> list[dict[str, str]]:
        return [charge for cell in self.cells for charge in cell.charges(order_id)]

    def dead_lettered_order_ids(self, max_messages: int = 1000) -> dict[str, str]:
        found: dict[str, str] = {}
        for cell in self.cells:
            for order_id, dlq in cell.dead_lettered_order_ids(max_messages).items():
                found.setdefault(order_id, dlq)
        return found

    def orders_created_since(self, since_iso: str) -> dict[str, dict[str, str | None]]:
        found: dict[str, dict[str, str | None]] = {}
        for cell in self.cells:
            found.update(cell.orders_created_since(since_iso))
        return found

    def orders_placed_at(self, order_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for cell in self.cells:
            found.update(cell.orders_placed_at([i for i in order_ids if i not in found]))
        return found
