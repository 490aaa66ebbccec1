"""The window's control plane on AWS: the reaper function, its role, its topic.

Created by ``up`` before the stack (``teardown.arm``), named ``ecomctl-<stage>-*`` so the
stage's inventory (``ecom-<stage>-*``) never counts them, removed by ``down`` after the
stack is verified gone. The function is the reaper (``reaper_fn``) zipped from the
installed ecomctl modules it needs and tenacity; boto3 comes with the Lambda runtime.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from ecomctl.aws.teardown import CDK_QUALIFIER, aws_retry, delete_role
from ecomctl.targets.base import AwsAccess

RUNTIME = "python3.12"
TIMEOUT_S = 900
BUNDLED = ("__init__.py", "errors.py", "state.py", "window.py", "targets/__init__.py", "targets/base.py",
           "aws/__init__.py", "aws/inventory.py", "aws/reaper.py", "aws/reaper_fn.py", "aws/teardown.py")
_LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


# The account's backstop, once per account and region: every 15 minutes it reaps any stack
# whose ecomctl:expires-at tag has passed, whatever happened to that stage's own timers.
ACCOUNT_SWEEPER = "ecomctl-account-sweeper"


def function_name(stage: str) -> str:
    return f"ecomctl-{stage}-reaper"


def topic_name(stage: str) -> str:
    return f"ecomctl-{stage}-teardown"


@functools.cache  # arm() deploys it twice (the account sweeper and the stage's reaper): zip it once
def bundle() -> bytes:
    """The function's zip: the listed ecomctl modules and tenacity, byte-identical for the same sources."""
    import tenacity

    import ecomctl

    root, dep = Path(ecomctl.__file__).parent, Path(tenacity.__file__).parent
    files = [(f"ecomctl/{rel}", root / rel) for rel in BUNDLED]
    files += [(f"tenacity/{p.relative_to(dep).as_posix()}", p) for p in sorted(dep.rglob("*.py"))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, path.read_bytes())
    return out.getvalue()


def execution_policy(account: str, region: str, stage: str, stack: str, topic_arn: str) -> dict[str, Any]:
    """What the reaper may do: delete this stack and what its inventory lists by the stage's prefix.

    With ``stage="*"`` (the account sweeper) the same verbs on every stage's prefix ``ecom-*-``.
    """
    p, arn = f"ecom-{stage}-", f"{region}:{account}"
    own_log = function_name(stage) if stage != "*" else ACCOUNT_SWEEPER
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "TheWindowStack", "Effect": "Allow",
         "Action": ["cloudformation:DescribeStacks", "cloudformation:ListStackResources",
                    "cloudformation:DeleteStack"],
         "Resource": f"arn:aws:cloudformation:{arn}:stack/{stack}/*"},
        {"Sid": "PassTheStackRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": f"arn:aws:iam::{account}:role/cdk-{CDK_QUALIFIER}-cfn-exec-role-{account}-{region}",
         "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}},
        {"Sid": "EmptyAndDeleteTheStagesBuckets", "Effect": "Allow",
         "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
                    "s3:DeleteBucket"],
         "Resource": [f"arn:aws:s3:::{p}*", f"arn:aws:s3:::{p}*/*"]},
        {"Sid": "ListForTheInventory", "Effect": "Allow", "Resource": "*", "Action": [
            "s3:ListAllMyBuckets", "apigateway:GET", "lambda:ListFunctions", "sqs:ListQueues", "dynamodb:ListTables",
            "sns:ListTopics", "kinesis:ListStreams", "states:ListStateMachines", "events:ListEventBuses",
            "logs:DescribeLogGroups", "es:ListDomainNames", "cloudwatch:DescribeAlarms", "ssm:DescribeParameters",
            "secretsmanager:ListSecrets",
            "tag:GetResources"]},
        {"Sid": "SweepWhatTheStackLeft", "Effect": "Allow", "Action": [
            "lambda:DeleteFunction", "sqs:GetQueueUrl", "sqs:DeleteQueue", "dynamodb:DeleteTable",
            "sns:DeleteTopic", "kinesis:DeleteStream", "states:DeleteStateMachine", "events:DeleteEventBus",
            "logs:DeleteLogGroup", "es:DeleteDomain", "cloudwatch:DeleteAlarms", "ssm:DeleteParameter",
            "secretsmanager:DeleteSecret"],
         "Resource": [f"arn:aws:lambda:{arn}:function:{p}*", f"arn:aws:sqs:{arn}:{p}*",
                      f"arn:aws:dynamodb:{arn}:table/{p}*", f"arn:aws:sns:{arn}:{p}*",
                      f"arn:aws:kinesis:{arn}:stream/{p}*", f"arn:aws:states:{arn}:stateMachine:{p}*",
                      f"arn:aws:events:{arn}:event-bus/{p}*", f"arn:aws:logs:{arn}:log-group:/aws/lambda/{p}*",
                      f"arn:aws:logs:{arn}:log-group:{p}*", f"arn:aws:logs:{arn}:log-group:/aws/vendedlogs/{p}*",
                      f"arn:aws:es:{arn}:domain/{p}*", f"arn:aws:cloudwatch:{arn}:alarm:{p}*",
                      f"arn:aws:ssm:{arn}:parameter/ecomshop/{stage}/*",
                      f"arn:aws:secretsmanager:{arn}:secret:{p}*"]},
        {"Sid": "SweepTheStagesRestApis", "Effect": "Allow", "Action": "apigateway:DELETE",
         "Resource": f"arn:aws:apigateway:{region}::/restapis/*"},
        {"Sid": "DisarmWhenDone", "Effect": "Allow", "Action": "scheduler:DeleteSchedule",
         "Resource": f"arn:aws:scheduler:{arn}:schedule/default/ecomctl-{stage}-*"},
        {"Sid": "Report", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
        {"Sid": "OwnLog", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                        "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:{arn}:log-group:/aws/lambda/{own_log}:*"},
        *([{"Sid": "FindTheExpiredStacks", "Effect": "Allow", "Action": "cloudformation:DescribeStacks",
            "Resource": "*"}] if stage == "*" else []),
    ]}


def _role_not_yet_assumable(exc: BaseException) -> bool:
    # A new IAM role takes seconds to reach Lambda: CreateFunction says it cannot be assumed.
    err = getattr(exc, "response", {}).get("Error", {})
    return err.get("Code") == "InvalidParameterValueException" and "assumed" in err.get("Message", "")


@aws_retry
def ensure_account_sweeper(access: AwsAccess, account: str) -> str:
    """The account sweeper's function and role (idempotent); returns the function's ARN."""
    policy = execution_policy(account, access.region, "*", "ecom-*",
                              f"arn:aws:sns:{access.region}:{account}:ecomctl-*-teardown")
    role_arn = _ensure_role(access.client("iam"), ACCOUNT_SWEEPER, "ecomctl: reaps any stack past its "
                            "ecomctl:expires-at tag", policy, {"ecomctl:control-of": "account"})
    return _ensure_function(access.client("lambda"), ACCOUNT_SWEEPER, role_arn, {"ecomctl:control-of": "account"},
                            access.endpoint_url)


def _ensure_role(iam: Any, name: str, description: str, policy: dict[str, Any], tags: dict[str, str]) -> str:
    try:
        role_arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role_arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST),
                                       Description=description,
                                       Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Role"]["Arn"])
    iam.put_role_policy(RoleName=name, PolicyName="reap-the-window", PolicyDocument=json.dumps(policy))
    return role_arn


def _ensure_function(lam: Any, name: str, role_arn: str, tags: dict[str, str], endpoint_url: str | None) -> str:
    code = bundle()
    env = {"Variables": {"ECOMCTL_ENDPOINT_URL": endpoint_url}} if endpoint_url else {"Variables": {}}
    try:
        arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        lam.update_function_code(FunctionName=name, ZipFile=code)
    except lam.exceptions.ResourceNotFoundException:
        arn = _create_function(lam, name, role_arn, code, env, tags)
    return str(arn)


@aws_retry
def ensure(access: AwsAccess, stage: str, account: str, stack: str, notify: str | None = None) -> tuple[str, str]:
    """Create or update the reaper function, its role and topic; returns (function ARN, topic ARN).

    ``notify``: an e-mail address subscribed to the topic (SNS mails it a confirmation link
    first; subscribing the same address again is a no-op).
    """
    iam, lam, sns = access.client("iam"), access.client("lambda"), access.client("sns")
    tags = {"ecomctl:control-of": stage}
    topic_arn = str(sns.create_topic(Name=topic_name(stage), Tags=[
        {"Key": k, "Value": v} for k, v in tags.items()])["TopicArn"])
    if notify:
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=notify)
    name = function_name(stage)
    role_arn = _ensure_role(iam, name, f"ecomctl: the reaper of stack {stack}",
                            execution_policy(account, access.region, stage, stack, topic_arn), tags)
    return _ensure_function(lam, name, role_arn, tags, access.endpoint_url), topic_arn


@retry(retry=retry_if_exception(_role_not_yet_assumable), stop=stop_after_delay(60), wait=wait_fixed(3),
       reraise=True)
def _create_function(lam: Any, name: str, role_arn: str, code: bytes, env: dict[str, Any],
                     tags: dict[str, str]) -> str:
    return str(lam.create_function(
        FunctionName=name, Runtime=RUNTIME, Role=role_arn, Handler="ecomctl.aws.reaper_fn.handler",
        Code={"ZipFile": code}, Timeout=TIMEOUT_S, MemorySize=256, Environment=env, Tags=tags,
        Description="ecomctl: deletes the window's stack at its deadline and proves nothing is left",
    )["FunctionArn"])


@aws_retry
def remove(access: AwsAccess, stage: str) -> list[str]:
    """Delete the function, its role, log group and topic; returns what was deleted."""
    name, gone = function_name(stage), []
    lam, iam, sns, logs = (access.client(s) for s in ("lambda", "iam", "sns", "logs"))
    try:
        lam.delete_function(FunctionName=name)
        gone.append(f"function {name}")
    except lam.exceptions.ResourceNotFoundException:
        pass
    gone += delete_role(iam, name)
    try:
        logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
        gone.append(f"log group /aws/lambda/{name}")
    except logs.exceptions.ResourceNotFoundException:
        pass
    for topic in sns.list_topics().get("Topics", []):
        if topic["TopicArn"].rsplit(":", 1)[-1] == topic_name(stage):
            sns.delete_topic(TopicArn=topic["TopicArn"])
            gone.append(f"topic {topic_name(stage)}")
    return gone
