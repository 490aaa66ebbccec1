"""The server-side reaper: armed as a function before the deploy, run by its schedules (moto never
fires them, so the function's handler is run here with an injected clock), with faults in its calls."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecomctl.aws import control, inventory, reaper_fn, teardown
from ecomctl.targets.base import AwsAccess

ACCOUNT, REGION, STAGE = "123456789012", "us-east-1", "rp"
STACK = f"ecom-{STAGE}"
DEADLINE = "2030-01-01T12:00:00Z"
AFTER, BEFORE = datetime(2030, 1, 1, 12, 1, tzinfo=UTC), datetime(2030, 1, 1, 11, 0, tzinfo=UTC)
TEMPLATE = {"Resources": {
    "Lake": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"ecom-{STAGE}-lake"}},
    "Orders": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"ecom-{STAGE}-orders"}},
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": f"ecom-{STAGE}-orders", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}},
}}


class Faulty(AwsAccess):
    """AwsAccess whose clients pass chosen calls through a hook: ``hooks[(service, op)](call, **kw)``."""

    def __init__(self, session: Any) -> None:
        super().__init__(session, None, REGION)
        self.hooks: dict[tuple[str, str], Callable[..., Any]] = {}

    def client(self, service: str) -> Any:
        real, hooks = super().client(service), self.hooks

        class Proxy:
            def __getattr__(self, op: str) -> Any:
                found = getattr(real, op)
                hook = hooks.get((service, op))
                return found if hook is None else (lambda **kw: hook(found, **kw))

        return Proxy()


def _error(code: str, op: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, op)


@pytest.fixture
def access(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faulty]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield Faulty(boto3.Session(region_name=REGION))


@pytest.fixture
def window(access: Faulty) -> dict[str, Any]:
    """A stack with data in its bucket, armed; the reaper's topic delivers to a queue we can read."""
    armed = teardown.arm(access, STAGE, ACCOUNT, STACK, DEADLINE, "2030-01-01T09:00:00Z")
    access.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    s3 = access.client("s3")
    for i in range(3):
        s3.put_object(Bucket=f"ecom-{STAGE}-lake", Key=f"year=2030/{i}.json", Body=b"{}")
    # What moto's CloudFormation cannot create (AWS::SecretsManager::Secret) but a real stack has.
    access.client("secretsmanager").create_secret(Name=f"ecom-{STAGE}-partner-api-key", SecretString="k")
    sqs = access.client("sqs")
    inbox = sqs.create_queue(QueueName="operator-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    access.client("sns").subscribe(TopicArn=armed.topic, Protocol="sqs", Endpoint=inbox_arn)
    return {"armed": armed, "inbox": inbox}



def _stored_event(access: Faulty, sweeper: bool) -> dict[str, Any]:
    found = teardown.stored(access, STAGE, sweeper=sweeper)
    assert found is not None
    return dict(json.loads(found["Target"]["Input"]))


def _notes(access: Faulty, inbox: str) -> list[str]:
    got = access.client("sqs").receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["Subject"] for m in got]


def test_arming_stores_the_function_and_both_schedules_with_least_privilege(access: Faulty, window) -> None:
    armed = window["armed"]
    fn = access.client("lambda").get_function(FunctionName=control.function_name(STAGE))["Configuration"]
    assert armed.target == fn["FunctionArn"] and fn["Handler"] == "ecomctl.aws.reaper_fn.handler"
    assert fn["Timeout"] == 900
    at = teardown.stored(access, STAGE)
    sweep = teardown.stored(access, STAGE, sweeper=True)
    assert at is not None and sweep is not None
    assert at["ScheduleExpression"] == "at(2030-01-01T12:00:00)" and at["ActionAfterCompletion"] == "DELETE"
    assert at["Target"]["Arn"] == sweep["Target"]["Arn"] == fn["FunctionArn"]
    assert sweep["ScheduleExpression"] == "rate(15 minutes)"
    assert sweep["StartDate"].astimezone(UTC) == datetime(2030, 1, 1, 12, 15, tzinfo=UTC)
    assert _stored_event(access, False) == {"action": "reap", "stage": STAGE, "stack": STACK, "deadline": DEADLINE,
                                            "topic": armed.topic}
    iam = access.client("iam")
    invoke = iam.get_role_policy(RoleName=armed.role_arn.rsplit("/", 1)[-1], PolicyName="invoke-the-reaper")
    assert invoke["PolicyDocument"]["Statement"] == [{"Sid": "InvokeTheReaper", "Effect": "Allow",
                                                      "Action": "lambda:InvokeFunction",
                                                      "Resource": fn["FunctionArn"]}]
    reap = iam.get_role_policy(RoleName=control.function_name(STAGE), PolicyName="reap-the-window")
    for statement in reap["PolicyDocument"]["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Sid"] == "ListForTheInventory":  # list calls take no resource: read-only verbs only
            assert all(a.split(":")[1].startswith(("List", "Describe", "Get", "GET")) for a in statement["Action"])
            continue
        assert all(f"ecom-{STAGE}-" in r or STACK in r or f"ecomctl-{STAGE}-" in r or "cfn-exec-role" in r
                   or r.endswith("/restapis/*") or f"/ecomshop/{STAGE}/" in r or r == armed.topic
                   for r in resources), statement
    # Arming again (extend) moves the schedules and keeps one of each.
    teardown.arm(access, STAGE, ACCOUNT, STACK, "2030-01-01T12:30:00Z", "2030-01-01T10:00:00Z")
    assert teardown.stored(access, STAGE)["ScheduleExpression"] == "at(2030-01-01T12:30:00)"
    names = sorted(f["FunctionName"] for f in access.client("lambda").list_functions()["Functions"])
    assert names == [control.ACCOUNT_SWEEPER, control.function_name(STAGE)]  # one of each
    # The control plane is not part of the stage's inventory: only the stack's resources are.
    assert not any("ecomctl-" in name for _kind, name in inventory.leftovers(access, STAGE, STACK))


def test_the_functions_zip_carries_everything_it_imports(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(control.bundle())) as z:
        z.extractall(tmp_path)
    probe = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import ecomctl.aws.reaper_fn as f, tenacity; "
             "import ecomctl.aws.reaper, ecomctl.aws.inventory, ecomctl.aws.teardown, ecomctl.window; "
             f"assert f.__file__.startswith({str(tmp_path)!r}) and tenacity.__file__.startswith({str(tmp_path)!r}); "
             "assert not [m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'ecomshop')]")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert control.bundle() == control.bundle()  # same sources, same bytes: UpdateFunctionCode is a no-op


def test_the_sweeper_waits_for_the_deadline_then_the_reaper_leaves_nothing(access: Faulty, window) -> None:
    early = reaper_fn.handle(_stored_event(access, True), access, BEFORE, 600, sleep=lambda _s: None)
    assert early["state"] == "not-due"
    assert ("stack", STACK) in inventory.leftovers(access, STAGE, STACK)
    done = reaper_fn.handle(_stored_event(access, False), access, AFTER, 600, sleep=lambda _s: None)
    assert done["state"] == "reaped" and done["left"] == [], done
    assert any("emptied bucket" in s for s in done["steps"])
    assert inventory.leftovers(access, STAGE, STACK) == []  # judged by inventory
    assert teardown.stored(access, STAGE) is None and teardown.stored(access, STAGE, sweeper=True) is None
    assert _notes(access, window["inbox"]) == [f"ecomctl {STAGE}: window torn down, nothing left"]
    # Run again (a retried invocation): nothing to do, still a clean verdict.
    again = reaper_fn.handle(_stored_event_or(access, window), access, AFTER, 600, sleep=lambda _s: None)
    assert again["state"] == "reaped" and "stack already gone" in again["steps"]


def _tagged_stack(access: Faulty, stage: str, expires: str) -> str:
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"ecom-{stage}-orders"}}}}
    access.client("cloudformation").create_stack(
        StackName=f"ecom-{stage}", TemplateBody=json.dumps(template),
        Tags=[{"Key": "ecomctl:stage", "Value": stage}, {"Key": "ecomctl:expires-at", "Value": expires}])
    return f"ecom-{stage}"


def test_the_account_sweeper_reaps_every_stack_past_its_expires_at_tag_and_nothing_else(access: Faulty) -> None:
    """The backstop for a stage whose own timers were lost (deleted by hand, never armed): by tag alone."""
    assert teardown.arm_account_sweeper(access, ACCOUNT) == control.ACCOUNT_SWEEPER
    stored = access.client("scheduler").get_schedule(Name=control.ACCOUNT_SWEEPER, GroupName=teardown.GROUP)
    assert stored["ScheduleExpression"] == "rate(15 minutes)"
    assert json.loads(stored["Target"]["Input"]) == {"action": "sweep-expired"}
    fn = access.client("lambda").get_function(FunctionName=control.ACCOUNT_SWEEPER)["Configuration"]
    assert stored["Target"]["Arn"] == fn["FunctionArn"]
    policy = access.client("iam").get_role_policy(RoleName=control.ACCOUNT_SWEEPER, PolicyName="reap-the-window")
    deletes = next(st for st in policy["PolicyDocument"]["Statement"] if st["Sid"] == "SweepWhatTheStackLeft")
    assert all("ecom-*-" in r or "/ecomshop/*/" in r for r in deletes["Resource"])  # the stages' prefixes only

    expired, later = _tagged_stack(access, "old", "2030-01-01T11:59:00Z"), _tagged_stack(access, "new", DEADLINE)
    access.client("cloudformation").create_stack(StackName="someone-elses", TemplateBody=json.dumps(
        {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "their-queue"}}}}))
    event = json.loads(stored["Target"]["Input"])
    done = reaper_fn.handle(event, access, datetime(2030, 1, 1, 11, 59, 30, tzinfo=UTC), 600, sleep=lambda _s: None)
    assert done["reaped"] == [expired] and done["deferred"] == [], done
    assert inventory.leftovers(access, "old", expired) == []  # judged by inventory
    assert access.client("sqs").get_queue_url(QueueName="their-queue")  # no ecomctl tag: not ours to touch
    assert ("stack", later) in inventory.leftovers(access, "new", later)  # not due yet: untouched
    status = {s["StackName"]: s["StackStatus"] for s in access.client("cloudformation").describe_stacks()["Stacks"]}
    assert status["someone-elses"] == "CREATE_COMPLETE" and status[later] == "CREATE_COMPLETE"
    after = reaper_fn.handle(event, access, AFTER, 600, sleep=lambda _s: None)
    assert after["reaped"] == [later]


def _stored_event_or(access: Faulty, window: dict[str, Any]) -> dict[str, Any]:
    armed = window["armed"]
    return {"action": "sweep", "stage": STAGE, "stack": STACK, "deadline": DEADLINE, "topic": armed.topic}


def test_throttled_calls_are_retried(access: Faulty, window) -> None:
    throttles = {"delete_stack": 2, "delete_objects": 1}

    def flaky(op: str) -> Callable[..., Any]:
        def call(real: Callable[..., Any], **kw: Any) -> Any:
            if throttles[op]:
                throttles[op] -= 1
                raise _error("ThrottlingException", op)
            return real(**kw)
        return call

    access.hooks[("cloudformation", "delete_stack")] = flaky("delete_stack")
    access.hooks[("s3", "delete_objects")] = flaky("delete_objects")
    done = reaper_fn.handle(_stored_event(access, False), access, AFTER, 600, sleep=lambda _s: None)
    assert throttles == {"delete_stack": 0, "delete_objects": 0}
    assert done["state"] == "reaped" and inventory.leftovers(access, STAGE, STACK) == []


def test_delete_failed_is_retried_retaining_what_failed_then_swept(access: Faulty, window) -> None:
    calls: list[dict[str, Any]] = []
    failed = {"on": True}

    def delete(real: Callable[..., Any], **kw: Any) -> Any:
        calls.append(kw)
        if "RetainResources" in kw:
            failed["on"] = False
            return real(StackName=kw["StackName"])  # moto takes no RetainResources: delete, the sweep does the rest
        return None  # the first DeleteStack "fails": the stack reports DELETE_FAILED on its queue

    def describe(real: Callable[..., Any], **kw: Any) -> Any:
        answer = real(**kw)
        if calls and failed["on"]:
            answer["Stacks"][0]["StackStatus"] = "DELETE_FAILED"
        return answer

    def resources(real: Callable[..., Any], **kw: Any) -> Any:
        answer = real(**kw)
        for r in answer["StackResourceSummaries"]:
            if calls and failed["on"] and r["LogicalResourceId"] == "Orders":
                r["ResourceStatus"] = "DELETE_FAILED"
        return answer

    access.hooks[("cloudformation", "delete_stack")] = delete
    access.hooks[("cloudformation", "describe_stacks")] = describe
    access.hooks[("cloudformation", "list_stack_resources")] = resources
    done = reaper_fn.handle(_stored_event(access, False), access, AFTER, 600, sleep=lambda _s: None)
    assert [c.get("RetainResources") for c in calls] == [None, ["Orders"]]
    assert done["state"] == "reaped", done
    assert inventory.leftovers(access, STAGE, STACK) == []


def test_a_bucket_refilled_while_emptied_is_emptied_again(access: Faulty, window) -> None:
    refills = {"left": 2}
    s3 = access.client("s3")

    def refill(real: Callable[..., Any], **kw: Any) -> Any:
        if refills["left"]:  # a writer (Firehose, a late batch) puts an object back after the emptying
            refills["left"] -= 1
            s3.put_object(Bucket=f"ecom-{STAGE}-lake", Key="late.json", Body=b"{}")
        return real(**kw)

    access.hooks[("cloudformation", "delete_stack")] = refill  # so moto keeps the bucket (not empty)
    access.hooks[("s3", "delete_bucket")] = refill  # and the sweep's first delete meets BucketNotEmpty
    done = reaper_fn.handle(_stored_event(access, False), access, AFTER, 600, sleep=lambda _s: None)
    assert refills["left"] == 0 and done["state"] == "reaped", done
    assert inventory.leftovers(access, STAGE, STACK) == []


def test_what_will_not_go_is_escalated_and_the_sweeper_stays_armed(access: Faulty, window) -> None:
    access.hooks[("sqs", "delete_queue")] = lambda real, **kw: (_ for _ in ()).throw(
        _error("AccessDenied", "DeleteQueue"))
    # moto's DeleteStack removes the queue; keep one the stack "retained" so the sweep meets it.
    access.client("sqs").create_queue(QueueName=f"ecom-{STAGE}-retained")
    done = reaper_fn.handle(_stored_event(access, False), access, AFTER, 600, sleep=lambda _s: None)
    assert done["state"] == "left-over" and f"queue ecom-{STAGE}-retained" in done["left"]
    assert any("could not delete queue" in s for s in done["steps"])
    assert teardown.stored(access, STAGE, sweeper=True) is not None  # the next sweep tries again
    assert _notes(access, window["inbox"]) == [f"ecomctl {STAGE}: teardown left 1 resource(s)"]


def test_a_stack_slower_than_one_invocation_is_left_to_the_next_sweep(access: Faulty, window) -> None:
    clock = {"t": 0.0}

    def describe(real: Callable[..., Any], **kw: Any) -> Any:
        answer = real(**kw)
        answer["Stacks"][0]["StackStatus"] = "DELETE_IN_PROGRESS"  # an OpenSearch domain taking its time
        return answer

    access.hooks[("cloudformation", "describe_stacks")] = describe
    access.hooks[("cloudformation", "delete_stack")] = lambda real, **kw: None

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    done = reaper_fn.handle(_stored_event(access, True), access, AFTER, 900, sleep=sleep, monotonic=lambda: clock["t"])
    assert done["state"] == "in-progress" and "DELETE_IN_PROGRESS" in done["why"]
    assert 840 <= clock["t"] <= 850  # the budget was the invocation's time less the margin
    assert teardown.stored(access, STAGE, sweeper=True) is not None
    assert _notes(access, window["inbox"]) == [f"ecomctl {STAGE}: teardown still in progress"]


def test_disarm_removes_the_control_plane(access: Faulty, window) -> None:
    gone = teardown.disarm(access, STAGE)
    assert {"schedule ecomctl-rp-teardown", "schedule ecomctl-rp-sweeper", "role ecomctl-rp-teardown",
            "function ecomctl-rp-reaper", "role ecomctl-rp-reaper", "topic ecomctl-rp-teardown"} <= set(gone)
    # The account sweeper stays: it is the account's backstop, not this window's.
    functions = access.client("lambda").list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == [control.ACCOUNT_SWEEPER]
    assert teardown.disarm(access, STAGE) == []  # idempotent
