"""Patched and unpatched moto answer one request script alike (the oracle is unpatched moto).

The script walks the paths the patches replace: SQS counts, receives, deletes by old and new
receipt handle, visibility changes; DynamoDB update and condition expressions, failed
conditions, a cancelled transaction; a Step Functions execution with Pass/Choice/JSONPath
and a DynamoDB SDK task; SSM; EventBridge. Generated ids, handles and times are masked.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecomctl.local import moto_patches
from ecomctl.local.patches import stepfunctions

REGION = "us-east-1"
_MASKS = (
    (re.compile(r"^[a-z]{185}$"), "<receipt-handle>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"^[0-9a-f]{32}$"), "<md5>"),
    (re.compile(r"^\d{10,13}$"), "<epoch>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
)
_VOLATILE_KEYS = {"ResponseMetadata", "CreatedTimestamp", "LastModifiedTimestamp", "SentTimestamp",
                  "ApproximateFirstReceiveTimestamp", "startDate", "stopDate", "creationDate", "LastModifiedDate",
                  "timestamp", "updateDate", "ReceiptHandle", "redriveStatus"}


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in _VOLATILE_KEYS else _normalise(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, str):
        for pattern, mask in _MASKS:
            value = pattern.sub(mask, value)
        return value
    if isinstance(value, bytes | int | float | bool) or value is None:
        return value
    return str(type(value).__name__)  # datetimes and the like


def _call(log: list[Any], label: str, fn: Any, **kwargs: Any) -> Any:
    try:
        answer = fn(**kwargs)
    except ClientError as exc:
        log.append((label, "error", exc.response["Error"]["Code"], exc.response.get("CancellationReasons")))
        return None
    log.append((label, answer))
    return answer


def _sqs(s: boto3.Session, log: list[Any]) -> None:
    sqs = s.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _call(log, "create", sqs.create_queue, QueueName="q", Attributes={
        "VisibilityTimeout": "30", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                                                "maxReceiveCount": "2"})})["QueueUrl"]
    for i in range(12):
        _call(log, "send", sqs.send_message, QueueUrl=url, MessageBody=f"m{i}",
              MessageAttributes={"n": {"DataType": "Number", "StringValue": str(i)}})
    _call(log, "send-delayed", sqs.send_message, QueueUrl=url, MessageBody="later", DelaySeconds=60)
    first = _call(log, "receive", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=5, VisibilityTimeout=0,
                  AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    again = _call(log, "receive-again", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=10,
                  VisibilityTimeout=30)["Messages"]
    _call(log, "counts", sqs.get_queue_attributes, QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
    _call(log, "delete-old-handle", sqs.delete_message, QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    _call(log, "delete-twice", sqs.delete_message, QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    _call(log, "delete-batch", sqs.delete_message_batch, QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(again[1:4])])
    _call(log, "delete-wrong-queue", sqs.delete_message, QueueUrl=dlq, ReceiptHandle=again[5]["ReceiptHandle"])
    _call(log, "delete-garbage", sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle")
    _call(log, "visibility-batch", sqs.change_message_visibility_batch, QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(again[4:])])
    _call(log, "counts-after", sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])
    left = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages"):
        left += [m["Body"] for m in batch]
    log.append(("left", sorted(left)))
    _call(log, "list", sqs.list_queues)


def _dynamodb(s: boto3.Session, log: list[Any]) -> None:
    ddb = s.client("dynamodb")
    _call(log, "create-table", ddb.create_table, TableName="t", BillingMode="PAY_PER_REQUEST",
          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    item = {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\x01"}, "ok": {"BOOL": False},
            "none": {"NULL": True}, "ss": {"SS": ["x"]}, "m": {"M": {"l": {"L": [{"S": "v"}, {"N": "0"}]}}}}
    _call(log, "put", ddb.put_item, TableName="t", Item=item)
    update = dict(TableName="t", UpdateExpression="SET #s = :s, #h = list_append(if_not_exists(#h, :e), :h) ADD #c :1",
                  ExpressionAttributeNames={"#s": "status", "#h": "history", "#c": "count"}, ReturnValues="ALL_NEW")
    for pk, status in (("a", "PAID"), ("b", "SHIPPED"), ("a", "DONE")):
        _call(log, f"update-{pk}-{status}", ddb.update_item, Key={"pk": {"S": pk}}, **update,
              ExpressionAttributeValues={":s": {"S": status}, ":e": {"L": []}, ":h": {"L": [{"S": status}]},
                                         ":1": {"N": "1"}})
    move = dict(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET #s = :to",
                ConditionExpression="attribute_exists(pk) AND #s = :from", ExpressionAttributeNames={"#s": "status"})
    _call(log, "move-ok", ddb.update_item, **move,
          ExpressionAttributeValues={":from": {"S": "DONE"}, ":to": {"S": "X"}})
    _call(log, "move-stale", ddb.update_item, **move,
          ExpressionAttributeValues={":from": {"S": "DONE"}, ":to": {"S": "Y"}})
    _call(log, "bad-expression", ddb.update_item, TableName="t", Key={"pk": {"S": "a"}},
          UpdateExpression="SET = broken", ExpressionAttributeValues={":s": {"S": "x"}})
    _call(log, "unused-name", ddb.update_item, **{**move, "ExpressionAttributeNames": {"#s": "status", "#u": "u"}},
          ExpressionAttributeValues={":from": {"S": "X"}, ":to": {"S": "Z"}})
    _call(log, "transact-cancelled", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "c"}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "SET #s = :s",
                    "ConditionExpression": "#s = :want", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "LOST"}, ":want": {"S": "NOT-THIS"}}}}])
    _call(log, "transact-ok", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "d"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "b"}}}}])
    for pk in "abcd":
        _call(log, f"get-{pk}", ddb.get_item, TableName="t", Key={"pk": {"S": pk}})
    _call(log, "scan", ddb.scan, TableName="t")


_DEFINITION = {
    "StartAt": "Shape",
    "States": {
        "Shape": {"Type": "Pass", "Parameters": {"id.$": "$.order.id", "total.$": "$.order.total"},
                  "ResultPath": "$.shaped", "Next": "Big?"},
        "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.shaped.total", "NumericGreaterThan": 100,
                                               "Next": "Record"}], "Default": "Small"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
        "Record": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                   "Parameters": {"TableName": "t", "Item": {"pk": {"S.$": "$.shaped.id"}}},
                   "ResultSelector": {"saved": True}, "ResultPath": "$.record", "End": True},
    },
}


def _run(sfn: Any, arn: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    run = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    deadline = time.monotonic() + 30
    while (done := sfn.describe_execution(executionArn=run["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution never finished"
        time.sleep(0.02)
    return done  # type: ignore[no-any-return]


def _stepfunctions(s: boto3.Session, log: list[Any]) -> None:
    sfn = s.client("stepfunctions")
    # One execution only: once any execution has finished, unpatched moto 5.2.1 cannot start
    # another (see test_a_second_execution_needs_the_patch).
    arn = sfn.create_state_machine(name="saga", definition=json.dumps(_DEFINITION),
                                   roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    log.append(("execution", _run(sfn, arn, "run", {"order": {"id": "o1", "total": 500}})))
    _call(log, "list-executions", sfn.list_executions, stateMachineArn=arn)
    _call(log, "sdk-task-item", s.client("dynamodb").get_item, TableName="t", Key={"pk": {"S": "o1"}})


def _ssm_and_events(s: boto3.Session, log: list[Any]) -> None:
    ssm = s.client("ssm")
    _call(log, "put-param", ssm.put_parameter, Name="/shop/flags/x", Value='{"on": true}', Type="String")
    _call(log, "get-param", ssm.get_parameter, Name="/shop/flags/x")
    _call(log, "by-path", ssm.get_parameters_by_path, Path="/shop", Recursive=True)
    _call(log, "missing-param", ssm.get_parameter, Name="/nope")
    events = s.client("events")
    sqs = s.client("sqs")
    target = sqs.create_queue(QueueName="events-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="shop")
    events.put_rule(Name="placed", EventBusName="shop", EventPattern=json.dumps(
        {"source": ["shop"], "detail-type": ["OrderPlaced"], "detail": {"total": [{"numeric": [">", 10]}]}}))
    events.put_targets(Rule="placed", EventBusName="shop", Targets=[
        {"Id": "q", "Arn": arn, "InputPath": "$.detail"}])
    _call(log, "put-events", events.put_events, Entries=[
        {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": t}), "EventBusName": "shop"}
        for t in (5, 50)])
    got = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10).get("Messages", [])
    log.append(("routed", sorted(m["Body"] for m in got)))


def _script() -> list[Any]:
    log: list[Any] = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        for part in (_sqs, _dynamodb, _stepfunctions, _ssm_and_events):
            part(session, log)
    return _normalise(log)


def test_patched_moto_answers_the_script_as_unpatched_moto_does() -> None:
    if moto_patches.is_applied():
        pytest.skip("patches applied by an earlier test in this process: no unpatched oracle")
    oracle = _script()
    with moto_patches.patched() as report:
        assert report.applied and not report.skipped
        patched = _script()
    assert not moto_patches.is_applied()
    assert len(patched) == len(oracle)
    for expected, got in zip(oracle, patched, strict=True):
        assert got == expected
    # The script did reach the paths in question (not a comparison of two empty answers).
    labels = {entry[0]: entry for entry in oracle}
    assert labels["move-stale"][2] == "ConditionalCheckFailedException"
    assert labels["transact-cancelled"][2] == "TransactionCanceledException"
    assert labels["delete-wrong-queue"][2] == "ReceiptHandleIsInvalid"
    assert json.loads(labels["routed"][1][0])["detail"] == {"total": 50} and len(labels["routed"][1]) == 1
    assert labels["execution"][1]["status"] == "SUCCEEDED" and "Item" in labels["sdk-task-item"][1]


def test_a_second_execution_needs_the_patch() -> None:
    """Unpatched moto 5.2.1 deep-copies the state machine on StartExecution, and through its
    ``backend`` every execution in the region; a finished one holds locks, so the next start
    fails with TypeError. Patched (the clone leaves executions out), it succeeds."""
    if moto_patches.is_applied():
        pytest.skip("patches applied by an earlier test in this process")

    def twice() -> list[str]:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
            sfn = boto3.Session(region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t").client(
                "stepfunctions")
            arn = sfn.create_state_machine(name="m", definition=json.dumps(_DEFINITION),
                                           roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
            outcomes = []
            for i in range(2):
                try:
                    outcomes.append(_run(sfn, arn, f"r{i}", {"order": {"id": "x", "total": 1}})["status"])
                except TypeError as exc:
                    outcomes.append(type(exc).__name__)
            return outcomes

    assert twice() == ["SUCCEEDED", "TypeError"]
    with moto_patches.patched():
        assert twice() == ["SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize("patched", [False, True], ids=["vanilla", "patched"])
def test_a_task_answer_while_another_execution_starts_needs_the_patch(patched: bool) -> None:
    """SendTaskSuccess scans every execution; one that a concurrent StartExecution has just
    added has no status yet, and one whose worker thread has not yet built its environment has
    no callbacks: vanilla moto 5.2.1 fails with AttributeError (a consumer's answer lost until
    its message's visibility timeout), patched moto looks past them and answers as AWS does."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    if moto_patches.is_applied():
        pytest.skip("patches applied by an earlier test in this process")
    if patched:
        moto_patches.apply([stepfunctions.CALLBACKS_SKIP_STARTING_EXECUTIONS])
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
            sfn = boto3.Session(region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t").client(
                "stepfunctions")
            arn = sfn.create_state_machine(name="m", definition=json.dumps(_DEFINITION),
                                           roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
            started = Execution.start
            Execution.start = lambda self: None  # type: ignore[method-assign]  # frozen just after creation
            try:
                sfn.start_execution(stateMachineArn=arn, name="starting", input="{}")
            finally:
                Execution.start = started  # type: ignore[method-assign]

            def answer() -> str:
                try:
                    sfn.send_task_success(taskToken="a-token-of-no-execution", output="{}")
                except ClientError as exc:
                    return exc.response["Error"]["Code"]
                except AttributeError:  # in process, moto's error reaches the caller as raised
                    return "AttributeError"
                return "answered"

            first = answer()  # the new execution has no status yet
            backend = stepfunctions_parser_backends["123456789012"][REGION]
            execution = backend.state_machines[0].executions[0]
            execution.exec_status = ExecutionStatus.RUNNING
            execution.exec_worker = type("Worker", (), {"env": None})()  # its thread has not built it yet
            second = answer()
        if patched:
            assert (first, second) == ("InvalidToken", "InvalidToken")
        else:
            assert (first, second) == ("AttributeError", "AttributeError")
    finally:
        moto_patches.revert()
