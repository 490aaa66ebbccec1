"""The platform stack: every construct rendered from `ecomshop.topology.build_topology(stage)`."""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ecomshop.topology import build_topology

from .components.api import Api
from .components.compute import Functions
from .components.data import Tables
from .components.lake import Lake
from .components.messaging import Messaging
from .components.monitoring import Monitoring
from .components.notifications import Notifications
from .components.partner import PartnerRegistration, Secrets
from .components.saga import Saga
from .components.search import Search
from .config import InfraOptions
from .references import Registry


def output_id(ref: str) -> str:
    """`queue:payment:url` -> `RefQueuePaymentUrl` (CloudFormation output ids are alphanumeric)."""
    return "Ref" + "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", ref) if p)


class PlatformStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, options: InfraOptions) -> None:
        super().__init__(
            scope, construct_id,
            description=f"ecomshop capstone platform, stage {options.stage} (rendered by ecomctl from the topology)",
        )
        self.options = options
        self.topology = topo = build_topology(options.stage)
        self.registry = reg = Registry(topo, self)

        Tables(self, "Data", reg)
        Messaging(self, "Messaging", reg)
        self.notifications = Notifications(self, "Notifications", reg)
        self.lake = Lake(self, "Lake", reg)
        Secrets(self, "Secrets", reg)
        self.functions = Functions(self, "Functions", reg, options)
        self.saga = Saga(self, "Saga", reg)
        self.functions.wire()
        self.api = Api(self, "Api", reg)
        if topo.partner is not None:
            self.partner = PartnerRegistration(self, "Partner", reg,
                                               self.api.api.url_for_path(topo.partner.callback_path))
        self.monitoring = Monitoring(self, "Monitoring", reg, self.api, self.notifications.alarm_topic)
        self.search = Search(self, "Search", reg) if options.with_opensearch else None

        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="Order API base URL")
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        CfnOutput(self, "LakeBucket", value=self.lake.bucket.bucket_name)
        CfnOutput(self, "LakeCrawler", value=self.lake.crawler.ref)
        CfnOutput(self, "AlarmNames", value=",".join(a.alarm_name for a in self.monitoring.alarms),
                  description="The stop conditions of chaos experiments")
        if self.search:
            CfnOutput(self, "SearchEndpoint", value=self.search.domain.domain_endpoint)
        # Every reference a handler or the saga sees, so the CLI resolves them as Lambda does.
        refs = {r for fn in topo.functions for r in fn.environment.values()}
        refs |= set(topo.saga.substitutions.values())
        refs |= {f"queue:{q}:url" for q in reg.queues}
        for ref in sorted(refs):
            CfnOutput(self, output_id(ref), value=reg.resolve(ref), description=ref)
