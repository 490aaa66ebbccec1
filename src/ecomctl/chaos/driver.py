"""The experiment's own order traffic: a small HTTP driver on the window's API.

Steady orders at a rate while the fault is on (``kind: orders``), or rapid duplicates
(``kind: duplicates``): each Idempotency-Key sent ``copies`` times at once, and
identical bodies without a key. Everything it places is recorded, so the probes can
follow exactly the orders this run is responsible for. ``ecomctl load`` (Locust) drives
the heavy, shaped traffic; this driver only places what the hypothesis needs to see.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ecomctl.api_auth import Signer
from ecomctl.chaos.spec import LoadSpec

_SKIPPED_SKUS = {13, 404, 666}  # out of stock in the simulated world: cancelled, not what we test


@dataclass
class KeyTally:
    sent: int = 0
    accepted: int = 0
    order_ids: set[str] = field(default_factory=set)


@dataclass
class Traffic:
    """What the driver sent and what the API answered."""

    sent: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    orders: dict[str, str | None] = field(default_factory=dict)  # accepted order id -> Idempotency-Key
    keys: dict[str, KeyTally] = field(default_factory=dict)  # duplicates: per key ("unkeyed-<n>" for no key)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "accepted": len(self.orders),
                "answers": {str(k): v for k, v in self.answers.items()}, "errors": dict(self.errors),
                "per_key": {k: {"sent": t.sent, "accepted": t.accepted, "order_ids": sorted(t.order_ids)}
                            for k, t in self.keys.items()}}


def order_body(run_id: str, n: int, country: str | None) -> dict[str, Any]:
    sku = random.choice([i for i in range(1, 1000) if i not in _SKIPPED_SKUS])
    body: dict[str, Any] = {"customerId": f"chaos-{run_id}-{n % 7}",
                            "items": [{"sku": f"SKU-{sku:04d}", "quantity": 1 + n % 3, "unitPrice": 9.99}]}
    if country:
        body["shippingAddress"] = {"country": country, "city": "Testville"}
    return body


class OrderDriver:
    def __init__(self, api_url: str, run_id: str, spec: LoadSpec, signer: Signer | None = None) -> None:
        self.api = api_url.rstrip("/")
        self.run_id = run_id
        self.spec = spec
        self.signer = signer
        self.traffic = Traffic()

    def _post(self, body: dict[str, Any], key: str | None, tally: str | None = None) -> None:
        headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
        url, data = f"{self.api}/orders", json.dumps(body).encode()
        if self.signer is not None:
            headers = self.signer.headers("POST", url, data, headers)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        code, order_id = 0, None
        try:
            with urllib.request.urlopen(request, timeout=20) as resp:
                code, order_id = resp.status, json.loads(resp.read() or b"{}").get("orderId")
        except urllib.error.HTTPError as exc:
            code = exc.code
        except OSError as exc:
            with self.traffic.lock:
                self.traffic.errors[type(exc).__name__] += 1
        with self.traffic.lock:
            self.traffic.sent += 1
            self.traffic.answers[code] += 1
            if code == 202 and order_id:
                self.traffic.orders[order_id] = key
            if tally is not None:
                t = self.traffic.keys.setdefault(tally, KeyTally())
                t.sent += 1
                if code == 202 and order_id:
                    t.accepted += 1
                    t.order_ids.add(order_id)

    def steady(self, stop: threading.Event) -> None:
        """Orders at ``orders_per_s`` until ``stop`` is set (each with its own key)."""
        interval = 1.0 / self.spec.orders_per_s
        n = 0
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="chaos-orders") as pool:
            next_at = time.monotonic()
            while not stop.is_set():
                pool.submit(self._post, order_body(self.run_id, n, self.spec.country), f"{self.run_id}-o{n}")
                n += 1
                next_at += interval
                stop.wait(max(0.0, next_at - time.monotonic()))

    def duplicates(self, stop: threading.Event) -> None:
        """Every key ``copies`` times at once; identical unkeyed bodies ``copies`` times each."""
        jobs: list[tuple[dict[str, Any], str | None, str]] = []
        for k in range(self.spec.keys):
            body = order_body(self.run_id, k, self.spec.country)
            jobs += [(body, f"{self.run_id}-k{k}", f"{self.run_id}-k{k}")] * self.spec.copies
        for u in range(self.spec.unkeyed_bodies):
            body = order_body(self.run_id, 100 + u, self.spec.country)
            jobs += [(body, None, f"unkeyed-{u}")] * self.spec.copies
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="chaos-dups") as pool:
            for body, key, tally in jobs:
                if stop.is_set():
                    break
                pool.submit(self._post, body, key, tally)

    def start(self, stop: threading.Event) -> threading.Thread:
        target = self.duplicates if self.spec.kind == "duplicates" else self.steady
        thread = threading.Thread(target=target, args=(stop,), name="chaos-load", daemon=True)
        thread.start()
        return thread
