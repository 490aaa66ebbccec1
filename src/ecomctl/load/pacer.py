"""The open-model pacer inside a Locust process (gevent): tickets on an absolute schedule.

One ticker greenlet puts a ticket (request number, due time) on a queue when each
request is due, computed from the run's start, never from the previous send. The users
of the process take tickets and send; when a ticket waits in the queue, that wait is
the schedule's lag. A scaler greenlet keeps the pool at rate x observed latency x 1.5
(Little's law with headroom) so that a slow server gets more concurrent users instead of
fewer arrivals. After the schedule, tickets still queued past a short grace are counted
as sends that could not be made.

Imported only by the locustfile, in the Locust child (gevent has patched it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent.queue import Empty, Queue

from ecomctl.load.schedule import MAX_USERS, Schedule, pool_size, share
from ecomctl.load.tally import Tally, bucket, percentile

Ticket = tuple[int, float]  # (request number, due time on the perf_counter clock)
_EARLY_S = 0.0005  # a ticket this close to due is released without sleeping


class RecentLatency:
    """Service times of the last few seconds, for sizing the pool."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, seconds: float) -> None:
        now = time.perf_counter()
        self.samples.append((now, seconds))
        while self.samples and self.samples[0][0] < now - self.window_s:
            self.samples.popleft()

    def p99_s(self) -> float:
        if not self.samples:
            return 0.0
        hist: dict[int, int] = {}
        for _, s in self.samples:
            key = bucket(s * 1000)
            hist[key] = hist.get(key, 0) + 1
        return percentile(hist, 0.99) / 1000


class Pacer:
    def __init__(self, schedule: Schedule, index: int, count: int, grow: Callable[[int], None],
                 users: Callable[[], int], grace_s: float = 5.0, on_done: Callable[[], None] | None = None) -> None:
        self.schedule = schedule
        self.index, self.count = index, count
        self.grow, self.users = grow, users
        self.grace_s = grace_s
        self.on_done = on_done
        self.tickets: Queue[Ticket] = Queue()
        self.tally = Tally()
        self.latency = RecentLatency()
        self.running = True
        self.greenlets: list[Any] = []

    def start(self) -> None:
        self.greenlets = [gevent.spawn(self._tick), gevent.spawn(self._scale)]

    def take(self) -> Ticket | None:
        """A ticket when one is due (blocks), or None once the schedule is over."""
        while self.running:
            try:
                return self.tickets.get(timeout=0.5)
            except Empty:
                continue
        return None

    def _tick(self) -> None:
        t0 = time.perf_counter()
        for number, offset in share(self.schedule.offsets(), self.index, self.count):
            due = t0 + offset
            wait = due - time.perf_counter()
            if wait > _EARLY_S:
                gevent.sleep(wait)
            self.tally.scheduled += 1
            self.tickets.put((number, due))
        self._finish(t0 + self.schedule.duration_s)

    def _finish(self, ends_at: float) -> None:
        gevent.sleep(max(0.0, ends_at - time.perf_counter()))
        deadline = time.perf_counter() + self.grace_s
        while not self.tickets.empty() and time.perf_counter() < deadline:
            gevent.sleep(0.05)
        self.running = False
        while not self.tickets.empty():
            self.tickets.get_nowait()
            self.tally.dropped += 1
        while self.tally.in_flight > 0 and time.perf_counter() < deadline + self.grace_s:
            gevent.sleep(0.05)
        self.tally.done += 1
        if self.on_done is not None:
            self.on_done()

    def _scale(self) -> None:
        rps = self.schedule.peak_rps() / self.count
        while self.running:
            gevent.sleep(0.2)
            backlog, have = self.tickets.qsize(), self.users()
            wanted = pool_size(rps, self.latency.p99_s(), backlog)
            if backlog:  # every user is busy now: don't wait for the latency window to show it
                wanted = min(MAX_USERS, max(wanted, have + 2 * backlog))
            if wanted > have:
                self.grow(wanted - have)

    def begin(self, due: float) -> None:
        """A user took a ticket: the lag is how late it starts."""
        self.tally.record_send(max(0.0, time.perf_counter() - due), time.time())
        self.tally.in_flight += 1

    def end(self, due: float, service_s: float) -> None:
        """The request is answered: its service time, and its latency from the due time."""
        self.tally.in_flight -= 1
        self.latency.add(service_s)
        self.tally.intended[bucket((time.perf_counter() - due) * 1000)] += 1
