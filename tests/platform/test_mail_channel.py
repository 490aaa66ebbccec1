"""The notifications' second channel: an SES e-mail beside each SNS message, best effort.

The saga's end-to-end path is asserted in test_fanout (the mails of a completed order);
here the notifier is invoked directly with the events the notify rule delivers.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.platform_harness import sqs_event


def sent_mails(platform: Any, order_id: str) -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][platform.session.region_name].sent_messages
    return [m for m in sent if order_id in m.subject]


def _transition(order_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
    return {"detail-type": "Order Status Changed", "source": "ecomshop.orders",
            "detail": {"orderId": order_id, "status": status, "customerId": "cust-mail", "reason": reason,
                       "at": "2026-12-03T07:00:00Z"}}


def _inbox(platform: Any) -> str:
    sqs, sns = platform.client("sqs"), platform.client("sns")
    inbox = sqs.create_queue(QueueName="test-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=platform.resources.resolve("topic:notifications:arn"), Protocol="sqs",
                  Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    return str(inbox)


def test_a_transition_is_mailed_to_the_customer_with_its_reason(platform):
    mail = platform.topology.mail
    answer = platform.host.invoke("notifier", sqs_event(platform, "notify", [
        _transition("ord-1", "CANCELLED", reason="payment declined")]))
    assert answer == {"batchItemFailures": []}
    (sent,) = sent_mails(platform, "ord-1")
    assert (sent.source, sent.destinations["ToAddresses"]) == (mail.sender, [f"cust-mail@{mail.recipient_domain}"])
    assert sent.subject == "Order ord-1 CANCELLED"
    assert sent.body == "Your order ord-1 is CANCELLED.\nReason: payment declined"


def test_a_refused_mail_neither_fails_the_record_nor_repeats_the_sns_message(platform):
    inbox = _inbox(platform)
    platform.client("ses").delete_identity(Identity=platform.topology.mail.sender)  # SES now refuses the sender
    answer = platform.host.invoke("notifier", sqs_event(platform, "notify", [
        _transition("ord-2", "PAID"), _transition("ord-2", "SHIPPED")]))
    assert answer == {"batchItemFailures": []}
    assert sent_mails(platform, "ord-2") == []
    notes = platform.client("sqs").receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(n["Body"])["status"] for n in notes) == ["PAID", "SHIPPED"]
