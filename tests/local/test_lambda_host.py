"""Concurrent invocations in one process keep what Lambda keeps per execution environment."""

from __future__ import annotations

import contextlib
import io
import json
import threading

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ecomctl.local.lambda_bridge import isolate_powertools_metrics


def test_each_invocation_thread_flushes_only_its_own_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    isolate_powertools_metrics()
    metrics = Metrics(namespace="Test", service="svc")
    both_added = threading.Barrier(2)
    a_flushed = threading.Event()
    out = io.StringIO()
    errors: list[BaseException] = []

    def invocation(name: str) -> None:
        try:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
            metrics.add_dimension(name="fn", value=name)
            both_added.wait(timeout=5)
            if name == "B":
                a_flushed.wait(timeout=5)  # A flushes (and clears) first: B's metric must survive it
            metrics.flush_metrics()
            if name == "A":
                a_flushed.set()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with contextlib.redirect_stdout(out):
        threads = [threading.Thread(target=invocation, args=(n,)) for n in ("A", "B")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    assert errors == []
    blobs = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    emitted = {b["fn"]: [m["Name"] for m in b["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for b in blobs}
    assert emitted == {"A": ["A"], "B": ["B"]}
    assert all(b["service"] == "svc" for b in blobs)
