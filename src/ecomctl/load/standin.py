"""A fast stand-in for the order API, for measuring the load generator itself.

    python -m ecomctl.load.standin --port 8099 [--latency-ms 20]

An asyncio server with a minimal HTTP/1.1 keep-alive parser: ``POST /orders`` answers
``202 {"orderId", "status": "PENDING"}``, ``GET /orders/{id}`` answers ``200``, after an
optional fixed latency (so a test can show the pacer keeps its rate while the server is
slow). Tens of thousands of requests a second on one core: the bench and the pacing
tests measure ecomctl's pacer, not a platform. Binds to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
from typing import Any

_counter = itertools.count()


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 202: "Accepted", 404: "Not Found"}.get(status, "OK")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def answer(method: str, path: str) -> bytes:
    if method == "POST" and path == "/orders":
        body = json.dumps({"orderId": f"ord-standin-{next(_counter)}", "status": "PENDING"}).encode()
        return _response(202, body)
    if method == "GET" and path.startswith("/orders/"):
        return _response(200, json.dumps({"orderId": path.rsplit("/", 1)[-1], "status": "PENDING"}).encode())
    return _response(404, b'{"message":"not found"}')


class OrderApiProtocol(asyncio.Protocol):
    def __init__(self, latency_s: float, stats: dict[str, int]) -> None:
        self.latency_s = latency_s
        self.stats = stats
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length:]
            method, path = [*head.split(" ", 2), "", ""][:2]
            self.stats["requests"] += 1
            self._reply(answer(method, path))

    def _reply(self, payload: bytes) -> None:
        if self.latency_s <= 0:
            self.transport.write(payload)
            return
        asyncio.get_running_loop().call_later(self.latency_s, self._write_if_open, payload)

    def _write_if_open(self, payload: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(payload)


async def serve(port: int, latency_ms: float = 0.0, ready: Any = None) -> None:
    stats = {"requests": 0}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: OrderApiProtocol(latency_ms / 1000, stats), "127.0.0.1", port,
                                      backlog=1024)
    if ready is not None:
        ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.latency_ms, ready=lambda p: print(f"listening on 127.0.0.1:{p}",
                                                                             flush=True)))


if __name__ == "__main__":
    main()
