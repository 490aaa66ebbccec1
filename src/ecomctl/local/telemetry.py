"""What AWS services emit by themselves, put into moto's X-Ray and CloudWatch.

On AWS nobody writes ``AWS/SQS`` or ``AWS/Lambda`` metrics or forwards segments to
X-Ray: the services and the X-Ray daemon do. moto emits none of it, so the platform
process stands in, and the observe code reads the same APIs on both targets:

- ``XRayDaemon``: a UDP listener speaking the daemon protocol (``{"format": "json",
  "version": 1}\\n<segment>``); segments are batched into ``PutTraceSegments``.
- ``MetricsEmitter``: every period, ``PutMetricData`` for ``AWS/SQS``
  (ApproximateNumberOfMessagesVisible, ApproximateNumberOfMessagesNotVisible,
  ApproximateAgeOfOldestMessage per queue and DLQ), ``AWS/Lambda`` (Invocations, Errors,
  Duration as a statistic set, Throttles, per FunctionName), ``AWS/ApiGateway`` (Count,
  4XXError, 5XXError, Latency per ApiName and Stage), ``AWS/States`` (ExecutionsStarted,
  ExecutionsSucceeded, ExecutionsFailed per StateMachineArn), and the handlers' EMF
  metrics, captured from stdout as CloudWatch Logs would extract them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, TextIO

from ecomctl.local.lambda_bridge import Invocation

log = logging.getLogger("ecomctl.local.telemetry")


# --------------------------------------------------------------------------- X-Ray


class XRayDaemon:
    """A stand-in for the X-Ray daemon: UDP in, PutTraceSegments out."""

    def __init__(self, xray: Any, bind: str = "127.0.0.1", port: int = 0, flush_s: float = 1.0) -> None:
        self.xray = xray
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((bind, port))
        self.sock.settimeout(0.5)
        self.address = f"{bind}:{self.sock.getsockname()[1]}"
        self.flush_s = flush_s
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self.received = 0
        self.sent = 0

    def receive_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            header, _, body = data.partition(b"\n")
            if not body:
                continue
            try:
                if json.loads(header).get("format") != "json":
                    continue
            except ValueError:
                continue
            with self._lock:
                self._pending.append(body.decode("utf-8", "replace"))
            self.received += 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for start in range(0, len(pending), 50):
            batch = pending[start : start + 50]
            try:
                self.xray.put_trace_segments(TraceSegmentDocuments=batch)
                self.sent += len(batch)
            except Exception:
                log.exception("x-ray daemon stand-in: PutTraceSegments failed")

    def flush_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.flush_s):
            self.flush()
        self.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


# --------------------------------------------------------------------------- EMF capture


class EmfCapture(io.TextIOBase):
    """A stdout replacement: EMF documents go to CloudWatch, every line goes to the log.

    Powertools Metrics prints one EMF JSON document per flush; in Lambda, CloudWatch Logs
    extracts the metrics from it. Lines are split per thread so concurrent invocations
    cannot interleave half-lines.
    """

    def __init__(self, sink: TextIO, on_emf: Any) -> None:
        self.sink = sink
        self.on_emf = on_emf
        self._partial = threading.local()
        self._write_lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        buf = getattr(self._partial, "buf", "") + text
        *lines, rest = buf.split("\n")
        self._partial.buf = rest
        for line in lines:
            if line.startswith('{"_aws"') or (line.startswith("{") and '"_aws"' in line[:200]):
                try:
                    self.on_emf(json.loads(line))
                except Exception:
                    log.debug("unparseable EMF line", exc_info=True)
            with self._write_lock:
                self.sink.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        with self._write_lock:
            self.sink.flush()


def emf_to_datums(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, MetricDatum) pairs from one EMF document."""
    aws = doc.get("_aws") or {}
    ts = aws.get("Timestamp")
    when = datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int | float) else datetime.now(UTC)
    out: list[tuple[str, dict[str, Any]]] = []
    for directive in aws.get("CloudWatchMetrics") or []:
        namespace = directive.get("Namespace")
        if not namespace:
            continue
        dim_sets = directive.get("Dimensions") or [[]]
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name")
            raw = doc.get(name)
            values = raw if isinstance(raw, list) else [raw]
            values = [float(v) for v in values if isinstance(v, int | float)]
            if not name or not values:
                continue
            for dims in dim_sets:
                dimensions = [{"Name": d, "Value": str(doc[d])} for d in dims if d in doc]
                datum: dict[str, Any] = {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": when,
                    "Unit": metric.get("Unit") or "None",
                }
                if len(values) == 1:
                    datum["Value"] = values[0]
                else:
                    datum["StatisticValues"] = {"SampleCount": float(len(values)), "Sum": sum(values),
                                                "Minimum": min(values), "Maximum": max(values)}
                out.append((namespace, datum))
    return out


# --------------------------------------------------------------------------- service metrics


class _Stats:
    __slots__ = ("count", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.minimum = float("inf")
        self.maximum = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def statistic_values(self) -> dict[str, float]:
        return {"SampleCount": float(self.count), "Sum": self.total, "Minimum": self.minimum,
                "Maximum": self.maximum}


class _ApiStats:
    def __init__(self) -> None:
        self.count = 0
        self.client_errors = 0
        self.server_errors = 0
        self.latency = _Stats()


class MetricsEmitter:
    def __init__(self, cloudwatch: Any, sqs: Any, queues: dict[str, str], functions: dict[str, str],
                 api_name: str, stage: str, state_machine_arn: str, period_s: float = 10.0,
                 queue_ages: Any = None, executions: Any = None) -> None:
        self.cw = cloudwatch
        self.sqs = sqs
        self.queues = queues  # physical name -> url
        self.functions = functions  # logical -> physical
        self.api_name = api_name
        self.stage = stage
        self.state_machine_arn = state_machine_arn
        self.period_s = period_s
        self.queue_ages = queue_ages  # callable(queue name) -> seconds | None
        self.executions = executions  # callable() -> {status: count}
        self._lock = threading.Lock()
        self._lambda: dict[str, dict[str, Any]] = {}
        self._api = _ApiStats()
        self._emf: list[tuple[str, dict[str, Any]]] = []
        self._executions_seen: dict[str, int] = {}
        self.put_calls = 0

    # hooks -------------------------------------------------------------------
    def on_invocation(self, inv: Invocation) -> None:
        with self._lock:
            entry = self._lambda.setdefault(inv.function, {"invocations": 0, "errors": 0, "duration": _Stats()})
            entry["invocations"] += 1
            if inv.error:
                entry["errors"] += 1
            entry["duration"].add(inv.duration_ms)

    def on_request(self, method: str, status: int, latency_ms: float) -> None:
        with self._lock:
            self._api.count += 1
            if 400 <= status < 500:
                self._api.client_errors += 1
            elif status >= 500:
                self._api.server_errors += 1
            self._api.latency.add(latency_ms)

    def on_emf(self, doc: dict[str, Any]) -> None:
        datums = emf_to_datums(doc)
        with self._lock:
            self._emf.extend(datums)

    # emission ----------------------------------------------------------------
    def collect(self) -> dict[str, list[dict[str, Any]]]:
        now = datetime.now(UTC)
        by_ns: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with self._lock:
            lam, self._lambda = self._lambda, {}
            api, self._api = self._api, _ApiStats()
            emf, self._emf = self._emf, []
        for logical, physical in self.functions.items():
            entry = lam.get(logical)
            dims = [{"Name": "FunctionName", "Value": physical}]
            invocations = entry["invocations"] if entry else 0
            errors = entry["errors"] if entry else 0
            by_ns["AWS/Lambda"] += [
                {"MetricName": "Invocations", "Dimensions": dims, "Value": float(invocations), "Unit": "Count",
                 "Timestamp": now},
                {"MetricName": "Errors", "Dimensions": dims, "Value": float(errors), "Unit": "Count",
                 "Timestamp": now},
                {"MetricName": "Throttles", "Dimensions": dims, "Value": 0.0, "Unit": "Count", "Timestamp": now},
            ]
            if entry and entry["duration"].count:
                by_ns["AWS/Lambda"].append(
                    {"MetricName": "Duration", "Dimensions": dims, "Unit": "Milliseconds", "Timestamp": now,
                     "StatisticValues": entry["duration"].statistic_values()}
                )
        dims = [{"Name": "ApiName", "Value": self.api_name}, {"Name": "Stage", "Value": self.stage}]
        for name, value in (("Count", api.count), ("4XXError", api.client_errors), ("5XXError", api.server_errors)):
            by_ns["AWS/ApiGateway"].append(
                {"MetricName": name, "Dimensions": dims, "Value": float(value), "Unit": "Count", "Timestamp": now}
            )
        if api.latency.count:
            by_ns["AWS/ApiGateway"].append(
                {"MetricName": "Latency", "Dimensions": dims, "Unit": "Milliseconds", "Timestamp": now,
                 "StatisticValues": api.latency.statistic_values()}
            )
        for name, url in self.queues.items():
            try:
                attrs = self.sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
            except Exception:
                log.debug("queue attributes failed for %s", name, exc_info=True)
                continue
            qd = [{"Name": "QueueName", "Value": name}]
            age = self.queue_ages(name) if self.queue_ages else None
            by_ns["AWS/SQS"] += [
                {"MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": qd, "Unit": "Count",
                 "Value": float(attrs.get("ApproximateNumberOfMessages", 0)), "Timestamp": now},
                {"MetricName": "ApproximateNumberOfMessagesNotVisible", "Dimensions": qd, "Unit": "Count",
                 "Value": float(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)), "Timestamp": now},
                {"MetricName": "ApproximateAgeOfOldestMessage", "Dimensions": qd, "Unit": "Seconds",
                 "Value": float(age or 0), "Timestamp": now},
            ]
        if self.executions is not None:
            counts = self.executions()
            sd = [{"Name": "StateMachineArn", "Value": self.state_machine_arn}]
            started = sum(counts.values())
            for name, value in (
                ("ExecutionsStarted", started),
                ("ExecutionsSucceeded", counts.get("SUCCEEDED", 0)),
                ("ExecutionsFailed", counts.get("FAILED", 0)),
                ("ExecutionsTimedOut", counts.get("TIMED_OUT", 0)),
                ("ExecutionsAborted", counts.get("ABORTED", 0)),
            ):
                delta = value - self._executions_seen.get(name, 0)
                self._executions_seen[name] = value
                by_ns["AWS/States"].append(
                    {"MetricName": name, "Dimensions": sd, "Value": float(max(delta, 0)), "Unit": "Count",
                     "Timestamp": now}
                )
        for namespace, datum in emf:
            by_ns[namespace].append(datum)
        return by_ns

    def emit(self) -> None:
        for namespace, datums in self.collect().items():
            for start in range(0, len(datums), 500):
                try:
                    self.cw.put_metric_data(Namespace=namespace, MetricData=datums[start : start + 500])
                    self.put_calls += 1
                except Exception:
                    log.exception("metrics stand-in: PutMetricData %s failed", namespace)

    def run(self, stop: threading.Event) -> None:
        next_at = time.monotonic() + self.period_s
        while not stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.period_s
            self.emit()
        self.emit()
