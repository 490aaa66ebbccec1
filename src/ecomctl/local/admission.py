"""Admission at the saga's entrance: start sagas only while the saga's own consumers keep up.

On AWS each function has its own concurrency, so under an overload every stage of the
saga runs at its own capacity and completions keep pace with what the stages can do.
Here every stage shares one interpreter. When more orders arrive than the core can
finish, every stage gets a share of the CPU and a backlog builds in each one. The CPU
then goes to orders that are half done, and completions fall well below the rate the
same platform drains at once the intake stops (issue #12 measured about 55-60 %).

The gate holds orders at the entrance instead. The saga-start poller receives only while
the saga's task queues (the queues the state machine sends task tokens to) have fewer
than ``limit`` messages waiting to be received. Messages in flight do not count: a
provider outage parks task tokens in flight, not visible, so a chaos scenario is not
mistaken for an overload and orders still reach AWAITING_PAYMENT as on AWS. The backlog
then sits in the saga-start queue (the orders stay PENDING), where it costs no CPU and
drains in order once the overload ends. ``ECOMCTL_LOCAL_ADMISSION=0`` turns it off.

The same count tells the fan-out (notify, analytics: the queues outside the saga) to step
aside: while the saga is behind, their pollers wait up to ``FANOUT_YIELD_MAX_S`` before each
batch, deferred but never starved (``ECOMCTL_LOCAL_FANOUT_YIELD_S``; 0 turns it off).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ecomctl.local.provision import Resources

log = logging.getLogger("ecomctl.local.admission")
LOG_EVERY_S = 10.0
DEFAULT_LIMIT = 30  # messages waiting across the task queues: about one full batch per poller
# ECOMCTL_LOCAL_FANOUT_YIELD_S (0: off): how long, at most, a fan-out poller (notify, analytics)
# waits before each batch while the saga is behind. 2x overload, two runs each: completions
# while loaded 1 078 and 1 019/min with 2 s, 970 and 976 without (local-target-throughput.md).
FANOUT_YIELD_MAX_S = 2.0


def entrance_queues(resources: Resources) -> list[str]:
    """The queues whose consumer starts the saga."""
    topology = resources.topology
    return [q.logical for q in topology.queues
            if (fn := topology.consumer_of(q.logical)) is not None
            and any(g.ref == "statemachine:saga" and g.access == "start" for g in fn.grants)]


def task_queues(resources: Resources) -> list[str]:
    """The queues the state machine sends task tokens to (its ``queue:<logical>:url`` substitutions)."""
    refs = resources.topology.saga.substitutions.values()
    return [ref.split(":")[1] for ref in refs if ref.startswith("queue:") and ref.endswith(":url")]


def fanout_queues(resources: Resources) -> list[str]:
    """The queues outside the saga: neither its entrance nor its task queues (notify, analytics)."""
    saga = set(entrance_queues(resources)) | set(task_queues(resources))
    return [q.logical for q in resources.topology.queues
            if q.logical not in saga and resources.topology.consumer_of(q.logical) is not None]


def waiting_messages(sqs: Any) -> Callable[[str], int]:
    """Messages visible in a queue (by URL): moto's own count in process, else the SQS API's."""
    direct = getattr(sqs, "visible_messages", None)
    if direct is not None:
        return direct

    def through_api(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    return through_api


class Admission:
    """``open()`` while the task queues hold fewer than ``limit`` waiting messages."""

    def __init__(self, urls: Sequence[str], waiting: Callable[[str], int], limit: int) -> None:
        self.urls = list(urls)
        self.waiting = waiting
        self.limit = limit
        self.held = 0  # times the entrance waited (for the log and the tests)
        self._lock = threading.Lock()
        self._logged_at = 0.0
        self._logged_held = 0

    def open(self) -> bool:
        """Whether the entrance may receive now (a closed answer is counted and logged)."""
        total = self.behind()
        if total:
            self._hold(total)
            return False
        return True

    def behind(self) -> int:
        """The waiting messages once they reach the limit, else 0 (no bookkeeping: the fan-out asks too)."""
        if self.limit <= 0:
            return 0
        total = 0
        for url in self.urls:
            try:
                total += self.waiting(url)
            except Exception:  # a queue unreadable for a moment must not stop the saga
                return 0
            if total >= self.limit:
                return total
        return 0

    def _hold(self, waiting: int) -> None:
        with self._lock:
            self.held += 1
            now = time.monotonic()
            if now - self._logged_at < LOG_EVERY_S:
                return
            since, self._logged_at, self._logged_held = self._logged_held, now, self.held
        log.info("holding new orders at the saga's entrance: %d+ messages wait in the task queues "
                 "(limit %d; held %d times since the last note)", waiting, self.limit, self.held - since)
