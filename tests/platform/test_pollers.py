"""The local pollers keep Lambda's SQS event-source semantics."""

from __future__ import annotations

import json


def test_partial_batch_failure_returns_only_the_failed_message_until_it_is_dead_lettered(platform):
    sqs = platform.client("sqs")
    url = platform.resources.queue_url("notify")
    dlq = platform.resources.queue_url("notify-dlq")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"orderId": "ord-1", "status": "PAID"}}))
    sqs.send_message(QueueUrl=url, MessageBody="not an event")  # the notifier fails this one
    poller = platform.pollers["notify"]
    handles: list[str] = []
    receive = poller.receive

    def remembering_receive(wait_s: int = 0):
        messages = receive(wait_s)
        handles.extend(m["ReceiptHandle"] for m in messages)
        return messages

    poller.receive = remembering_receive  # type: ignore[method-assign]

    def visibility_timeout_passes():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[-1], VisibilityTimeout=0)

    assert poller.poll_once() == 2  # one batch with both messages
    depths = platform.queue_depths()
    assert depths["notify"] == 1 and depths["notify-dlq"] == 0  # only the failed one stays
    for _ in range(platform.topology.queue("notify").max_receive_count - 1):
        visibility_timeout_passes()
        assert poller.poll_once() == 1  # redelivered, failed again
    visibility_timeout_passes()
    assert poller.poll_once() == 0  # receive number maxReceiveCount + 1 dead-letters it instead
    [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert dead["Body"] == "not an event"
    assert platform.queue_depths()["notify"] == 0


def test_a_handler_crash_returns_the_whole_batch(platform, monkeypatch):
    sqs = platform.client("sqs")
    url = platform.resources.queue_url("analytics")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"orderId": f"o-{i}"}}))

    def crash(*_a, **_k):
        raise RuntimeError("kinesis is gone")

    from ecomshop.config import client

    monkeypatch.setattr(client("kinesis"), "put_records", crash)
    poller = platform.pollers["analytics"]
    assert poller.poll_once() == 3
    assert poller.errors == 1
    assert platform.queue_depths()["analytics"] == 3  # nothing deleted: all come back
