"""Create every resource of the topology through the ordinary AWS APIs.

It runs against moto (the local target and the tests); the CDK app renders the same
topology for AWS. The result resolves the topology's references to physical values,
which become the handlers' environment, as CloudFormation does on AWS.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from ecomshop.topology import Topology

# moto requires an existing role and a zip for CreateFunction; the code in the zip is
# never run: the lambda bridge dispatches invocations to the real handlers in-process.
_ROLE_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                             "Action": "sts:AssumeRole"}]}
)


def _placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("placeholder.py", "# dispatched in-process by ecomctl.local.lambda_bridge\n")
    return buf.getvalue()


@dataclass
class Resources:
    """Physical identities of a provisioned topology, keyed by reference."""

    topology: Topology
    values: dict[str, str] = field(default_factory=dict)

    def resolve(self, ref: str) -> str:
        if ref.startswith("value:"):
            return ref.removeprefix("value:")
        try:
            return self.values[ref]
        except KeyError:
            raise KeyError(f"topology reference {ref!r} was not provisioned") from None

    def environment(self, function: str) -> dict[str, str]:
        fn = self.topology.function(function)
        return {k: self.resolve(v) for k, v in fn.environment.items()}

    def process_environment(self) -> dict[str, str]:
        """The union of every function's environment (one process hosts them all)."""
        merged: dict[str, str] = {}
        for fn in self.topology.functions:
            merged.update(self.environment(fn.logical))
        return merged

    def queue_url(self, logical: str) -> str:
        return self.resolve(f"queue:{logical}:url")


def provision(topology: Topology, session: boto3.Session, endpoint_url: str | None = None) -> Resources:
    def c(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    res = Resources(topology)
    v = res.values
    v["stage"] = topology.stage
    v["ssm_prefix"] = topology.ssm_prefix
    region = session.region_name
    account = c("sts").get_caller_identity()["Account"]

    ddb = c("dynamodb")
    for t in topology.tables:
        name = topology.name(t.logical)
        keys = [{"AttributeName": t.partition_key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": t.partition_key, "AttributeType": "S"}]
        if t.sort_key:
            keys.append({"AttributeName": t.sort_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": t.sort_key, "AttributeType": "S"})
        ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
        if t.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": t.ttl_attribute}
            )
        v[f"table:{t.logical}"] = name

    sqs = c("sqs")
    for q in topology.queues:
        pair: tuple[tuple[str, dict[str, str]], ...] = (
            (topology.dlq(q.logical), {"MessageRetentionPeriod": str(14 * 86400)}),
            (q.logical, {}),
        )
        for logical, extra in pair:
            name = topology.name(logical)
            attributes: dict[str, str] = {"VisibilityTimeout": str(q.visibility_timeout_s), **extra}
            if logical == q.logical:
                attributes["MessageRetentionPeriod"] = str(q.retention_days * 86400)
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": v[f"queue:{topology.dlq(q.logical)}:arn"],
                     "maxReceiveCount": q.max_receive_count}
                )
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            v[f"queue:{logical}"] = name
            v[f"queue:{logical}:url"] = url
            v[f"queue:{logical}:arn"] = f"arn:aws:sqs:{region}:{account}:{name}"

    events = c("events")
    bus = topology.name(topology.bus)
    events.create_event_bus(Name=bus)
    v[f"bus:{topology.bus}"] = bus
    for r in topology.rules:
        rule = topology.name(r.logical)
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(r.pattern), State="ENABLED")
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": v[f"{r.target}:arn"]}])

    sns = c("sns")
    for topic in topology.topics:
        v[f"topic:{topic}:arn"] = sns.create_topic(Name=topology.name(topic))["TopicArn"]
        v[f"topic:{topic}"] = topology.name(topic)

    stream = topology.name(topology.stream.logical)
    c("kinesis").create_stream(StreamName=stream, ShardCount=topology.stream.shards)
    v[f"stream:{topology.stream.logical}"] = stream

    s3 = c("s3")
    bucket = f"{topology.name(topology.lake.logical)}-{account}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle_configuration(topology))
    v[f"bucket:{topology.lake.logical}"] = bucket

    secrets = c("secretsmanager")
    for secret in topology.secrets:
        # Generated here as CloudFormation's GenerateSecretString does on AWS: nobody types it.
        value = secrets.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
        created = secrets.create_secret(Name=topology.name(secret), SecretString=value,
                                        Description=f"ecomshop {topology.stage} {secret}")
        v[f"secret:{secret}"] = topology.name(secret)
        v[f"secret:{secret}:arn"] = created["ARN"]

    if topology.mail is not None:
        # moto verifies at once; on AWS the identity's owner confirms the address.
        c("ses").verify_email_identity(EmailAddress=topology.mail.sender)
        v[f"mail:{topology.mail.logical}"] = topology.mail.sender
        v[f"mail:{topology.mail.logical}:domain"] = topology.mail.recipient_domain

    iam = c("iam")
    role_arn = iam.create_role(RoleName=topology.name("lambda"), AssumeRolePolicyDocument=_ROLE_POLICY)["Role"]["Arn"]
    lam = c("lambda")
    code = _placeholder_zip()
    for fn in topology.functions:
        name = topology.name(fn.logical)
        arn = lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role_arn, Handler=fn.handler,
            Code={"ZipFile": code}, Timeout=fn.timeout_s, MemorySize=fn.memory_mb,
        )["FunctionArn"]
        v[f"function:{fn.logical}"] = name
        v[f"function:{fn.logical}:arn"] = arn

    definition = render_definition(topology, res.resolve)
    sfn = c("stepfunctions")
    sm_arn = sfn.create_state_machine(
        name=topology.name(topology.saga.logical), definition=definition,
        roleArn=role_arn,
    )["stateMachineArn"]
    v["statemachine:saga"] = topology.name(topology.saga.logical)
    v["statemachine:saga:arn"] = sm_arn
    # Function environments may reference anything above, so they are set last.
    for fn in topology.functions:
        lam.update_function_configuration(FunctionName=v[f"function:{fn.logical}"],
                                          Environment={"Variables": res.environment(fn.logical)})
    return res


def render_definition(topology: Topology, resolve: Any) -> str:
    text = topology.saga.definition_file.read_text()
    for placeholder, ref in topology.saga.substitutions.items():
        text = text.replace("${" + placeholder + "}", resolve(ref))
    return text


def lifecycle_configuration(topology: Topology) -> dict[str, Any]:
    lake = topology.lake
    return {
        "Rules": [
            {
                "ID": "tier-archive-expire",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "Transitions": [{"Days": t.after_days, "StorageClass": t.storage_class} for t in lake.transitions],
                "Expiration": {"Days": lake.expiration_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
        ]
    }
