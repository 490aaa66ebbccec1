"""The event-source pollers' side of SQS, taken from moto's backend in the same process.

Lambda's event-source mapping is part of the Lambda service, not a client of the public
SQS API, so nothing a function or an operator sees depends on how the local target's
pollers reach the queue. Through boto3, a poll is a whole API round trip in Python
(serialize, route, parse the request, serialize the response, parse it again with every
message attribute): the pollers' receives and deletes were 18 % of the platform's CPU at
240 orders/min (py-spy, issue #12) without doing any of the queue work themselves.

``BackendSqs`` answers the two calls the pollers make, ``receive_message`` and
``delete_message_batch``, with the same dictionaries the SQS API returns, by calling the
same moto backend methods moto's own response handler calls (``SQSBackend.receive_message``
and ``delete_message_batch``: redrive to the DLQ, visibility, receive counts and long-poll
waits all stay moto's). ``tests/local/test_sqs_direct.py`` checks it against the API.
It needs moto in this process: with ``--transport http`` the pollers keep the client.
"""

from __future__ import annotations

from typing import Any

from ecomctl.local import call_counts


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _account(url: str) -> str:
    return url.rstrip("/").rsplit("/", 2)[-2]


class BackendSqs:
    """Duck-types the two boto3 SQS client calls an ``SqsPoller`` makes."""

    def __init__(self, region: str) -> None:
        self.region = region

    def _backend(self, url: str) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[_account(url)][self.region]

    def receive_message(self, *, QueueUrl: str, MaxNumberOfMessages: int = 1,
                        WaitTimeSeconds: int | None = None, AttributeNames: list[str] | None = None,
                        MessageAttributeNames: list[str] | None = None) -> dict[str, Any]:
        call_counts.count("lambda-esm.ReceiveMessage")
        backend = self._backend(QueueUrl)
        name = _queue_name(QueueUrl)
        queue = backend.get_queue(name)
        wait = int(queue.receive_message_wait_time_seconds if WaitTimeSeconds is None else WaitTimeSeconds)
        messages = backend.receive_message(name, MaxNumberOfMessages, wait, queue.visibility_timeout,
                                           MessageAttributeNames or [])
        out = [_as_api(m, bool(AttributeNames)) for m in messages]
        return {"Messages": out} if out else {}

    def visible_messages(self, url: str) -> int:
        """ApproximateNumberOfMessages, as GetQueueAttributes computes it."""
        return int(self._backend(url).get_queue(_queue_name(url)).approximate_number_of_messages)

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        call_counts.count("lambda-esm.DeleteMessageBatch")
        success, errors = self._backend(QueueUrl).delete_message_batch(_queue_name(QueueUrl), Entries)
        result: dict[str, Any] = {"Successful": [{"Id": i} for i in success]}
        if errors:
            result["Failed"] = errors
        return result


def _as_api(message: Any, with_attributes: bool) -> dict[str, Any]:
    """One message as ReceiveMessage returns it with ``AttributeNames=["All"]`` (moto's own mapping)."""
    msg: dict[str, Any] = {"MessageId": message.id, "ReceiptHandle": message.receipt_handle,
                           "MD5OfBody": message.body_md5, "Body": message.body}
    if message.message_attributes:
        msg["MessageAttributes"] = message.message_attributes
        msg["MD5OfMessageAttributes"] = message.attribute_md5
    if with_attributes:
        attributes = {
            "SenderId": message.sender_id,
            "SentTimestamp": str(message.sent_timestamp),
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.deduplication_id is not None:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        if message.group_id is not None:
            attributes["MessageGroupId"] = message.group_id
        trace = (message.system_attributes or {}).get("AWSTraceHeader")
        if trace and trace.get("StringValue"):
            attributes["AWSTraceHeader"] = trace["StringValue"]
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = message.sequence_number
        msg["Attributes"] = attributes
    return msg
