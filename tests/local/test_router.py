"""The cells' API router against real HTTP servers standing in for the cells' APIs."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ecomctl.local.router import Router
from tests.local.helpers import http


class FakeCell:
    """An order API that creates ``ord-`` ids, knows only its own orders, and records what it got."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.orders: set[str] = set()
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        cell = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                cell.seen.append(("POST", self.path, dict(self.headers.items()), body))
                order_id = "ord-" + uuid.uuid4().hex[:20]
                cell.orders.add(order_id)
                self._reply(202, {"orderId": order_id, "cell": cell.index})

            def do_GET(self) -> None:
                cell.seen.append(("GET", self.path, dict(self.headers.items()), b""))
                order_id = self.path.rsplit("/", 1)[-1]
                if order_id in cell.orders:
                    self._reply(200, {"orderId": order_id, "cell": cell.index})
                else:
                    self._reply(404, {"message": "no such order"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cells() -> Iterator[list[FakeCell]]:
    made = [FakeCell(i) for i in range(3)]
    yield made
    for c in made:
        c.close()


@pytest.fixture
def router(cells: list[FakeCell]) -> Iterator[Router]:
    r = Router([c.url for c in cells])
    r.start()
    yield r
    r.stop()


def test_creations_without_a_key_take_turns_and_each_order_is_read_from_its_cell(router, cells):
    created = [http("POST", f"{router.url}/orders", {"n": i}) for i in range(6)]
    assert [body["cell"] for _code, body in created] == [0, 1, 2, 0, 1, 2]
    for _code, body in created:
        code, got = http("GET", f"{router.url}/orders/{body['orderId']}")
        assert (code, got["cell"]) == (200, body["cell"])
    # A remembered order is asked of its own cell only.
    assert sum(1 for c in cells for m, *_ in c.seen if m == "GET") == 6


def test_the_same_idempotency_key_always_reaches_the_same_cell(router, cells):
    keys = [f"key-{i}" for i in range(20)]
    first = {k: http("POST", f"{router.url}/orders", {}, {"Idempotency-Key": k})[1]["cell"] for k in keys}
    again = {k: http("POST", f"{router.url}/orders", {}, {"Idempotency-Key": k})[1]["cell"] for k in keys}
    assert first == again
    assert len(set(first.values())) > 1  # the keys spread over the cells


def test_an_order_the_router_never_saw_is_found_by_asking_each_cell(cells):
    direct = http("POST", f"{cells[2].url}/orders", {})[1]["orderId"]  # created behind the router's back
    fresh = Router([c.url for c in cells])
    fresh.start()
    try:
        code, body = http("GET", f"{fresh.url}/orders/{direct}")
        assert (code, body["cell"]) == (200, 2)
        code, body = http("GET", f"{fresh.url}/orders/ord-{'0' * 20}")
        assert code == 404 and body == {"message": "no such order"}
    finally:
        fresh.stop()


def test_requests_pass_through_byte_for_byte_with_their_host_header(router, cells):
    payload = b'{"customerId": "c-1", "items": []}'
    conn = socket.create_connection(("127.0.0.1", router.port))
    conn.sendall(b"POST /orders HTTP/1.1\r\nHost: api.example:443\r\nContent-Type: application/json\r\n"
                 b"X-Amz-Date: 20261204T000000Z\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n"
                 + payload)
    reply = conn.recv(65536)
    conn.close()
    assert reply.startswith(b"HTTP/1.1 202")
    _method, path, headers, body = next(s for c in cells for s in c.seen)
    assert (path, body) == ("/orders", payload)
    assert headers["Host"] == "api.example:443" and headers["X-Amz-Date"] == "20261204T000000Z"


def test_a_cell_that_cannot_be_reached_answers_502(cells):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: refused
        r = Router([dead])
        r.start()
        try:
            code, body = http("POST", f"{r.url}/orders", {})
        finally:
            r.stop()
    assert code == 502 and body == {"message": "Internal server error"}


def test_a_router_needs_a_cell():
    with pytest.raises(ValueError):
        Router([])


def test_a_keyed_creation_whose_first_attempt_was_cut_off_gets_that_attempts_answer():
    """The cell took the first attempt and closed the connection unanswered; the retry finds
    the key in progress (409) and the router waits for the original order, as a client would."""
    state: dict[str, Any] = {"calls": 0, "done_at": 0.0, "order": "ord-" + "a" * 20}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state["calls"] += 1
            if state["calls"] == 1:  # taken, then the connection drops before any answer
                state["done_at"] = time.monotonic() + 0.6
                self.close_connection = True
                return
            status, body = ((409, {"error": "still in progress"}) if time.monotonic() < state["done_at"]
                            else (202, {"orderId": state["order"]}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    r = Router([f"http://127.0.0.1:{server.server_address[1]}"])
    r.start()
    try:
        code, body = http("POST", f"{r.url}/orders", {}, {"Idempotency-Key": "k-1"})
        assert (code, body) == (202, {"orderId": state["order"]})
        assert state["calls"] >= 3  # the cut-off attempt, a 409, then the replayed answer
    finally:
        r.stop()
        server.shutdown()
        server.server_close()
