"""X-Ray for a time window: traces, fault/error/throttle counts, per-service latency, the slowest paths.

Per-service p50/p95/p99 come from ``GetServiceGraph``'s response-time histograms where
the service builds a graph (AWS). Where it answers an empty graph (moto has no service
graph) they are computed from the segments themselves: ``GetTraceSummaries`` for the
window (no ``FilterExpression``: moto answers it with a 500), then ``BatchGetTraces`` in
batches of 5. Counts are of *sampled* traces (Lambda's default: 1/s + 5 % per function).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

MAX_TRACES = 2000
_BATCH = 5
_MAX_PAGES = 100


@dataclass(frozen=True)
class ServiceLatency:
    name: str
    type: str
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    faults: int = 0
    errors: int = 0
    throttles: int = 0


@dataclass(frozen=True)
class SlowTrace:
    trace_id: str
    duration_ms: float
    path: list[str]
    fault: bool


@dataclass
class XRaySummary:
    traces: int = 0
    faults: int = 0
    errors: int = 0
    throttles: int = 0
    services: list[ServiceLatency] = field(default_factory=list)
    slowest: list[SlowTrace] = field(default_factory=list)
    source: str = "BatchGetTraces"
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))], 1)


def trace_ids(xray: Any, start: datetime, end: datetime) -> tuple[list[str], bool]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end, "Sampling": False}
    for _ in range(_MAX_PAGES):
        page = xray.get_trace_summaries(**kwargs)
        ids += [s["Id"] for s in page.get("TraceSummaries", []) if s.get("Id") not in ids]
        token = page.get("NextToken")
        if not token or token == kwargs.get("NextToken") or len(ids) >= MAX_TRACES:
            break
        kwargs["NextToken"] = token
    return ids[:MAX_TRACES], len(ids) >= MAX_TRACES


def segments_of(xray: Any, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """trace id -> its segment documents (parsed)."""
    traces: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), _BATCH):
        page = xray.batch_get_traces(TraceIds=ids[start:start + _BATCH])
        for trace in page.get("Traces", []):
            docs = []
            for seg in trace.get("Segments", []):
                try:
                    docs.append(json.loads(seg["Document"]))
                except (KeyError, ValueError):
                    continue
            traces[trace["Id"]] = docs
    return traces


def _walk(doc: dict[str, Any], depth: int = 0) -> list[tuple[dict[str, Any], int]]:
    found = [(doc, depth)]
    for sub in doc.get("subsegments") or []:
        found += _walk(sub, depth + 1)
    return found


def _service_key(node: dict[str, Any], depth: int) -> tuple[str, str] | None:
    """(name, type) of a node that is a service: a segment, or a call to an AWS service.

    The SDK streams a large segment's subsegments as documents of their own
    (``"type": "subsegment"``); those are code blocks, not services, unless they call AWS.
    """
    if node.get("namespace") in ("aws", "remote"):
        return str(node.get("name", "?")), f"AWS::{node.get('name', '?')}"
    if depth == 0 and node.get("type") != "subsegment":
        return str(node.get("name", "?")), str(node.get("origin") or "segment")
    return None


def _ms(node: dict[str, Any]) -> float | None:
    try:
        return (float(node["end_time"]) - float(node["start_time"])) * 1000
    except (KeyError, TypeError, ValueError):
        return None  # an in-progress segment has no end_time


class _ServiceAccumulator:
    def __init__(self) -> None:
        self.durations: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.flags: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, key: tuple[str, str], node: dict[str, Any]) -> None:
        ms = _ms(node)
        if ms is not None:
            self.durations[key].append(ms)
        for flag in ("fault", "error", "throttle"):
            if node.get(flag) is True:  # a key present as false is no fault (moto's summaries miscount it)
                self.flags[key][flag] += 1

    def rows(self) -> list[ServiceLatency]:
        return sorted((ServiceLatency(name, kind, len(values), quantile(values, 0.5), quantile(values, 0.95),
                                      quantile(values, 0.99), self.flags[(name, kind)]["fault"],
                                      self.flags[(name, kind)]["error"], self.flags[(name, kind)]["throttle"])
                       for (name, kind), values in self.durations.items()), key=lambda r: (-r.p99_ms, r.name))


def from_segments(traces: dict[str, list[dict[str, Any]]], slowest: int = 5) -> XRaySummary:
    summary, services, spans = XRaySummary(traces=len(traces)), _ServiceAccumulator(), []
    for trace_id, docs in traces.items():
        nodes = [pair for doc in docs for pair in _walk(doc)]
        flagged = {flag: any(n.get(flag) is True for n, _ in nodes) for flag in ("fault", "error", "throttle")}
        summary.faults += flagged["fault"]
        summary.errors += flagged["error"]
        summary.throttles += flagged["throttle"]
        for node, depth in nodes:
            key = _service_key(node, depth)
            if key is not None:
                services.add(key, node)
        spans.append(_slow_trace(trace_id, docs, flagged["fault"]))
    summary.services = services.rows()
    summary.slowest = sorted((s for s in spans if s is not None), key=lambda s: -s.duration_ms)[:slowest]
    return summary


def _slow_trace(trace_id: str, docs: list[dict[str, Any]], fault: bool) -> SlowTrace | None:
    timed = [d for d in docs if "start_time" in d]
    if not timed:
        return None
    first = min(float(d["start_time"]) for d in timed)
    last = max(float(d.get("end_time") or d["start_time"]) for d in timed)
    path: list[str] = []
    nodes = sorted((pair for doc in timed for pair in _walk(doc)), key=lambda p: float(p[0].get("start_time", 0)))
    for node, depth in nodes:
        key = _service_key(node, depth)
        if key is not None and (not path or path[-1] != key[0]):
            path.append(key[0])
    return SlowTrace(trace_id, round((last - first) * 1000, 1), path, fault)


def _histogram_quantile(histogram: list[dict[str, Any]], q: float) -> float:
    """A weighted quantile over X-Ray's [{Value (seconds), Count}] histogram, in ms."""
    total = sum(int(h.get("Count", 0)) for h in histogram)
    seen = 0
    for h in sorted(histogram, key=lambda h: float(h.get("Value", 0))):
        seen += int(h.get("Count", 0))
        if total and seen >= q * total:
            return round(float(h["Value"]) * 1000, 1)
    return 0.0


def from_service_graph(services: list[dict[str, Any]]) -> list[ServiceLatency]:
    rows = []
    for svc in services:
        stats, hist = svc.get("SummaryStatistics") or {}, svc.get("ResponseTimeHistogram") or []
        errors = stats.get("ErrorStatistics") or {}
        rows.append(ServiceLatency(
            str(svc.get("Name", "?")), str(svc.get("Type", "?")), int(stats.get("TotalCount", 0)),
            _histogram_quantile(hist, 0.5), _histogram_quantile(hist, 0.95), _histogram_quantile(hist, 0.99),
            int((stats.get("FaultStatistics") or {}).get("TotalCount", 0)), int(errors.get("OtherCount", 0)),
            int(errors.get("ThrottleCount", 0))))
    return sorted(rows, key=lambda r: (-r.p99_ms, r.name))


def service_graph(xray: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
    for _ in range(_MAX_PAGES):
        page = xray.get_service_graph(**kwargs)
        services += page.get("Services") or []
        token = page.get("NextToken")
        if not token or token == kwargs.get("NextToken"):
            break
        kwargs["NextToken"] = token
    return services


# The traced AWS call (the X-Ray SDK names a subsegment by the endpoint prefix: SES is "email")
# -> the notification channel it is.
CHANNELS = {"sns": "sns", "email": "e-mail", "ses": "e-mail"}
NotificationSample = tuple[str, str | None, float, str]  # orderId, transition time (ISO-8601) or None, sent at, channel


def notifications(traces: dict[str, list[dict[str, Any]]]) -> list[NotificationSample]:
    """(orderId, transition time or None, epoch the send ended, channel) from traced notifier invocations.

    The handlers annotate ``order_id`` and the notifier ``transition_at``; a trace of several
    orders (a batch) is skipped, since its publishes cannot be told apart, and so is a trace
    of several publishes about one order, whose transition times overwrite each other.
    """
    samples: list[NotificationSample] = []
    for docs in traces.values():
        nodes = [node for doc in docs for node, _ in _walk(doc)]
        notes = [n.get("annotations") or {} for n in nodes]
        orders = {str(a["order_id"]) for a in notes if a.get("order_id")}
        transitions = {str(a["transition_at"]) for a in notes if a.get("transition_at")}
        if len(orders) != 1 or len(transitions) > 1:
            continue
        for channel in dict.fromkeys(CHANNELS.values()):
            sends = [float(n["end_time"]) for n in nodes if n.get("namespace") == "aws"
                     and CHANNELS.get(str(n.get("name", "")).lower()) == channel and n.get("end_time")]
            if len(sends) == 1:
                samples.append((next(iter(orders)), next(iter(transitions), None), sends[0], channel))
    return samples


def summarize(xray: Any, start: datetime, end: datetime) -> tuple[XRaySummary, list[NotificationSample]]:
    """The summary, and the notification samples (orderId, published at) for the latency check."""
    ids, truncated = trace_ids(xray, start, end)
    traces = segments_of(xray, ids)
    summary = from_segments(traces)
    summary.truncated = truncated
    graph = service_graph(xray, start, end)
    if graph:
        summary.services, summary.source = from_service_graph(graph), "GetServiceGraph"
    return summary, notifications(traces)
