"""SQS event-source pollers with Lambda's semantics.

moto's own event-source mapping invokes the function synchronously inside SendMessage
and ignores partial batch responses, so the local target polls as Lambda's service
does: receive up to ``batch_size`` messages (waiting up to the batching window), invoke
the consumer with an SQS event, delete what succeeded, and leave the rest to reappear
after the visibility timeout. The queue's redrive policy then moves a message that
keeps failing to its DLQ after maxReceiveCount receives (moto does this on receive).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Any

from ecomctl.local.admission import Admission
from ecomctl.local.lambda_bridge import FunctionHost
from ecomctl.local.provision import Resources

log = logging.getLogger("ecomctl.local.pollers")
ADMISSION_RECHECK_S = 0.05


class SqsPoller:
    def __init__(self, host: FunctionHost, resources: Resources, queue: str, sqs: Any, region: str,
                 admission: Admission | None = None, yields_to: Admission | None = None,
                 yield_max_s: float = 0.0) -> None:
        topology = resources.topology
        consumer = topology.consumer_of(queue)
        if consumer is None:
            raise ValueError(f"queue {queue} has no consumer in the topology")
        self.host = host
        self.queue = topology.queue(queue)
        self.function = consumer.logical
        self.url = resources.queue_url(queue)
        self.arn = resources.resolve(f"queue:{queue}:arn")
        self.sqs = sqs
        self.region = region
        self.invocations = 0
        self.errors = 0
        self.admission = admission  # receive only while it is open (the saga's entrance)
        # A fan-out consumer (outside the saga) waits, up to yield_max_s before each batch, while
        # the saga is behind: on AWS it would run on concurrency of its own, not on the saga's core.
        self.yields_to = yields_to if yield_max_s > 0 else None
        self.yield_max_s = yield_max_s
        self.batching_window_s = float(os.environ.get("ECOMCTL_LOCAL_BATCHING_WINDOW") or self.queue.batching_window_s)

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        records = []
        for m in messages:
            records.append(
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {
                        k: {"stringValue": a.get("StringValue"), "dataType": a.get("DataType", "String")}
                        for k, a in m.get("MessageAttributes", {}).items()
                    },
                    "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": self.region,
                }
            )
        return {"Records": records}

    def receive(self, wait_s: int = 0) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=self.queue.batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        window_end = time.monotonic() + self.batching_window_s
        while messages and len(messages) < self.queue.batch_size and time.monotonic() < window_end:
            more = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=self.queue.batch_size - len(messages),
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not more:
                time.sleep(0.05)
            messages.extend(more)
        return messages

    def poll_once(self, wait_s: int = 0) -> int:
        """One receive-invoke-delete round; returns how many messages were received."""
        messages = self.receive(wait_s)
        if messages:
            self.process(messages)
        return len(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        self.invocations += 1
        try:
            response = self.host.invoke(self.function, self._event(messages))
        except Exception:
            # A failed invocation returns the whole batch to the queue, as Lambda does.
            self.errors += 1
            log.exception("function %s failed on a batch of %d from %s", self.function, len(messages),
                          self.queue.logical)
            return
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def run(self, stop: threading.Event, wait_s: int = 1) -> None:
        yielding_since: float | None = None
        while not stop.is_set():
            if self.admission is not None and not self.admission.open():
                stop.wait(ADMISSION_RECHECK_S)
                continue
            if self.yields_to is not None and self.yields_to.behind():
                now = time.monotonic()
                yielding_since = yielding_since or now
                if now - yielding_since < self.yield_max_s:
                    stop.wait(ADMISSION_RECHECK_S)
                    continue
            yielding_since = None
            try:
                self.poll_once(wait_s)
            except Exception:  # the endpoint going away at shutdown must not kill the thread noisily
                if stop.wait(0.5):
                    return
