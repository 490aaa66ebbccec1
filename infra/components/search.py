"""Optional OpenSearch domain for real-time analytics (context with_opensearch; off by default).

It is the expensive part of a window, so it is small, single-node, and always destroyed
with the stack (the DESTROY aspect covers it like everything else).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from ..references import Registry

INSTANCE_TYPE = "t3.medium.search"
VOLUME_GIB = 10


class Search(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        self.domain = opensearch.Domain(
            self, "Domain",
            domain_name=topo.name("search"),
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(data_nodes=1, data_node_instance_type=INSTANCE_TYPE,
                                               multi_az_with_standby_enabled=False),
            ebs=opensearch.EbsOptions(volume_size=VOLUME_GIB),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=False),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # No resource policy (the CDK renders one through a custom-resource Lambda): access is by
        # identity policy only, and only the analytics function gets one.
        registry.functions["analytics"].add_to_role_policy(iam.PolicyStatement(
            actions=["es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut"],
            resources=[self.domain.domain_arn, f"{self.domain.domain_arn}/*"],
        ))
