"""The hot-path patches keep moto's answers: same counts, same items, same errors.

Each test drives moto through boto3 with the patches applied, on the paths the patches
replace, and checks what AWS would answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecomctl.local import moto_patches

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    # Reverted after each test: the platform's own tests run on unpatched moto, as the oracle.
    with moto_patches.patched(), mock_aws():
        yield boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def _counts(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    keys = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed")
    return {k: int(attrs[k]) for k in keys}


def test_queue_counts_split_visible_in_flight_and_delayed(aws: boto3.Session) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(received) == 2
    assert _counts(sqs, url) == {"ApproximateNumberOfMessages": 3, "ApproximateNumberOfMessagesNotVisible": 2,
                                 "ApproximateNumberOfMessagesDelayed": 1}
    # A message whose visibility timeout has run out is visible again.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0)
    time.sleep(0.01)
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 4
    handles = {m["ReceiptHandle"] for m in received}
    assert all(len(h) == 185 and h.isalpha() and h.islower() for h in handles)


def test_cached_update_expression_applies_to_each_item_on_its_own(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    expression = "SET #s = :s, #h = list_append(if_not_exists(#h, :empty), :h) ADD #n :one"
    names = {"#s": "status", "#h": "history", "#n": "count"}
    for pk, status in (("a", "PAID"), ("b", "SHIPPED"), ("a", "DONE")):
        ddb.update_item(TableName="t", Key={"pk": {"S": pk}}, UpdateExpression=expression,
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={":s": {"S": status}, ":empty": {"L": []},
                                                   ":h": {"L": [{"S": status}]}, ":one": {"N": "1"}})
    a = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    b = ddb.get_item(TableName="t", Key={"pk": {"S": "b"}})["Item"]
    assert a == {"pk": {"S": "a"}, "status": {"S": "DONE"}, "count": {"N": "2"},
                 "history": {"L": [{"S": "PAID"}, {"S": "DONE"}]}}
    assert b["history"] == {"L": [{"S": "SHIPPED"}]} and b["count"] == {"N": "1"}
    with pytest.raises(ClientError) as bad:
        ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET = broken",
                        ExpressionAttributeValues={":s": {"S": "x"}})
    assert bad.value.response["Error"]["Code"] == "ValidationException"


def test_serialized_items_keep_every_attribute_type(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    item = {"pk": {"S": "k"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\x01"}, "ok": {"BOOL": False},
            "none": {"NULL": True}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]},
            "m": {"M": {"inner": {"L": [{"S": "v"}, {"N": "0"}]}}}}
    ddb.put_item(TableName="t", Item=item)
    got = ddb.get_item(TableName="t", Key={"pk": {"S": "k"}})["Item"]
    assert {k: v for k, v in got.items() if k not in ("ss", "ns")} == {
        k: v for k, v in item.items() if k not in ("ss", "ns")}
    assert sorted(got["ss"]["SS"]) == ["x", "y"] and sorted(got["ns"]["NS"]) == ["1", "2"]
    # An object-backed response (not a dict) still goes through moto's own picker.
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q2", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"}
    assert sqs.list_queues()["QueueUrls"] == [url]


def test_cached_condition_expressions_still_see_each_calls_values(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="t", Item={"pk": {"S": "o"}, "status": {"S": "PAID"}})

    def move(expected: str, to: str) -> bool:
        try:
            ddb.update_item(TableName="t", Key={"pk": {"S": "o"}}, UpdateExpression="SET #s = :to",
                            ConditionExpression="attribute_exists(pk) AND #s = :from",
                            ExpressionAttributeNames={"#s": "status"},
                            ExpressionAttributeValues={":from": {"S": expected}, ":to": {"S": to}})
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    assert move("PAID", "SHIPPED") is True
    assert move("PAID", "SHIPPED") is False  # same text, same values: the item changed, so it fails now
    assert move("SHIPPED", "DONE") is True
    assert move("NOPE", "DONE") is False
    with pytest.raises(ClientError) as unused:
        ddb.update_item(TableName="t", Key={"pk": {"S": "o"}}, UpdateExpression="SET #s = :to",
                        ConditionExpression="attribute_exists(pk) AND #s = :from",
                        ExpressionAttributeNames={"#s": "status", "#x": "unused"},
                        ExpressionAttributeValues={":from": {"S": "DONE"}, ":to": {"S": "X"}})
    assert "unused" in unused.value.response["Error"]["Message"]
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "o"}})["Item"]["status"] == {"S": "DONE"}


def test_deletes_by_receipt_handle_old_and_new(aws: boto3.Session) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="d")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    for i in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    # A receipt handle from an earlier receive still deletes the message, as on AWS.
    for m in first[:3]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # twice: accepted
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(again[:5])])
    with pytest.raises(ClientError) as wrong_queue:
        sqs.delete_message(QueueUrl=other, ReceiptHandle=again[6]["ReceiptHandle"])
    assert wrong_queue.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    gone = {m["Body"] for m in first[:3]} | {m["Body"] for m in again[:5]}
    sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(again[5:])])
    left = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages"):
        left += [m["Body"] for m in batch]
    assert sorted(left) == sorted({f"m{i}" for i in range(50)} - gone)


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
def test_updates_return_the_old_item_and_streams_keep_their_old_image(aws: boto3.Session, stream: bool) -> None:
    ddb = aws.client("dynamodb")
    extra: dict[str, Any] = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", **(extra if stream else {}))
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "history": {"L": [{"M": {"s": {"S": "PENDING"}}}]}})
    for status in ("VALIDATED", "PAID"):
        old = ddb.update_item(
            TableName="t", Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD",
            UpdateExpression="SET history = list_append(history, :h)",
            ExpressionAttributeValues={":h": {"L": [{"M": {"s": {"S": status}}}]}})["Attributes"]
        assert old["history"]["L"][-1]["M"]["s"]["S"] == ("PENDING" if status == "VALIDATED" else "VALIDATED")
    item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    assert [h["M"]["s"]["S"] for h in item["history"]["L"]] == ["PENDING", "VALIDATED", "PAID"]
    if stream:
        # The stream's records as moto keeps them (its DynamoDB Streams API is a separate backend).
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("t").stream_shard
        updates = [r.to_json()["dynamodb"] for r in shard.items if r.to_json()["eventName"] == "MODIFY"]
        assert [len(u["OldImage"]["history"]["L"]) for u in updates] == [1, 2]
        assert [len(u["NewImage"]["history"]["L"]) for u in updates] == [2, 3]


def test_shape_checks_are_remembered_per_expression_names_and_table(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    for name in ("a", "b"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": name, "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName=name, Item={name: {"S": "k"}})
    update = {"UpdateExpression": "SET #x = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}
    # Passes on table a with #x = b, then the same text and names on table b, where b is the key.
    ddb.update_item(TableName="a", Key={"a": {"S": "k"}}, ExpressionAttributeNames={"#x": "b"}, **update)
    ddb.update_item(TableName="a", Key={"a": {"S": "k"}}, ExpressionAttributeNames={"#x": "b"}, **update)
    for _ in range(2):
        with pytest.raises(ClientError, match=r"Cannot update attribute b\. This attribute is part of the key"):
            ddb.update_item(TableName="b", Key={"b": {"S": "k"}}, ExpressionAttributeNames={"#x": "b"}, **update)
    # The same text with names that now overlap fails, however often the text passed before.
    twice = {"UpdateExpression": "SET #x = :v, #y = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}
    ddb.update_item(TableName="a", Key={"a": {"S": "k"}}, ExpressionAttributeNames={"#x": "p", "#y": "q"}, **twice)
    for _ in range(2):
        with pytest.raises(ClientError, match="Two document paths overlap"):
            ddb.update_item(TableName="a", Key={"a": {"S": "k"}},
                            ExpressionAttributeNames={"#x": "p", "#y": "p"}, **twice)
    item = ddb.get_item(TableName="a", Key={"a": {"S": "k"}})["Item"]
    assert item == {"a": {"S": "k"}, "b": {"S": "1"}, "p": {"S": "1"}, "q": {"S": "1"}}


def _table(ddb: Any, name: str = "t") -> None:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")


@pytest.fixture
def busy_switching() -> Iterator[None]:
    # Threads switch every microsecond instead of every 5 ms, so a half-applied update is
    # likely to be seen within a few thousand reads if moto lets it be seen at all.
    import sys

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_a_reader_never_sees_half_an_update(aws: boto3.Session, busy_switching: None) -> None:
    import threading

    ddb = aws.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "s": {"S": "0"}, "r": {"S": "0"}, "h": {"L": []}})
    done = threading.Event()

    def write() -> None:
        for i in range(1, 301):
            ddb.update_item(TableName="t", Key={"pk": {"S": "a"}},
                            UpdateExpression="SET s = :v, h = list_append(h, :h), r = :v",
                            ExpressionAttributeValues={":v": {"S": str(i)}, ":h": {"L": [{"S": str(i)}]}})
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    torn = []
    while not done.is_set():
        item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        if not item["s"]["S"] == item["r"]["S"] == str(len(item["h"]["L"])):
            torn.append(item)
    writer.join()
    assert torn == []


def test_concurrent_increments_are_not_lost(aws: boto3.Session, busy_switching: None) -> None:
    import threading

    ddb = aws.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "0"}})

    def add() -> None:
        for _ in range(100):
            ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = n + :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"]["N"] == "400"


def test_a_failed_update_changes_nothing(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    _table(ddb)
    before = {"pk": {"S": "a"}, "small": {"S": "before"}, "n": {"S": "not a number"}}
    ddb.put_item(TableName="t", Item=before)
    # The SET runs, then the ADD finds a string: moto raises only once it executes the ADD.
    with pytest.raises(ClientError, match="incorrect data type"):
        ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET small = :s ADD n :one",
                        ExpressionAttributeValues={":s": {"S": "after"}, ":one": {"N": "1"}})
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == before


def test_nested_add_and_remove_updates_keep_the_old_image(aws: boto3.Session) -> None:
    ddb = aws.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "m": {"M": {"x": {"S": "1"}, "l": {"L": [{"S": "p"}]}}},
                                      "ss": {"SS": ["a"]}, "n": {"N": "1"}})
    steps = [("SET m.x = :v", {":v": {"S": "2"}}), ("REMOVE m.l[0]", {}), ("ADD ss :s, n :one",
             {":s": {"SS": ["b"]}, ":one": {"N": "1"}}), ("DELETE ss :a", {":a": {"SS": ["a"]}})]
    olds = []
    for expression, values in steps:
        olds.append(ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression=expression,
                                    ReturnValues="ALL_OLD", **({"ExpressionAttributeValues": values} if values else {})
                                    )["Attributes"])
    assert olds[0]["m"]["M"]["x"] == {"S": "1"} and olds[1]["m"]["M"]["l"] == {"L": [{"S": "p"}]}
    assert olds[2]["ss"] == {"SS": ["a"]} and olds[2]["n"] == {"N": "1"}
    assert sorted(olds[3]["ss"]["SS"]) == ["a", "b"]
    item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    assert item["m"] == {"M": {"x": {"S": "2"}, "l": {"L": []}}}
    assert item["ss"] == {"SS": ["b"]} and item["n"] == {"N": "2"}


def test_one_of_many_concurrent_conditional_puts_wins(aws: boto3.Session, busy_switching: None) -> None:
    # Powertools idempotency claims a key with exactly this put: two winners would be two orders.
    import threading

    ddb = aws.client("dynamodb")
    _table(ddb)
    won: list[str] = []
    for key in range(40):
        def claim(who: str, key: int = key) -> None:
            try:
                ddb.put_item(TableName="t", Item={"pk": {"S": f"k{key}"}, "who": {"S": who}},
                             ConditionExpression="attribute_not_exists(pk)")
                won.append(f"k{key}")
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"

        threads = [threading.Thread(target=claim, args=(f"t{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(won) == sorted(f"k{key}" for key in range(40))


def test_concurrent_kinesis_puts_keep_every_record_and_reads_page_in_order(
        aws: boto3.Session, busy_switching: None) -> None:
    import threading

    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)

    def put(who: int) -> None:
        for i in range(0, 100, 10):
            kinesis.put_records(StreamName="s", Records=[
                {"Data": f"{who}-{j}".encode(), "PartitionKey": "p"} for j in range(i, i + 10)])

    threads = [threading.Thread(target=put, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shard = kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="s", ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seen: list[Any] = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=37)
        seen += page["Records"]
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            break
    assert sorted(r["Data"].decode() for r in seen) == sorted(f"{w}-{j}" for w in range(4) for j in range(100))
    numbers = [int(r["SequenceNumber"]) for r in seen]
    assert numbers == sorted(numbers) and len(set(numbers)) == 400
    after = kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                       StartingSequenceNumber=str(numbers[-3]))["ShardIterator"]
    assert [r["SequenceNumber"] for r in kinesis.get_records(ShardIterator=after)["Records"]] == \
        [str(n) for n in numbers[-2:]]
    latest = kinesis.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []


@pytest.mark.parametrize("patched", [True, False], ids=["patched", "vanilla"])
def test_a_compressed_put_metric_data_reaches_a_moto_server(patched: bool) -> None:
    """botocore gzips PutMetricData bodies of 10 KB and more (a second cell's metrics batches
    to the shared CloudWatch, or an aws CLI put-metric-data); moto's server decompressed them
    twice and answered 500. With the fix the datapoints arrive; without it the call fails."""
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    from ecomctl.local.patches import server as server_patches

    if moto_patches.is_applied():
        pytest.skip("patches applied by an earlier test in this process")
    moto_patches.apply([server_patches.GZIP_DECOMPRESSED_ONCE] if patched else [])
    try:
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
        moto.start()
        try:
            host, port = moto.get_host_and_port()
            cw = boto3.client("cloudwatch", region_name=REGION, endpoint_url=f"http://{host}:{port}",
                              aws_access_key_id="testing", aws_secret_access_key="testing",
                              config=Config(retries={"max_attempts": 1}))
            data = [{"MetricName": f"Metric{i:03d}", "Value": float(i), "Unit": "Count",
                     "Dimensions": [{"Name": "service", "Value": "ecomshop-with-a-long-dimension-value"}]}
                    for i in range(200)]  # well over botocore's 10 KB compression threshold
            if not patched:
                with pytest.raises(ClientError, match="500"):
                    cw.put_metric_data(Namespace="EcomShop", MetricData=data)
                return
            cw.put_metric_data(Namespace="EcomShop", MetricData=data)
            names = {m["MetricName"] for m in cw.list_metrics(Namespace="EcomShop")["Metrics"]}
            assert len(names) == 200
            small = cw.put_metric_data(Namespace="EcomShop", MetricData=data[:1])  # not compressed: as before
            assert small["ResponseMetadata"]["HTTPStatusCode"] == 200
        finally:
            moto.stop()
    finally:
        moto_patches.revert()
