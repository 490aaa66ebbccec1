"""Observe's computations on given data: per-service latency from segments, the service graph, reconciliation."""

from __future__ import annotations

import pytest

from ecomctl.observe.reconcile import classify
from ecomctl.observe.xray import from_segments, from_service_graph, quantile


def _segment(name, start, end, **extra):
    return {"name": name, "id": name[:4], "start_time": start, "end_time": end,
            "origin": "AWS::Lambda::Function", **extra}


def test_per_service_latency_and_flags_come_from_the_segments():
    traces = {
        "t1": [_segment("api", 0.0, 0.100, subsegments=[{"name": "DynamoDB", "namespace": "aws",
                                                          "start_time": 0.01, "end_time": 0.03}])],
        "t2": [_segment("api", 1.0, 1.300, fault=True), _segment("payment", 1.1, 1.2)],
        # "fault": false is no fault (moto's summaries count the key); a streamed subsegment is no service.
        "t3": [_segment("payment", 2.0, 2.05, fault=False, error=True),
               {"name": "## handler", "type": "subsegment", "start_time": 2.0, "end_time": 2.04}],
    }
    summary = from_segments(traces)
    rows = {s.name: s for s in summary.services}
    assert set(rows) == {"api", "payment", "DynamoDB"}
    assert rows["api"].count == 2 and rows["api"].p99_ms == pytest.approx(300.0)
    assert rows["DynamoDB"].type == "AWS::DynamoDB" and rows["DynamoDB"].p50_ms == pytest.approx(20.0)
    assert (summary.traces, summary.faults, summary.errors) == (3, 1, 1)
    assert summary.slowest[0].trace_id == "t2" and summary.slowest[0].path == ["api", "payment"]


def test_service_graph_histograms_give_weighted_quantiles():
    graph = [{"Name": "ecom-dev-api", "Type": "AWS::Lambda::Function",
              "SummaryStatistics": {"TotalCount": 100, "FaultStatistics": {"TotalCount": 2},
                                    "ErrorStatistics": {"ThrottleCount": 1, "OtherCount": 3}},
              "ResponseTimeHistogram": [{"Value": 0.05, "Count": 90}, {"Value": 0.5, "Count": 9},
                                        {"Value": 2.0, "Count": 1}]}]
    row = from_service_graph(graph)[0]
    assert (row.p50_ms, row.p95_ms, row.p99_ms) == (50.0, 500.0, 500.0)
    assert (row.count, row.faults, row.errors, row.throttles) == (100, 2, 3, 1)


def test_quantile_of_nothing_is_zero():
    assert quantile([], 0.99) == 0.0


def test_every_accepted_order_lands_in_exactly_one_class():
    orders = {"o1": "good", "o2": "declined", "o3": "good", "o4": "good", "o5": "out_of_stock", "o6": "good"}
    found = {"o1": {"status": "COMPLETED", "reason": None},
             "o2": {"status": "CANCELLED", "reason": "card declined"},
             "o3": {"status": "PAID", "reason": None},
             "o4": {"status": "SHIPPING_ON_HOLD", "reason": None},
             "o6": {"status": "CANCELLED", "reason": "out of stock: SKU-0404"}}
    rec = classify(orders, found, {"o4": "shipping-dlq"})
    assert rec.completed == 1
    assert rec.cancelled == {"card declined": 1, "out of stock: SKU-0404": 1}
    assert rec.in_flight == {"PAID": 1}
    assert rec.dead_lettered == {"shipping-dlq": 1}
    assert rec.lost_ids == ["o5"]
    assert rec.accounted() == rec.accepted == 6
    assert rec.unexpected == {"good->CANCELLED": 1}
    assert rec.to_json()["lost"] == 1


def test_notification_latency_is_measured_from_the_transition_it_reports():
    from ecomctl.observe.notify import latency
    from ecomctl.observe.xray import notifications

    sns = {"name": "SNS", "namespace": "aws", "start_time": 1_800_000_040.0, "end_time": 1_800_000_041.0}
    handler = {"name": "## handler", "annotations": {"order_id": "o1", "transition_at": "2027-01-15T08:00:39.500Z"},
               "subsegments": [sns]}
    traces = {
        "one": [{"name": "notifier", "start_time": 1_800_000_040.0, "end_time": 1_800_000_041.5,
                 "subsegments": [handler]}],
        # no transition annotation: measured from the order's placement, an upper bound
        "old": [{"name": "notifier", "start_time": 1.0, "end_time": 2.0, "annotations": {"order_id": "o4"},
                 "subsegments": [sns]}],
        # a batch of two orders in one invocation: its publishes cannot be told apart
        "batch": [{"name": "notifier", "start_time": 1.0, "end_time": 2.0, "annotations": {"order_id": "o2"},
                   "subsegments": [{"name": "x", "annotations": {"order_id": "o3"}}, sns]}],
        # two publishes about one order: the annotation holds only the last transition
        "two": [{"name": "notifier", "start_time": 1.0, "end_time": 2.0, "annotations": {"order_id": "o5"},
                 "subsegments": [sns, sns]}],
    }
    samples = notifications(traces)
    assert sorted(samples) == [("o1", "2027-01-15T08:00:39.500Z", 1_800_000_041.0, "sns"),
                               ("o4", None, 1_800_000_041.0, "sns")]
    placed = {"o1": "2027-01-15T08:00:00.000Z", "o4": "2027-01-15T08:00:00.000Z"}  # 1_800_000_000 epoch
    result = latency(samples, placed)
    # o1: 1.5 s after its transition (not 41 s after it was placed); o4: 41 s after placement
    assert (result.samples, result.p50_s, result.max_s, result.over_limit) == (2, 1.5, 41.0, 1)
    # A traced e-mail beside the SNS message is a sample of its own channel.
    ses = {"name": "email", "namespace": "aws", "start_time": 1_800_000_041.0, "end_time": 1_800_000_042.0}
    handler["subsegments"] = [sns, ses]
    both = latency(notifications({"one": traces["one"]}), {})
    assert both.samples == 2 and set(both.channels) == {"sns", "e-mail"}
    assert both.channels["e-mail"]["max_s"] == 2.5 and both.channels["sns"]["max_s"] == 1.5
    assert latency([], {}).samples == 0
