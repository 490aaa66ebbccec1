"""EventBridge bus (+ archive for replay), SQS queues each with its DLQ, rules -> queues."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ecomshop.topology import EVENT_SOURCE

from ..references import Registry
from .data import _cid

DLQ_RETENTION = Duration.days(14)  # the maximum: a parked message outlives any game day
ARCHIVE_RETENTION = Duration.days(7)
# EventBridge pattern keys (as the topology writes them) -> EventPattern keyword arguments.
_PATTERN_KEYS = {"source": "source", "detail-type": "detail_type", "detail": "detail", "account": "account",
                 "region": "region", "resources": "resources", "id": "id", "time": "time", "version": "version"}


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = set(pattern) - set(_PATTERN_KEYS)
    if unknown:
        raise ValueError(f"event pattern keys {sorted(unknown)} are not supported by the CDK renderer")
    return events.EventPattern(**{_PATTERN_KEYS[k]: v for k, v in pattern.items()})


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        bus = events.EventBus(self, "Bus", event_bus_name=topo.name(topo.bus))
        # Every platform event is archived, so a game day can be replayed after a fix.
        bus.archive("Archive", archive_name=topo.name(f"{topo.bus}-archive"),
                    event_pattern=events.EventPattern(source=[EVENT_SOURCE]), retention=ARCHIVE_RETENTION)
        registry.buses[topo.bus] = bus

        for q in topo.queues:
            dlq_logical = topo.dlq(q.logical)
            dlq = sqs.Queue(
                self, _cid(dlq_logical),
                queue_name=topo.name(dlq_logical),
                retention_period=DLQ_RETENTION,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                removal_policy=RemovalPolicy.DESTROY,
            )
            queue = sqs.Queue(
                self, _cid(q.logical),
                queue_name=topo.name(q.logical),
                visibility_timeout=Duration.seconds(q.visibility_timeout_s),
                retention_period=Duration.days(q.retention_days),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=q.max_receive_count),
                removal_policy=RemovalPolicy.DESTROY,
            )
            registry.queues[q.logical] = queue
            registry.queues[dlq_logical] = dlq

        for r in topo.rules:
            kind, _, target = r.target.partition(":")
            if kind != "queue":
                raise ValueError(f"rule {r.logical}: only queue targets are rendered (got {r.target!r})")
            events.Rule(
                self, f"{_cid(r.logical)}Rule",
                rule_name=topo.name(r.logical),
                event_bus=bus,
                event_pattern=event_pattern(r.pattern),
                # Undeliverable events are parked in the target's DLQ, where the DLQ alarm sees them.
                targets=[targets.SqsQueue(registry.queues[target],
                                          dead_letter_queue=registry.queues[topo.dlq(target)],
                                          retry_attempts=8, max_event_age=Duration.hours(2))],
            )
