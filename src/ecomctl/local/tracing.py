"""X-Ray tracing for handlers hosted in one long-lived process.

In Lambda, the service opens the function's segment and Powertools' Tracer adds
subsegments to it. Here the bridge opens one segment per invocation (origin
``AWS::Lambda::Function``, named after the function) on the calling thread, and the
X-Ray SDK sends it to the daemon stand-in when it closes.

Order matters: the SDK's recorder picks its context when it is imported (Lambda's
facade-segment context if ``LAMBDA_TASK_ROOT`` is set, a thread-local one otherwise),
and Powertools only enables its Tracer when ``LAMBDA_TASK_ROOT`` is set. So the recorder
is imported and configured first (:func:`enable`), then ``LAMBDA_TASK_ROOT`` is set for
Powertools (:func:`environment`, applied by the platform's environment part).

Sampling is Lambda's default: per function, the first invocation each second and 5 % of
the rest are traced (the X-Ray SDK's own local sampler, one per function). An unsampled
invocation runs with the SDK's dummy segment, so nothing is recorded or sent for it.
``sample_all=True`` traces every invocation (for debugging a handful of orders).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecomshop.topology import Function


def per_segment_streaming(threshold: int) -> Any:
    """The SDK's subsegment streaming with one lock per segment instead of one per process.

    ``DefaultStreaming`` walks a segment's tree and streams its closed subsegments under a
    single process-wide lock. In Lambda a process holds one invocation, so nothing else
    ever waits for it. Here every concurrent invocation shares the process. Under 2x
    overload, a sampled invocation of a full batch passes the streaming threshold, and then
    every subsegment it ends queues for that lock behind the other big invocations. A
    ``py-spy dump`` during the intake found about five handler threads waiting on it
    (``default_streaming.py:32``) at every dump. Inventory's invocations took about 4 s each:
    two pollers, about 150 orders/min (issue #12).

    The SDK takes a streaming strategy through ``configure(streaming=...)``. This one keeps
    the default's walk and threshold and locks only the segment being streamed, which is
    all the lock has to protect: one invocation's tree, touched by that invocation.
    """
    import threading
    import weakref

    from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming

    class PerSegmentStreaming(DefaultStreaming):
        def __init__(self, streaming_threshold: int) -> None:
            super().__init__(streaming_threshold)
            self._locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()

        def stream(self, entity: Any, callback: Any) -> None:
            with self._lock:  # the process-wide lock, held only to find this segment's own
                lock = self._locks.setdefault(entity, threading.Lock())
            with lock:
                self._stream(entity, callback)

    return PerSegmentStreaming(threshold)


def recorder() -> Any:
    """The SDK's recorder; imported before ``LAMBDA_TASK_ROOT`` is set (see above)."""
    from aws_xray_sdk.core import xray_recorder

    return xray_recorder


def enable(daemon_address: str, service: str) -> Any:
    """Configure the recorder; the process environment comes from :func:`environment`."""
    xray_recorder = recorder()
    xray_recorder.configure(
        sampling=False,  # every invocation is traced; no sampling-rule calls to a daemon that has none
        context_missing="IGNORE_ERROR",  # SDK calls outside an invocation (pollers, emitters) are not traced
        daemon_address=daemon_address,
        service=service,
        streaming=per_segment_streaming(100),
        streaming_threshold=100,
    )
    return xray_recorder


def environment(daemon_address: str | None) -> dict[str, str | None]:
    """The variables Powertools' Tracer reads: tracing towards the daemon, or off (None: unset)."""
    if daemon_address is None:
        return {"POWERTOOLS_TRACE_DISABLED": "1"}
    return {
        "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "LAMBDA_TASK_ROOT": os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()),
        "POWERTOOLS_TRACE_DISABLED": None,
    }


class CellSampler:
    """Lambda's default sampling for one function: the first invocation each second, then 5 %.

    Lambda's reservoir is the function's, however many environments run it. With cells,
    every cell hosts every function, and one sampler per cell would trace ``cells``
    invocations a second. So the reservoir is the cells' in turn: cell ``i`` may take it
    only in the seconds where ``second % cells == i``; the 5 % applies in every cell.
    Written here rather than taken from the SDK's LocalSampler, whose reservoir reads the
    clock itself and cannot be shared between processes; with one cell it decides as that
    sampler does.
    """

    RATE = 0.05

    def __init__(self, cell: int = 0, cells: int = 1, rng: random.Random | None = None) -> None:
        self.cell, self.cells = cell, max(1, cells)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._reservoir_second: int | None = None  # the last second whose reservoir was taken

    def should_trace(self, now: float | None = None) -> bool:
        second = int(time.time() if now is None else now)
        if second % self.cells == self.cell:
            with self._lock:
                if self._reservoir_second != second:
                    self._reservoir_second = second
                    return True
        return self._rng.random() < self.RATE


def segment_wrapper(recorder: Any, arns: dict[str, str], sample_all: bool = False, cell: int = 0,
                    cells: int = 1) -> Any:
    samplers = {logical: CellSampler(cell, cells) for logical in arns}

    @contextmanager
    def wrapper(fn: Function, context: Any) -> Iterator[None]:
        sampler = samplers.get(fn.logical)
        sampled = sample_all or sampler is None or sampler.should_trace()
        segment = recorder.begin_segment(name=context.function_name, sampling=1 if sampled else 0)
        segment.origin = "AWS::Lambda::Function"
        segment.set_aws({"function_arn": arns.get(fn.logical, ""), "request_id": context.aws_request_id})
        try:
            yield
        except Exception as exc:
            segment.add_exception(exc, stack=[])
            raise
        finally:
            recorder.end_segment()

    return wrapper
