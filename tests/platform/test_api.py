"""The Order API on the provisioned platform (moto in-process): what a client sees, what
is stored, and what reaches the bus. The saga is never started here: the saga-start
queue is read directly, so "one message per created order" is observable."""

from __future__ import annotations

import base64
import io
import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ecomshop.observability import logger, metrics
from ecomshop.orders import store
from tests.platform_harness import Platform, api_event

GOOD = {
    "customerId": "cust-0001",
    "items": [
        {"sku": "SKU-0001", "quantity": 2, "unitPrice": 9.99},
        {"sku": "SKU-0002", "quantity": 1, "unitPrice": 5},
    ],
    "currency": "USD",
    "shippingAddress": {"line1": "1 Main St", "city": "Springfield", "zip": "12345", "country": "US"},
}


def saga_starts(platform: Platform) -> list[dict[str, Any]]:
    """Take every message now on the saga-start queue (the bus's "Order Placed" route)."""
    sqs = platform.client("sqs")
    url = platform.resources.queue_url("saga-start")
    events: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return events
        for message in got:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def stored_orders(platform: Platform) -> list[dict[str, Any]]:
    table = platform.resources.resolve("table:orders")
    return platform.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]


def post(platform: Platform, body: Any = None, key: str | None = None, **kw: Any) -> tuple[int, dict[str, Any]]:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Idempotency-Key"] = key
    return platform.api("POST", "/orders", body=body, headers=headers, **kw)


def invoke_raw(platform: Platform, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = platform.host.invoke(platform.topology.api_function, event)
    return int(response["statusCode"]), json.loads(response["body"])


# --- creation and retrieval ---------------------------------------------------------------


def test_post_answers_202_pending_and_the_order_is_stored_and_published_once(platform: Platform) -> None:
    status, body = post(platform, GOOD)

    assert status == 202, body
    assert body["status"] == "PENDING" and body["orderId"].startswith("ord-")
    status, order = platform.api("GET", f"/orders/{body['orderId']}")
    assert status == 200, order
    assert order["orderId"] == body["orderId"]
    assert order["status"] == "PENDING" and order["reason"] is None
    assert [h["status"] for h in order["history"]] == ["PENDING"] and order["history"][0]["at"]
    assert order["customerId"] == "cust-0001" and order["total"] == "24.98" and order["currency"] == "USD"

    events = saga_starts(platform)
    assert len(events) == 1
    assert events[0]["detail-type"] == "Order Placed"
    assert events[0]["detail"]["orderId"] == body["orderId"]
    assert events[0]["detail"]["status"] == "PENDING"


def test_without_a_key_every_post_is_a_new_order(platform: Platform) -> None:
    ids = {post(platform, GOOD)[1]["orderId"] for _ in range(3)}

    assert len(ids) == 3
    assert sorted(e["detail"]["orderId"] for e in saga_starts(platform)) == sorted(ids)
    assert len(stored_orders(platform)) == 3


def test_get_unknown_order_is_404_json(platform: Platform) -> None:
    for order_id in ("ord-00000000000000000000", "nope", "x" * 3000, "%00%ff", "ord-1;drop"):
        status, body = platform.api("GET", f"/orders/{order_id}")
        assert status == 404, (order_id[:20], body)
        assert body["error"] == "order not found"


def test_unknown_route_is_404_and_wrong_method_is_405(platform: Platform) -> None:
    assert platform.api("GET", "/customers")[0] == 404
    assert platform.api("GET", "/orders/a/b/c")[0] == 404
    for method, path, allowed in (
        ("DELETE", "/orders", "POST"),
        ("GET", "/orders", "POST"),
        ("PUT", "/orders/ord-1", "GET"),
        ("POST", "/orders/ord-1", "GET"),
    ):
        status, body = platform.api(method, path, body=GOOD)
        assert status == 405, (method, path, body)
        assert allowed in body["error"]
    assert saga_starts(platform) == []


# --- idempotency --------------------------------------------------------------------------


def test_same_key_same_body_returns_the_same_order_and_creates_nothing_new(platform: Platform) -> None:
    first = post(platform, GOOD, key="key-A")
    # Same order, spelled differently: key order, whitespace and header-name case do not matter.
    reordered = json.dumps(dict(reversed(list(GOOD.items()))), indent=2)
    second = platform.api("POST", "/orders", raw_body=reordered, headers={"idempotency-key": "key-A"})
    third = platform.api("POST", "/orders", body=GOOD, headers={"IDEMPOTENCY-KEY": "key-A"})

    assert first[0] == second[0] == third[0] == 202
    assert first[1] == second[1] == third[1]
    assert len(saga_starts(platform)) == 1
    orders = stored_orders(platform)
    assert len(orders) == 1 and orders[0]["idempotencyKey"] == {"S": "key-A"}


def test_same_key_different_body_is_refused_and_changes_nothing(platform: Platform) -> None:
    status, original = post(platform, GOOD, key="key-B")
    assert status == 202
    saga_starts(platform)

    changed = {**GOOD, "items": [{"sku": "SKU-0001", "quantity": 3, "unitPrice": 9.99}]}
    status, body = post(platform, changed, key="key-B")

    assert status == 422, body
    assert "Idempotency-Key" in body["error"] and "different request body" in body["error"]
    assert saga_starts(platform) == []
    assert len(stored_orders(platform)) == 1
    assert platform.order(original["orderId"])["total"] == "24.98"
    # The original body with the key still answers the original order; a new key is a new order.
    assert post(platform, GOOD, key="key-B") == (202, original)
    status, fresh = post(platform, changed, key="key-C")
    assert status == 202 and fresh["orderId"] != original["orderId"]
    assert len(saga_starts(platform)) == 1


def test_a_duplicate_arriving_while_the_first_is_in_progress_gets_409(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = store.create
    duplicate: list[tuple[int, dict[str, Any]]] = []

    def create_while_a_duplicate_arrives(request: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        if not duplicate:  # the first request is INPROGRESS now: send the same one from another "client"
            worker = threading.Thread(target=lambda: duplicate.append(post(platform, GOOD, key="key-D")))
            worker.start()
            worker.join(timeout=30)
        return real_create(request, idempotency_key)

    monkeypatch.setattr(store, "create", create_while_a_duplicate_arrives)
    status, body = post(platform, GOOD, key="key-D")

    assert status == 202, body
    assert duplicate and duplicate[0][0] == 409, duplicate
    assert "in progress" in duplicate[0][1]["error"]
    assert len(saga_starts(platform)) == 1
    # Once the first has finished, a retry gets its answer.
    assert post(platform, GOOD, key="key-D") == (202, body)


def test_an_internal_failure_is_a_logged_json_500_and_releases_the_key(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    real_create = store.create
    calls = {"n": 0}

    def fail_once(request: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("table on fire")
        return real_create(request, idempotency_key)

    monkeypatch.setattr(store, "create", fail_once)
    status, body = post(platform, GOOD, key="key-E")

    assert status == 500
    assert body == {"error": "internal error; the request was logged"}  # generic: nothing leaks
    logged = log.getvalue()
    assert "unexpected error in the order API" in logged and "table on fire" in logged
    # The failed attempt left no INPROGRESS record behind: the client's retry creates the order.
    status, body = post(platform, GOOD, key="key-E")
    assert status == 202, body
    assert len(saga_starts(platform)) == 1


def test_orders_placed_metric_counts_creations_not_replays(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics.clear_metrics()  # with metrics disabled (conftest) earlier tests' values were never flushed
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    capsys.readouterr()
    post(platform, GOOD, key="key-M")
    post(platform, GOOD, key="key-M")
    post(platform, {**GOOD, "items": []})
    platform.api("GET", "/orders/nope")

    placed = 0
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            value = json.loads(line).get("OrdersPlaced", 0)
            placed += sum(value) if isinstance(value, list) else int(value)
    assert placed == 1


# --- bad input ------------------------------------------------------------------------------


def _over(n: int) -> str:
    """A valid order padded with whitespace to exactly n bytes."""
    text = json.dumps(GOOD)
    return text + " " * (n - len(text.encode()))


# (name, request kwargs, expected status, a substring of the error, offending fields)
BAD_INPUTS: list[tuple[str, dict[str, Any], int, str, set[str]]] = [
    ("malformed JSON", {"raw_body": '{"customerId": "c", "items": ['}, 400, "malformed JSON", set()),
    ("trailing garbage", {"raw_body": json.dumps(GOOD) + "}"}, 400, "malformed JSON", set()),
    ("empty body", {"raw_body": ""}, 400, "body is required", set()),
    ("no body", {}, 400, "body is required", set()),
    ("NaN literal", {"raw_body": json.dumps(GOOD).replace("9.99", "NaN")}, 400, "NaN", set()),
    ("Infinity literal", {"raw_body": json.dumps(GOOD).replace("9.99", "-Infinity")}, 400, "Infinity", set()),
    (
        "duplicate keys",
        {"raw_body": '{"customerId": "a", "customerId": "b", "items": []}'},
        400,
        "duplicate key",
        set(),
    ),
    ("lone surrogate", {"raw_body": json.dumps(GOOD).replace("cust-0001", "\\ud800")}, 400, "unicode", set()),
    ("deep nesting", {"raw_body": "[" * 5000 + "]" * 5000}, 400, "nested too deeply", set()),
    ("huge integer", {"raw_body": json.dumps(GOOD).replace("9.99", "9" * 5000)}, 400, "malformed JSON", set()),
    ("bad base64", {"raw_body": "not base64!!", "base64": True}, 400, "base64", set()),
    (
        "non-UTF-8 bytes",
        {"raw_body": base64.b64encode(b'{"customerId": "\xff\xfe"}').decode(), "base64": True},
        400,
        "UTF-8",
        set(),
    ),
    ("body over 64 KiB", {"raw_body": _over(64 * 1024 + 1)}, 413, "exceeds 65536 bytes", set()),
    (
        "base64 body over 64 KiB",
        {"raw_body": base64.b64encode(_over(64 * 1024 + 1).encode()).decode(), "base64": True},
        413,
        "exceeds",
        set(),
    ),
    (
        "form content type",
        {"body": GOOD, "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        415,
        "application/json",
        set(),
    ),
    ("text content type", {"body": GOOD, "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type", set()),
    ("empty idempotency key", {"body": GOOD, "headers": {"Idempotency-Key": "   "}}, 400, "Idempotency-Key", set()),
    ("control chars in key", {"body": GOOD, "headers": {"Idempotency-Key": "a\x00b"}}, 400, "Idempotency-Key", set()),
    ("array body", {"body": [GOOD]}, 422, "invalid order", {"body"}),
    ("string body", {"body": "order"}, 422, "invalid order", {"body"}),
    ("null body", {"raw_body": "null"}, 422, "invalid order", {"body"}),
    ("empty object", {"body": {}}, 422, "invalid order", {"customerId", "items"}),
    ("no items", {"body": {**GOOD, "items": []}}, 422, "invalid order", {"items"}),
    (
        "51 items",
        {"body": {**GOOD, "items": [{"sku": "SKU-0001", "quantity": 1, "unitPrice": 1}] * 51}},
        422,
        "invalid order",
        {"items"},
    ),
    (
        "quantity 1.5",
        {"body": {**GOOD, "items": [{"sku": "S", "quantity": 1.5, "unitPrice": 1}]}},
        422,
        "invalid order",
        {"items.0.quantity"},
    ),
    (
        "quantity true",
        {"body": {**GOOD, "items": [{"sku": "S", "quantity": True, "unitPrice": 1}]}},
        422,
        "invalid order",
        {"items.0.quantity"},
    ),
    (
        "quantity 0 and 101",
        {
            "body": {
                **GOOD,
                "items": [{"sku": "S", "quantity": 0, "unitPrice": 1}, {"sku": "S", "quantity": 101, "unitPrice": 1}],
            }
        },
        422,
        "invalid order",
        {"items.0.quantity", "items.1.quantity"},
    ),
    (
        "quantity as string",
        {"body": {**GOOD, "items": [{"sku": "S", "quantity": "2", "unitPrice": 1}]}},
        422,
        "invalid order",
        {"items.0.quantity"},
    ),
    (
        "unitPrice 0, negative, text",
        {
            "body": {
                **GOOD,
                "items": [
                    {"sku": "S", "quantity": 1, "unitPrice": 0},
                    {"sku": "S", "quantity": 1, "unitPrice": -1},
                    {"sku": "S", "quantity": 1, "unitPrice": "abc"},
                    {"sku": "S", "quantity": 1, "unitPrice": "9.99"},
                    {"sku": "S", "quantity": 1, "unitPrice": True},
                ],
            }
        },
        422,
        "invalid order",
        {f"items.{i}.unitPrice" for i in range(5)},
    ),
    (
        "unitPrice huge / too precise",
        {
            "raw_body": json.dumps(
                {
                    **GOOD,
                    "items": [{"sku": "S", "quantity": 1, "unitPrice": 1}, {"sku": "S", "quantity": 1, "unitPrice": 2}],
                }
            )
            .replace('"unitPrice": 1}', '"unitPrice": 1e400}')
            .replace('"unitPrice": 2}', '"unitPrice": 0.001}')
        },
        422,
        "invalid order",
        {"items.0.unitPrice", "items.1.unitPrice"},
    ),
    (
        "nulls everywhere",
        {"body": {"customerId": None, "items": [None], "currency": None, "shippingAddress": None}},
        422,
        "invalid order",
        {"customerId", "items.0", "currency"},
    ),
    ("bad currency", {"body": {**GOOD, "currency": "usd"}}, 422, "invalid order", {"currency"}),
    (
        "blank customer and sku",
        {"body": {**GOOD, "customerId": "  ", "items": [{"sku": "", "quantity": 1, "unitPrice": 1}]}},
        422,
        "invalid order",
        {"customerId", "items.0.sku"},
    ),
    (
        "unknown fields",
        {"body": {**GOOD, "admin": True, "items": [{**GOOD["items"][0], "discount": 99}]}},  # type: ignore[dict-item]
        422,
        "invalid order",
        {"admin", "items.0.discount"},
    ),
    (
        "address not an object",
        {"body": {**GOOD, "shippingAddress": ["1 Main St"]}},
        422,
        "invalid order",
        {"shippingAddress"},
    ),
    (
        "address nested garbage",
        {"body": {**GOOD, "shippingAddress": {"a": [[[[[[[[[["deep"]]]]]]]]]]}}},
        422,
        "invalid order",
        {"shippingAddress"},
    ),
    (
        "address number DynamoDB cannot store",
        {"raw_body": json.dumps(GOOD).replace('"12345"', "1e200")},
        422,
        "invalid order",
        {"shippingAddress"},
    ),
]


def _send(platform: Platform, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = dict(request)
    if request.pop("base64", False):
        event = api_event("POST", "/orders", request["raw_body"], {"Content-Type": "application/json"})
        event["isBase64Encoded"] = True
        return invoke_raw(platform, event)
    return post(platform, request.pop("body", None), **request)


def test_each_bad_input_gets_its_code_and_message_and_nothing_reaches_the_bus(platform: Platform) -> None:
    wrong = []
    for name, request, status, message, fields in BAD_INPUTS:
        got, body = _send(platform, request)
        published = saga_starts(platform)
        if got != status or message not in body.get("error", "") or published:
            wrong.append((name, got, body, len(published)))
        elif fields and set(body.get("fields", {})) != fields:
            wrong.append((name, "fields", sorted(body.get("fields", {})), sorted(fields)))
    assert wrong == []
    assert stored_orders(platform) == []


def test_a_schema_violation_names_every_offending_field(platform: Platform) -> None:
    body = {
        "customerId": 42,
        "items": [{"sku": "SKU-0001", "quantity": 0, "unitPrice": -5}, {"quantity": 2.5, "unitPrice": "x"}],
        "currency": "DOLLARS",
        "shippingAddress": "nowhere",
        "coupon": "FREE",
    }
    status, answer = post(platform, body)

    assert status == 422
    assert answer["error"] == "invalid order"
    assert set(answer["fields"]) == {
        "customerId",
        "items.0.quantity",
        "items.0.unitPrice",
        "items.1.sku",
        "items.1.quantity",
        "items.1.unitPrice",
        "currency",
        "shippingAddress",
        "coupon",
    }
    assert all(isinstance(m, str) and m for m in answer["fields"].values())
    assert "greater than or equal to 1" in answer["fields"]["items.0.quantity"]
    assert saga_starts(platform) == []


def test_edge_of_the_limits_is_accepted(platform: Platform) -> None:
    exactly_64k = _over(64 * 1024)
    assert len(exactly_64k.encode()) == 65536
    ok = [
        platform.api("POST", "/orders", raw_body=exactly_64k),
        post(platform, {**GOOD, "items": [{"sku": "SKU-0001", "quantity": 100, "unitPrice": 0.01}] * 50}),
        post(platform, {"customerId": "c", "items": [{"sku": "SKU-0003", "quantity": 1, "unitPrice": 1}]}),  # USD
        post(
            platform, {**GOOD, "customerId": "Zoë 🚀 顧客"}, headers={"Content-Type": "application/json; charset=utf-8"}
        ),
        post(platform, GOOD, headers={"Content-Type": "application/vnd.ecom+json"}),
        post(platform, {**GOOD, "shippingAddress": {"lines": ["1", "2"], "geo": {"lat": 51.5, "lon": -0.12}}}),
    ]
    event = api_event(
        "POST", "/orders", base64.b64encode(json.dumps(GOOD).encode()).decode(), {"Content-Type": "application/json"}
    )
    event["isBase64Encoded"] = True
    ok.append(invoke_raw(platform, event))

    assert [s for s, _ in ok] == [202] * len(ok), ok
    assert len(saga_starts(platform)) == len(ok)
    assert platform.order(ok[3][1]["orderId"])["customerId"] == "Zoë 🚀 顧客"


def test_missing_headers_are_handled(platform: Platform) -> None:
    event = api_event("POST", "/orders", json.dumps(GOOD), {})
    event["headers"] = None
    event["multiValueHeaders"] = None
    status, body = invoke_raw(platform, event)
    assert status == 415 and "Content-Type" in body["error"]

    status, created = post(platform, GOOD)
    event = api_event("GET", f"/orders/{created['orderId']}", None, {})
    event["headers"] = None
    event["multiValueHeaders"] = None
    assert invoke_raw(platform, event)[0] == 200


# --- fuzz ---------------------------------------------------------------------------------


def _nasty_values(rng: random.Random) -> Iterator[Any]:
    scalars: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        1,
        100,
        101,
        2**63,
        -(2**63),
        10**40,
        1.5,
        -0.0,
        1e308,
        5e-324,
        0.1 + 0.2,
        "",
        " ",
        "0",
        "1.5",
        "NaN",
        "Infinity",
        "-Infinity",
        "null",
        "true",
        "\u0000",
        "\u202e",
        "😀" * 100,
        "a" * 5000,
        "' OR 1=1 --",
        "<script>",
        {"$ne": None},
        [],
        {},
        [None],
        [[[]]],
    ]
    while True:
        pick = rng.random()
        if pick < 0.7:
            yield rng.choice(scalars)
        elif pick < 0.85:
            yield [rng.choice(scalars) for _ in range(rng.randint(0, 4))]
        else:
            yield {rng.choice(["sku", "quantity", "unitPrice", "x", ""]): rng.choice(scalars)}


def _fuzz_bodies(seed: int, count: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    values = _nasty_values(rng)
    for _ in range(count):
        body: dict[str, Any] = json.loads(json.dumps(GOOD))
        for _ in range(rng.randint(1, 3)):
            target = rng.random()
            if target < 0.5:
                item = rng.choice(body["items"]) if isinstance(body.get("items"), list) and body["items"] else {}
                if isinstance(item, dict):
                    item[rng.choice(["sku", "quantity", "unitPrice", "extra"])] = next(values)
            elif target < 0.8:
                body[rng.choice(["customerId", "items", "currency", "shippingAddress", "extra"])] = next(values)
            else:
                body.pop(rng.choice(list(body) or ["x"]), None)
        yield {"raw_body": json.dumps(body)}


def _raw_mutations() -> Iterator[dict[str, Any]]:
    text = json.dumps(GOOD)
    for cut in (1, 10, len(text) // 2, len(text) - 1):
        yield {"raw_body": text[:cut]}
    for junk in (
        "\ufeff" + text,
        text.replace('"', "'"),
        text.replace(":", "="),
        "{" * 100,
        "[]",
        "[1,2]",
        "1",
        '"s"',
        "true",
        "{}" * 2,
        "\x00",
        "\\",
        '{"items": {"0": {}}}',
        '{"customerId": "\\udfff"}',
        '{"customerId": "a\\u0000b", "items": [{"sku": "S", "quantity": 1, "unitPrice": 1}]}',
        text.replace("9.99", "1e-400"),
        text.replace("9.99", "-0"),
        text.replace("2,", "2.0,"),
        text.replace('"USD"', '"US\\u0044"'),
        '{"__proto__": {"admin": true}}',
    ):
        yield {"raw_body": junk}
    for content_type in (
        "",
        "application/json-patch",
        "APPLICATION/JSON",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "*/*",
    ):
        yield {"raw_body": text, "headers": {"Content-Type": content_type}}
    for key in ("k" * 256, "k" * 255, "ключ", "a b", "\t"):
        yield {"raw_body": text, "headers": {"Idempotency-Key": key}}
    for blob in (b"\x80\x81\x82", b"\xed\xa0\x80", "😀".encode("utf-16"), b""):
        yield {"raw_body": base64.b64encode(blob).decode(), "base64": True}


def test_fuzzed_input_never_answers_5xx_and_only_valid_orders_reach_the_bus(platform: Platform) -> None:
    requests = list(_raw_mutations()) + list(_fuzz_bodies(seed=20240601, count=250))
    accepted = 0
    wrong = []
    for request in requests:
        status, body = _send(platform, request)
        if status == 202:
            accepted += 1
        elif status >= 500 or status not in (400, 413, 415, 422) or not body.get("error"):
            wrong.append((request.get("raw_body", "")[:200], request.get("headers"), status, body))
    assert wrong == []
    assert 0 < accepted < len(requests)  # the fuzz both passes and fails validation
    assert len(saga_starts(platform)) == accepted
    assert len(stored_orders(platform)) == accepted
