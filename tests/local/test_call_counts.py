"""The platform's AWS call counts (bench_local's calls per order) count what clients call."""

from __future__ import annotations

import boto3
from moto import mock_aws

from ecomctl.local import call_counts


def test_counts_each_clients_calls_by_service_and_operation(tmp_path):
    call_counts.install()
    out = tmp_path / "calls.json"
    with mock_aws(), call_counts.recorder(str(out), period_s=60):
        before = call_counts.snapshot()
        sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="a")
        sqs.send_message(QueueUrl=url, MessageBody="b")
    # written on exit, whatever the period
    assert call_counts.difference(call_counts.read(out), before) == {"SQS.CreateQueue": 1, "SQS.SendMessage": 2}


def test_an_unreadable_counts_file_reads_as_no_calls(tmp_path):
    bad = tmp_path / "calls.json"
    bad.write_text("{not json")
    assert call_counts.read(bad) == {}
    assert call_counts.read(tmp_path / "missing.json") == {}
