"""The cells' API front: one URL for the window, each request passed to one cell's API.

Routing, as a cell router partitions:
- a request with an ``Idempotency-Key`` goes to the cell its key hashes to, so a retried
  request meets the idempotency record its first attempt wrote;
- a request naming an order id (``GET /orders/{id}``) goes to the cell that created the
  order (remembered from the creating response; for an id it never saw, such as one from
  before a router restart, it asks each cell until one does not answer 404);
- anything else goes to the next cell in turn.

Requests and answers pass through byte for byte (the Host header included, so a SigV4
signature made for the window's URL still verifies on the cell). A cell that cannot be
reached answers 502, as API Gateway does for an integration that fails.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from ecomctl.local.api_gateway import MAX_BODY, HttpFront

_ORDER_ID = re.compile(rb"ord-[0-9a-f]{20}")  # the platform's order ids (ecomshop.orders.store)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
IN_PROGRESS_WAIT_S = 10.0  # how long a retried keyed POST waits for its first attempt to finish
_BAD_GATEWAY = b'{"message": "Internal server error"}'

log = logging.getLogger("ecomctl.local.router")


class Router(HttpFront):
    server_version = "ecomctl-local-router"
    thread_name = "router"

    def __init__(self, cell_urls: list[str], port: int = 0, bind: str = "127.0.0.1") -> None:
        if not cell_urls:
            raise ValueError("a router needs at least one cell")
        self.cells = [(urlsplit(u).hostname or "127.0.0.1", urlsplit(u).port or 80) for u in cell_urls]
        self.owner: dict[str, int] = {}  # order id -> the cell that created it
        self._turn = itertools.count()
        self._local = threading.local()
        super().__init__(port, bind)

    # --- routing -------------------------------------------------------------------------

    def cells_for(self, method: str, path: str, headers: Any) -> list[int]:
        """The cells to try, in order: one, except for an order id this router never saw."""
        key = headers.get("Idempotency-Key")
        if key:
            return [zlib.crc32(key.encode()) % len(self.cells)]
        named = _ORDER_ID.search(path.encode())
        if named:
            owner = self.owner.get(named.group().decode())
            return [owner] if owner is not None else list(range(len(self.cells)))
        return [next(self._turn) % len(self.cells)]

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(req, 413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
            return
        body = req.rfile.read(length) if length else b""
        candidates = self.cells_for(req.command, req.path, req.headers)
        answer: tuple[int, list[tuple[str, str]], bytes] | None = None
        for cell in candidates:
            answer = self._forward(cell, req, body)
            if answer[0] != 404 or len(candidates) == 1:
                if 200 <= answer[0] < 300 and req.command == "POST":
                    created = _ORDER_ID.search(answer[2])
                    if created:
                        self.owner[created.group().decode()] = cell
                break
        assert answer is not None
        self._reply(req, *answer)

    def _connection(self, cell: int) -> http.client.HTTPConnection:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        if cell not in pool:
            host, port = self.cells[cell]
            pool[cell] = http.client.HTTPConnection(host, port, timeout=60)
        return pool[cell]

    def _send(self, cell: int, req: BaseHTTPRequestHandler, body: bytes,
              headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        """One exchange with the cell; a failed connection is dropped from the pool and the error raised."""
        conn = self._connection(cell)
        try:
            conn.request(req.command, req.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            self._local.pool.pop(cell, None)
            raise
        return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP], payload

    def _forward(self, cell: int, req: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body:
            headers["Content-Length"] = str(len(body))
        keyed_post = req.command == "POST" and "Idempotency-Key" in headers
        deadline = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._send(cell, req, body, headers)
            except (http.client.HTTPException, OSError) as exc:
                stale = isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                # Only what is safe to send twice is retried: a read, or a creation under its key.
                safe = req.command in ("GET", "HEAD") or "Idempotency-Key" in headers
                if attempt > 1 or not (stale and safe):
                    log.warning("cell %d unreachable: %s", cell, exc)
                    return 502, [("Content-Type", "application/json")], _BAD_GATEWAY
                continue  # a kept-alive connection the cell closed is retried once, fresh
            if attempt == 1 or not keyed_post or answer[0] != 409:
                return answer
            # The first attempt reached the cell after all and still holds the key: wait for it,
            # as a client told "retry shortly" would, so the caller gets its answer.
            deadline = deadline or time.monotonic() + IN_PROGRESS_WAIT_S
            if time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        try:
            req.send_response_only(status)
            for k, v in headers:
                req.send_header(k, v)
            req.send_header("Content-Length", str(len(payload)))
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
