"""DynamoDB tables: on demand, TTL where the topology names one, PITR where it asks."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from ..references import Registry


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        for t in topo.tables:
            table = dynamodb.Table(
                self, _cid(t.logical),
                table_name=topo.name(t.logical),
                partition_key=dynamodb.Attribute(name=t.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(dynamodb.Attribute(name=t.sort_key, type=dynamodb.AttributeType.STRING)
                          if t.sort_key else None),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                time_to_live_attribute=t.ttl_attribute,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=t.point_in_time_recovery),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                removal_policy=RemovalPolicy.DESTROY,
            )
            registry.tables[t.logical] = table


def _cid(logical: str) -> str:
    """Construct id from a logical name: `saga-start` -> `SagaStart`."""
    return "".join(part.capitalize() for part in logical.replace("_", "-").split("-"))
