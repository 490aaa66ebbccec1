"""cdk-nag v3 (AwsSolutions) and the acknowledged findings, each with its reason.

Acknowledgements are scoped to the construct that causes them (a function, the saga, the
Firehose role), never to the whole app, so a new resource with the same problem fails.
Every id is a cdk-nag v3 finding id; granular ones name the exact action or resource.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

if TYPE_CHECKING:
    from .stack import PlatformStack

MANAGED = "arn:<AWS::Partition>:iam::aws:policy/service-role/"
ARN = "arn:<AWS::Partition>"
REGION_ACCOUNT = "<AWS::Region>:<AWS::AccountId>"


def add_nag(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


# Every acknowledgement made, as (construct path, finding id, reason): the tests read it.
ACKNOWLEDGED: list[tuple[str, str, str]] = []


def _ack(scope: IConstruct, rules: dict[str, str]) -> None:
    ACKNOWLEDGED.extend((scope.node.path, i, r) for i, r in rules.items())
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=r) for i, r in rules.items()))


def _arn_ref(construct: IConstruct, suffix: str = "") -> str:
    child = construct.node.default_child
    assert isinstance(child, CfnResource)
    return f"<{Stack.of(construct).get_logical_id(child)}.Arn>{suffix}"


def acknowledge(stack: PlatformStack) -> None:
    reg = stack.registry
    topo = stack.topology
    _ack(stack.functions, {
        "AwsSolutions-L1": (
            "Python 3.13 is pinned on purpose: the public Powertools v3 layer is published per Python "
            "version and the bundle's wheels are fetched for the same version (ecomctl.bundle)"),
        f"AwsSolutions-IAM4[Policy::{MANAGED}AWSLambdaBasicExecutionRole]": (
            "AWS's minimal managed policy for Lambda logging (CreateLogStream/PutLogEvents); the log "
            "groups are created by the stack with a retention"),
        f"AwsSolutions-IAM5[Resource::{ARN}:ssm:{REGION_ACCOUNT}:parameter{topo.ssm_prefix}/*]": (
            "Read-only (Get*) on the chaos flag namespace: flags are created at run time by ecomctl chaos, "
            "so their names are not known at synth"),
        "AwsSolutions-IAM5[Resource::*]": (
            "X-Ray active tracing: xray:PutTraceSegments/PutTelemetryRecords have no resource-level "
            "permissions, the API requires Resource * (a test pins the only actions allowed on *)"),
    })
    _ack(stack.saga, {
        "AwsSolutions-IAM5[Resource::*]": (
            "Step Functions tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) "
            "and vended log delivery (logs:CreateLogDelivery, DescribeLogGroups, ...) have no resource-level "
            "permissions; the API requires Resource *"),
        **{f"AwsSolutions-IAM5[Resource::{_arn_ref(reg.functions[ref.split(':')[1]], ':*')}]": (
            "CDK grant_invoke also covers the function's versions and aliases (<arn>:*); the saga invokes "
            "only the functions its ASL names")
           for ref in topo.saga.substitutions.values() if ref.startswith("function:")},
    })
    api = stack.api
    _ack(api, {
        f"AwsSolutions-IAM4[Policy::{MANAGED}AmazonAPIGatewayPushToCloudWatchLogs]": (
            "API Gateway's account-level logging role must carry this AWS managed policy to write access "
            "and execution logs"),
        "AwsSolutions-APIG3": (
            "No WAF in a bounded game-day window: stage throttling limits the load and WAF would add a "
            "monthly web-ACL charge to a 3-hour stack"),
        "AwsSolutions-COG4": ("The order API is authorized by IAM (AWS_IAM: the operator's SigV4-signed load and "
                              "chaos traffic); a game-day stack has no end users, so no Cognito user pool"),
    })
    for t in topo.tables:
        if not t.point_in_time_recovery:
            _ack(reg.tables[t.logical], {"AwsSolutions-DDB3": (
                f"{t.logical} holds derived or short-lived state (idempotency records expire, breaker state "
                "is re-learned, the simulated providers' ledger is reseeded); PITR is on the orders table")})
    for logical, secret in reg.secrets.items():
        _ack(secret, {"AwsSolutions-SMG4": (
            f"{logical} is the key the shipping partner holds on file for this stack's account: rotating it "
            "needs the partner's key-rotation API, which it does not offer; the stack and its key last one window")})
    lake = stack.lake
    bucket = _arn_ref(lake.bucket)
    _ack(lake.delivery, {
        "AwsSolutions-KDF1": (
            "Firehose cannot enable its own SSE with a Kinesis stream as source; records are encrypted "
            "in the stream (KMS) and in the bucket (SSE-S3)"),
        **{f"AwsSolutions-IAM5[Action::{a}]": (
            "CDK's Firehose S3 destination grant: the action groups Firehose documents for S3 delivery, "
            "scoped to the lake bucket only") for a in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*",
                                                     "s3:GetObject*", "s3:List*")},
        f"AwsSolutions-IAM5[Resource::{bucket}/*]": "Firehose writes objects under any partition key of the lake",
    })
    crawler_role = lake.node.find_child("CrawlerRole")
    db = stack.lake.database_name
    _ack(crawler_role, {
        f"AwsSolutions-IAM5[Resource::{ARN}:glue:{REGION_ACCOUNT}:table/{db}/*]": (
            "The crawler creates one table per discovered schema in its own database only"),
        f"AwsSolutions-IAM5[Resource::{ARN}:logs:{REGION_ACCOUNT}:log-group:/aws-glue/crawlers:*]": (
            "Glue crawlers log to the fixed /aws-glue/crawlers group; :* covers its log streams"),
        **{f"AwsSolutions-IAM5[Action::{a}]": "CDK's bucket.grant_read: read-only action groups on the lake"
           for a in ("s3:GetBucket*", "s3:GetObject*", "s3:List*")},
        f"AwsSolutions-IAM5[Resource::{bucket}/orders/*]": "The crawler reads every partition of orders/",
    })
    _ack(lake.crawler, {"AwsSolutions-GL1": (
        "Crawler logs hold schema names only; a KMS-encrypted security configuration would add a key "
        "with a 7-day deletion window to a disposable stack")})
    if stack.search is not None:
        _ack(stack.search, {
            "AwsSolutions-OS1": "Demo domain outside a VPC: access is limited by its resource policy to one role",
            "AwsSolutions-OS3": "Access is by IAM principal (the analytics role), not by IP allowlist",
            "AwsSolutions-OS4": "Single-node demo domain: dedicated masters would triple its cost",
            "AwsSolutions-OS5": "Not anonymous: the domain policy names the analytics function's role only",
            "AwsSolutions-OS7": "Single-node demo domain: zone awareness needs two or more nodes",
            **{f"AwsSolutions-OS9[LogExport::{kind}]": (
                "Slow logs need a CloudWatch Logs resource policy that outlives the stack; off for a demo")
               for kind in ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS")},
        })
        _ack(reg.functions["analytics"], {
            f"AwsSolutions-IAM5[Resource::{_arn_ref(stack.search.domain)}/*]": (
                "OpenSearch HTTP actions are authorized per index path under the domain ARN")})
