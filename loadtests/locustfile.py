"""The ecomshop order mix at an exact arrival rate: what `ecomctl load` runs in its Locust child.

    ecomctl load --rpm 600 --duration 5m --profile spike     # the usual way
    locust -f loadtests/locustfile.py --headless -u 20 -r 20 --host $API \\
        --ecomctl-rpm 600 --ecomctl-duration 300 --ecomctl-stats /tmp/stats.jsonl   # by hand

Each request is a ticket of the open-model pacer (``ecomctl.load.pacer``): it is due at an
absolute time whatever the latency of the others. The mix, by request number:

| share | kind | request | expected end |
|---|---|---|---|
| 70 % | good | POST /orders, a catalog SKU, a fresh Idempotency-Key | COMPLETED |
| 8 % | out of stock | POST /orders with SKU-0404 in it | CANCELLED |
| 8 % | declined | POST /orders as cust-declined | CANCELLED |
| 6 % | duplicate | a good order resent with its key and body | the same order (202, or 409 while in progress) |
| 8 % | status | GET /orders/{orderId} of a recent order | 200 |

Profiles (``ecomctl.load.schedule.PROFILES``): steady, ramp, spike, black-friday.
Distributed: a master (``--master --expect-workers K``) and K workers
(``--worker --master-host H``) split the schedule, every K-th ticket each; options set on
the master reach the workers.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.runners import MasterRunner, WorkerRunner

from ecomctl.api_auth import Signer
from ecomctl.load.pacer import Pacer
from ecomctl.load.reporter import StatsStream
from ecomctl.load.schedule import Schedule
from ecomctl.load.tally import Tally

MIX = (("good", 70), ("out_of_stock", 8), ("declined", 8), ("duplicate", 6), ("status", 8))
OUT_OF_STOCK = {"SKU-0013", "SKU-0404", "SKU-0666"}
_WHEEL = [kind for kind, share in MIX for _ in range(share)]


class _Run:
    pacer: Pacer | None = None
    stream: StatsStream | None = None
    master_tally: Tally | None = None
    recent_orders: deque[tuple[str, bytes, str]] = deque(maxlen=200)  # (key, body, orderId)
    # The deployed API requires SigV4 (AWS_IAM): the parent passes the credentials it resolved.
    signer: Signer | None = Signer.from_env()


def kind_of(number: int) -> str:
    return _WHEEL[(number * 37) % len(_WHEEL)]  # 37 is coprime with 100: kinds spread evenly in time


def order_body(kind: str, number: int) -> bytes:
    sku = f"SKU-{(number % 999) + 1:04d}"
    if sku in OUT_OF_STOCK:
        sku = "SKU-0001"
    items: list[dict[str, Any]] = [{"sku": sku, "quantity": 1 + number % 3, "unitPrice": 9.99}]
    if kind == "out_of_stock":
        items.append({"sku": "SKU-0404", "quantity": 1, "unitPrice": 3.5})
    customer = "cust-declined" if kind == "declined" else f"cust-load-{number % 5000}"
    return json.dumps({"customerId": customer, "items": items}).encode()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("ecomctl pacing")
    group.add_argument("--ecomctl-rpm", type=float, default=60.0, help="target arrival rate, requests/min")
    group.add_argument("--ecomctl-duration", type=float, default=60.0, help="schedule length, seconds")
    group.add_argument("--ecomctl-profile", default="steady", help="steady, ramp, spike, black-friday")
    group.add_argument("--ecomctl-grace", type=float, default=5.0, help="seconds a late ticket may still go")
    group.add_argument("--ecomctl-stats", default="", help="JSON-lines file for the live and final stats")
    group.add_argument("--ecomctl-run", default="manual", help="run id (sent in the User-Agent)")
    group.add_argument("--ecomctl-mix", default="shop", choices=("shop", "good"),
                       help="shop: the mix above; good: good orders only (the throughput bench)")


def _schedule(options: Any) -> Schedule:
    return Schedule(options.ecomctl_rpm, options.ecomctl_duration, options.ecomctl_profile)


@events.test_start.add_listener
def _on_start(environment: Any, **_kw: Any) -> None:
    runner, options = environment.runner, environment.parsed_options
    if isinstance(runner, MasterRunner):
        _Run.master_tally = Tally()
        _start_stream(environment, _Run.master_tally)
        return
    index, count = (runner.worker_index, max(1, options.expect_workers)) if isinstance(runner, WorkerRunner) else (0, 1)
    done = None if isinstance(runner, WorkerRunner) else (lambda: gevent.spawn(runner.quit))
    _Run.pacer = Pacer(_schedule(options), index, count, grow=lambda n: runner.spawn_users({"OrderShopper": n}),
                       users=lambda: runner.user_count, grace_s=options.ecomctl_grace, on_done=done)
    if not isinstance(runner, WorkerRunner):
        _start_stream(environment, _Run.pacer.tally)
    _Run.pacer.start()


def _start_stream(environment: Any, tally: Tally) -> None:
    options = environment.parsed_options
    if options.ecomctl_stats:
        _Run.stream = StatsStream(environment, Path(options.ecomctl_stats), tally, options.ecomctl_rpm,
                                  options.ecomctl_duration, options.ecomctl_profile)
        _Run.stream.start()


@events.report_to_master.add_listener
def _ship(client_id: str, data: dict[str, Any]) -> None:
    if _Run.pacer is not None:
        data["ecomctl"] = _Run.pacer.tally.take_delta()


@events.worker_report.add_listener
def _merge(client_id: str, data: dict[str, Any]) -> None:
    tally = _Run.master_tally
    if tally is None or "ecomctl" not in data:
        return
    tally.merge(data["ecomctl"])
    runner = _Run.stream.env.runner if _Run.stream else None
    live = [c for c in getattr(runner, "clients", {}).values() if c.state != "missing"] if runner else []
    if runner is not None and tally.done > 0 and tally.done >= len(live):
        gevent.spawn(runner.quit)


@events.test_stop.add_listener
def _on_stop(environment: Any, **_kw: Any) -> None:
    if _Run.stream is not None:
        _Run.stream.write_final()


@events.quitting.add_listener
def _on_quit(environment: Any, **_kw: Any) -> None:
    # A run stopped from outside (SIGTERM: `ecomctl gameday` ends its open-ended load) quits
    # without test_stop; the summary (and the orders to reconcile) must still be written.
    if _Run.stream is not None:
        _Run.stream.write_final()


class OrderShopper(FastHttpUser):
    """Takes the pacer's tickets; idle (and so stoppable at once) when there are none."""

    def wait_time(self) -> float:
        return 0.0 if _Run.pacer is not None and _Run.pacer.running else 3600.0

    def on_start(self) -> None:
        self.agent = f"ecomctl-load/{self.environment.parsed_options.ecomctl_run}"

    @task
    def paced(self) -> None:
        pacer = _Run.pacer
        ticket = pacer.take() if pacer is not None else None
        if pacer is None or ticket is None:
            return
        number, due = ticket
        pacer.begin(due)
        started = time.perf_counter()
        try:
            kind = kind_of(number) if self.environment.parsed_options.ecomctl_mix == "shop" else "good"
            self.send(kind, number, pacer)
        finally:
            pacer.end(due, time.perf_counter() - started)

    def send(self, kind: str, number: int, pacer: Pacer) -> None:
        if kind == "status" and _Run.recent_orders:
            order_id = _Run.recent_orders[-1 - number % len(_Run.recent_orders)][2]
            path = f"/orders/{order_id}"
            self.client.get(path, name="/orders/{orderId}", headers=self._signed("GET", path, b"", {
                "User-Agent": self.agent}))
            return
        if kind == "duplicate" and _Run.recent_orders:
            key, body, _ = _Run.recent_orders[number % len(_Run.recent_orders)]
            self._post(body, key, "/orders (duplicate)", ok=(202, 409))
            return
        kind = "good" if kind in ("status", "duplicate") else kind
        key, body = str(uuid.uuid4()), order_body(kind, number)
        order_id = self._post(body, key, "/orders", ok=(202,))
        if order_id:
            pacer.tally.orders[order_id] = kind
            if kind == "good":
                _Run.recent_orders.append((key, body, order_id))

    def _signed(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        signer = _Run.signer
        # The URL as FastHttpSession builds it from the host, so the signature covers what is sent.
        return signer.headers(method, f"{self.client.base_url}{path}", body, headers) if signer else headers

    def _post(self, body: bytes, key: str, name: str, ok: tuple[int, ...]) -> str | None:
        headers = self._signed("POST", "/orders", body, {"Content-Type": "application/json", "Idempotency-Key": key,
                                                         "User-Agent": self.agent})
        with self.client.post("/orders", data=body, headers=headers, name=name, catch_response=True) as resp:
            if resp.status_code not in ok:
                resp.failure(f"HTTP {resp.status_code}")
                return None
            resp.success()
            try:
                return str(json.loads(resp.text or "{}").get("orderId") or "") or None
            except ValueError:
                return None
