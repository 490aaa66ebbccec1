"""Topology references resolved the CDK way: to CloudFormation tokens, and to IAM grants.

The local target resolves `queue:payment:url` to a URL moto returned; here it becomes
`{"Ref": "...PaymentQueue..."}`. Grants use the L2 `grant_*` methods, so every policy is
scoped to the one resource the topology names (least privilege by construction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ecomshop.topology import Grant, Topology


class UnknownReference(KeyError):
    pass


@dataclass
class Registry:
    """Everything the stack created, by the topology's logical names."""

    topology: Topology
    scope: Construct
    tables: dict[str, dynamodb.Table] = field(default_factory=dict)
    queues: dict[str, sqs.Queue] = field(default_factory=dict)  # DLQs included, under topology.dlq(q)
    buses: dict[str, events.EventBus] = field(default_factory=dict)
    topics: dict[str, sns.Topic] = field(default_factory=dict)
    streams: dict[str, kinesis.Stream] = field(default_factory=dict)
    functions: dict[str, lambda_.Function] = field(default_factory=dict)
    state_machines: dict[str, sfn.IStateMachine] = field(default_factory=dict)
    secrets: dict[str, secretsmanager.Secret] = field(default_factory=dict)
    mail_identities: dict[str, ses.EmailIdentity] = field(default_factory=dict)

    # -- values ---------------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        if ref == "stage":
            return self.topology.stage
        if ref == "ssm_prefix":
            return self.topology.ssm_prefix
        if ref.startswith("value:"):
            return ref.removeprefix("value:")
        kind, _, rest = ref.partition(":")
        logical, _, attr = rest.partition(":")
        try:
            if kind == "table" and not attr:
                return self.tables[logical].table_name
            if kind == "queue":
                q = self.queues[logical]
                return {"": q.queue_name, "url": q.queue_url, "arn": q.queue_arn}[attr]
            if kind == "bus" and not attr:
                return self.buses[logical].event_bus_name
            if kind == "topic":
                t = self.topics[logical]
                return {"": t.topic_name, "arn": t.topic_arn}[attr]
            if kind == "stream" and not attr:
                return self.streams[logical].stream_name
            if kind == "function":
                f = self.functions[logical]
                return {"": f.function_name, "arn": f.function_arn}[attr]
            if kind == "statemachine" and attr == "arn":
                return self.state_machines[logical].state_machine_arn
            if kind == "secret" and attr == "arn":
                return self.secrets[logical].secret_arn
            mail = self.topology.mail
            if kind == "mail" and mail is not None and logical == mail.logical and logical in self.mail_identities:
                return {"": mail.sender, "domain": mail.recipient_domain}[attr]
        except KeyError:
            pass
        raise UnknownReference(f"topology reference {ref!r} has no CDK resource (yet)")

    # -- permissions ----------------------------------------------------------------------
    def grant(self, grantee: iam.IGrantable, grant: Grant) -> None:
        kind, _, logical = grant.ref.partition(":")
        access = grant.access
        if kind == "table":
            table = self.tables[logical]
            {"read": table.grant_read_data, "write": table.grant_write_data,
             "read_write": table.grant_read_write_data}[access](grantee)
        elif kind == "queue":
            queue = self.queues[logical]
            {"send": queue.grant_send_messages, "consume": queue.grant_consume_messages}[access](grantee)
        elif kind == "bus" and access == "put":
            self.buses[logical].grant_put_events_to(grantee)
        elif kind == "topic" and access == "publish":
            self.topics[logical].grant_publish(grantee)
        elif kind == "stream":
            stream = self.streams[logical]
            {"write": stream.grant_write, "read": stream.grant_read}[access](grantee)
        elif kind == "statemachine":
            machine = self.state_machines[logical]
            {"start": machine.grant_start_execution, "task": machine.grant_task_response}[access](grantee)
        elif kind == "secret" and access == "read":
            # GetSecretValue only (grant_read would add DescribeSecret), on this one secret.
            iam.Grant.add_to_principal(grantee=grantee, actions=["secretsmanager:GetSecretValue"],
                                       resource_arns=[self.secrets[logical].secret_arn])
        elif kind == "mail" and access == "send" and logical in self.mail_identities:
            # SES authorizes SendEmail on the sending identity: this one address only.
            identity = self.mail_identities[logical].email_identity_name
            arn = Stack.of(self.scope).format_arn(service="ses", resource="identity", resource_name=identity)
            iam.Grant.add_to_principal(grantee=grantee, actions=["ses:SendEmail"], resource_arns=[arn])
        elif kind == "ssm_prefix" and access == "read":
            self.grant_flags_read(grantee)
        else:
            raise UnknownReference(f"no CDK grant for {grant.ref!r} with access {access!r}")

    def flags_parameter_arns(self) -> list[str]:
        stack = Stack.of(self.scope)
        prefix = self.topology.ssm_prefix.lstrip("/")
        # The namespace itself and every flag under it; nothing else in Parameter Store.
        return [stack.format_arn(service="ssm", resource="parameter", resource_name=name,
                                 arn_format=ArnFormat.SLASH_RESOURCE_NAME)
                for name in (prefix, f"{prefix}/*")]

    def grant_flags_read(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            resource_arns=self.flags_parameter_arns(),
        )
