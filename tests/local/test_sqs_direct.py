"""The pollers' backend path answers as the SQS API does: same messages, same attributes,
deletes that stick, and redrive to the DLQ after maxReceiveCount receives."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ecomctl.local.sqs_direct import BackendSqs

REGION = "us-east-1"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793"
ALL = {"AttributeNames": ["All"], "MessageAttributeNames": ["All"]}


@pytest.fixture
def sqs() -> Iterator[object]:
    with mock_aws():
        yield boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing").client("sqs")


def _strip_volatile(msg: dict) -> dict:
    out = {k: v for k, v in msg.items() if k != "ReceiptHandle"}
    out["Attributes"] = {k: v for k, v in msg["Attributes"].items() if k != "ApproximateFirstReceiveTimestamp"}
    return out


def test_receive_returns_what_the_api_returns(sqs) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"a": 1}),
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"},
                                        "n": {"DataType": "Number", "StringValue": "3"}},
                     MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}})
    direct = BackendSqs(REGION).receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **ALL)
    [got] = direct["Messages"]
    # Visible again at once, then received through the API: the second receive.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=0)
    [api] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **ALL)["Messages"]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    assert api["Attributes"]["ApproximateReceiveCount"] == "2"
    got["Attributes"]["ApproximateReceiveCount"] = "2"
    assert _strip_volatile(got) == _strip_volatile(api)
    assert got["Attributes"]["AWSTraceHeader"].startswith("Root=1-")


def test_empty_queue_answers_no_messages_key(sqs) -> None:
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    assert BackendSqs(REGION).receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **ALL) == {}


def test_delete_batch_removes_and_reports_bad_handles(sqs) -> None:
    url = sqs.create_queue(QueueName="d", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    direct = BackendSqs(REGION)
    messages = direct.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **ALL)["Messages"]
    assert len(messages) == 3
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    entries.append({"Id": "bad", "ReceiptHandle": "not-a-handle"})
    result = direct.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(s["Id"] for s in result["Successful"]) == ["0", "1", "2"]
    assert [f["Id"] for f in result["Failed"]] == ["bad"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"


def test_redrive_to_the_dlq_after_max_receives(sqs) -> None:
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="r", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    direct = BackendSqs(REGION)
    counts = [len(direct.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **ALL)
                  .get("Messages", [])) for _ in range(3)]
    assert counts == [1, 1, 0]
    [moved] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert moved["Body"] == "poison"
