"""What the bus fans out besides the saga: customer notifications and the analytics stream."""

from __future__ import annotations

import json

from tests.platform.test_mail_channel import sent_mails


def test_customer_visible_transitions_notify_and_every_event_reaches_the_stream(platform):
    sqs, sns = platform.client("sqs"), platform.client("sns")
    inbox = sqs.create_queue(QueueName="test-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=platform.resources.resolve("topic:notifications:arn"), Protocol="sqs",
                  Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})

    order_id = platform.place()
    platform.wait_terminal([order_id])
    platform.drain()  # let notify and analytics catch up

    notes = []
    while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
        notes += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=inbox, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    assert sorted(n["status"] for n in notes if n["orderId"] == order_id) == ["COMPLETED", "PAID", "SHIPPED"]
    # The second channel: one e-mail per notification, to the customer.
    mails = sent_mails(platform, order_id)
    assert sorted(m.subject.rsplit(" ", 1)[1] for m in mails) == ["COMPLETED", "PAID", "SHIPPED"]
    assert {m.destinations["ToAddresses"][0] for m in mails} == {f"cust-1@{platform.topology.mail.recipient_domain}"}

    kinesis = platform.client("kinesis")
    stream = platform.resources.resolve("stream:analytics")
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    events = [json.loads(r["Data"]) for r in records]
    mine = [e for e in events if e["detail"]["orderId"] == order_id]
    assert mine[0]["detail-type"] == "Order Placed"
    assert [e["detail"]["status"] for e in mine] == [
        "PENDING", "VALIDATED", "INVENTORY_RESERVED", "PAID", "SHIPPED", "COMPLETED"]
    assert all(v == 0 for v in platform.queue_depths().values())
