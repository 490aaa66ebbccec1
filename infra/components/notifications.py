"""SNS topic for notifications and alarms, the e-mail channel's SES identity, and the chaos flag namespace."""

from __future__ import annotations

from aws_cdk import CfnCondition, CfnParameter, Fn
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..references import Registry
from .data import _cid


class Notifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        email = CfnParameter(
            self, "AlarmEmail", type="String", default="",
            allowed_pattern=r"^$|^[^@\s]+@[^@\s]+$",
            description="Optional e-mail address subscribed to the notifications/alarms topic (blank: none)",
        )
        has_email = CfnCondition(self, "HasAlarmEmail", expression=Fn.condition_not(
            Fn.condition_equals(email.value_as_string, "")))
        self.alarm_email = email
        for logical in topo.topics:
            topic = sns.Topic(self, _cid(logical), topic_name=topo.name(logical),
                              display_name=f"ecomshop {topo.stage} {logical}", enforce_ssl=True)
            registry.topics[logical] = topic
            sub = sns.CfnSubscription(self, f"{_cid(logical)}Email", topic_arn=topic.topic_arn,
                                      protocol="email", endpoint=email.value_as_string)
            sub.cfn_options.condition = has_email
        self.alarm_topic = registry.topics[topo.topics[0]]
        if topo.mail is not None:
            # The second channel's sender; SES sends a confirmation to the address at deploy.
            registry.mail_identities[topo.mail.logical] = ses.EmailIdentity(
                self, f"{_cid(topo.mail.logical)}Sender", identity=ses.Identity.email(topo.mail.sender))

        # The chaos namespace: ecomctl chaos writes flags under this path (with an expiry),
        # handlers read them (read-only grant from the topology). This marker documents it.
        self.flags_namespace = ssm.StringParameter(
            self, "ChaosNamespace",
            parameter_name=f"{topo.ssm_prefix}/_namespace",
            string_value=f'{{"stage": "{topo.stage}", "owner": "ecomctl chaos", "flags": "{topo.ssm_prefix}/*"}}',
            description="Chaos flags for this stage live under this path; handlers may only read them",
            tier=ssm.ParameterTier.STANDARD,
        )
