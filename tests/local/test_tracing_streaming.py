"""Subsegment streaming in a process of many invocations: one invocation streaming its
segment never waits for another's (the SDK's default holds one lock for the process)."""

from __future__ import annotations

import threading

from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment

from ecomctl.local.tracing import per_segment_streaming


def _segment_with_closed_children(name: str, n: int) -> Segment:
    seg = Segment(name)
    for i in range(n):
        sub = Subsegment(f"call-{i}", "remote", seg)
        seg.add_subsegment(sub)
        sub.close()
    return seg


def test_streams_the_closed_subsegments_and_keeps_the_default_threshold() -> None:
    streaming = per_segment_streaming(3)
    seg = _segment_with_closed_children("big", 5)
    assert streaming.is_eligible(seg)
    sent: list[str] = []
    streaming.stream(seg, lambda sub: sent.append(sub.name))
    assert sorted(sent) == [f"call-{i}" for i in range(5)]
    assert seg.subsegments == []  # streamed out, as DefaultStreaming does


def test_one_segment_streaming_does_not_wait_for_another() -> None:
    streaming = per_segment_streaming(1)
    a, b = _segment_with_closed_children("a", 3), _segment_with_closed_children("b", 3)
    streaming.stream(a, lambda sub: None)  # a has its own lock now
    held = streaming._locks[a]
    held.acquire()  # a is mid-stream on another thread
    done = threading.Event()
    t = threading.Thread(target=lambda: (streaming.stream(b, lambda sub: None), done.set()))
    t.start()
    try:
        assert done.wait(2), "streaming b waited for a's lock"
    finally:
        held.release()
        t.join(2)
