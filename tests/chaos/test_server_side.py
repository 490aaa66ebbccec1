"""The pieces that talk to AWS APIs, against moto: create-only flags, the local flag
sweeper, the AWS Scheduler backstop and the local evaluation of a stack alarm."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ecomctl.chaos import alarms, backstop, flags
from ecomctl.errors import PreconditionFailed
from ecomctl.local.flag_sweeper import FlagSweeper

PREFIX = "/ecomshop/test/chaos"


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def _names(ssm) -> set[str]:
    return {p["Name"].rsplit("/", 1)[-1] for p in ssm.get_parameters_by_path(Path=PREFIX, Recursive=True)["Parameters"]}


def _flag(run_id: str, expires: datetime) -> dict:
    return {"effect": "error", "rate": 1.0, "expires_at": _iso(expires), "run_id": run_id}


def test_flags_are_create_only_and_deleted_only_by_their_run(ssm):
    now = datetime.now(UTC)
    flags.create(ssm, f"{PREFIX}/payment.charge", _flag("run-a", now + timedelta(minutes=1)), now)
    with pytest.raises(PreconditionFailed, match="held by run-a"):
        flags.create(ssm, f"{PREFIX}/payment.charge", _flag("run-b", now + timedelta(minutes=1)), now)
    assert not flags.delete(ssm, f"{PREFIX}/payment.charge", "run-b")  # not its flag
    assert json.loads(ssm.get_parameter(Name=f"{PREFIX}/payment.charge")["Parameter"]["Value"])["run_id"] == "run-a"
    assert flags.delete(ssm, f"{PREFIX}/payment.charge", "run-a")
    assert not flags.delete(ssm, f"{PREFIX}/payment.charge", None)  # already gone: fine


def test_an_expired_flag_left_behind_does_not_block_the_next_run(ssm):
    now = datetime.now(UTC)
    flags.create(ssm, f"{PREFIX}/shipping.book", _flag("dead-run", now - timedelta(seconds=5)), now)
    flags.create(ssm, f"{PREFIX}/shipping.book", _flag("run-c", now + timedelta(minutes=1)), now)
    value = json.loads(ssm.get_parameter(Name=f"{PREFIX}/shipping.book")["Parameter"]["Value"])
    assert value["run_id"] == "run-c"


def test_provider_and_point_flags_overlap():
    assert flags.overlaps("payment", "payment.charge") and flags.overlaps("payment.charge", "payment")
    assert not flags.overlaps("payment.charge", "payment.refund")


def test_the_sweeper_deletes_expired_flags_only(ssm):
    now = datetime.now(UTC)
    ssm.put_parameter(Name=f"{PREFIX}/payment.charge", Type="String",
                      Value=json.dumps(_flag("a", now - timedelta(seconds=1))))
    ssm.put_parameter(Name=f"{PREFIX}/inventory", Type="String",
                      Value=json.dumps({"effect": "error", "expires_at": (now - timedelta(seconds=1)).timestamp()}))
    ssm.put_parameter(Name=f"{PREFIX}/shipping.book", Type="String",
                      Value=json.dumps(_flag("b", now + timedelta(minutes=5))))
    ssm.put_parameter(Name=f"{PREFIX}/payment.refund", Type="String", Value="not json")
    ssm.put_parameter(Name=f"{PREFIX}/halt", Type="String", Value=json.dumps({"expires_at": _iso(now)}))
    sweeper = FlagSweeper(ssm, PREFIX)
    gone = sweeper.sweep_once(now)
    assert {g.rsplit("/", 1)[-1] for g in gone} == {"payment.charge", "inventory"}
    assert _names(ssm) == {"shipping.book", "payment.refund", "halt"}


def test_the_sweeper_loop_removes_a_flag_within_seconds_of_expiry_and_survives_errors(ssm):
    expires = datetime.now(UTC) + timedelta(seconds=1)
    ssm.put_parameter(Name=f"{PREFIX}/payment.charge", Type="String", Value=json.dumps(_flag("a", expires)))

    class Flaky:
        """The endpoint failing on the first calls: the loop must keep going."""

        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name):
            self.calls += 1
            if self.calls <= 2:
                raise ConnectionError("endpoint restarting")
            return getattr(ssm, name)

    stop = threading.Event()
    thread = threading.Thread(target=FlagSweeper(Flaky(), PREFIX, interval_s=0.2).run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while _names(ssm) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _names(ssm)
        assert datetime.now(UTC) - expires < timedelta(seconds=3)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_aws_backstop_is_a_one_time_schedule_deleting_the_parameter():
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="us-east-1")
        at = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)
        role = "arn:aws:iam::123456789012:role/chaos-backstop"
        name = backstop.schedule_deletion(scheduler, f"{PREFIX}/payment.charge", "run-1", at, role)
        assert len(name) <= 64
        got = scheduler.get_schedule(Name=name)
        assert got["ScheduleExpression"] == "at(2026-12-02T01:00:30)"
        assert got["ScheduleExpressionTimezone"] == "UTC"
        assert got["ActionAfterCompletion"] == "DELETE"
        assert got["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:ssm:deleteParameter"
        assert json.loads(got["Target"]["Input"]) == {"Name": f"{PREFIX}/payment.charge"}
        assert backstop.cancel(scheduler, name) and not backstop.cancel(scheduler, name)


def test_an_alarm_is_evaluated_from_its_own_metric_and_threshold():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        cw.put_metric_alarm(AlarmName="ecom-test-alarm-payment-errors", Namespace="ecomshop", MetricName="Errors",
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                            ComparisonOperator="GreaterThanOrEqualToThreshold")
        alarm = cw.describe_alarms()["MetricAlarms"][0]
        now = datetime.now(UTC)
        assert not alarms.firing([alarm], cw, local=True, now=now)
        cw.put_metric_data(Namespace="ecomshop", MetricData=[{"MetricName": "Errors", "Value": 2, "Timestamp": now}])
        assert not alarms.firing([alarm], cw, local=True, now=now)
        cw.put_metric_data(Namespace="ecomshop", MetricData=[{"MetricName": "Errors", "Value": 4, "Timestamp": now}])
        fired = alarms.firing([alarm], cw, local=True, now=now)
        assert [f.name for f in fired] == ["ecom-test-alarm-payment-errors"]
        # On AWS the alarm's own state decides (moto leaves it at INSUFFICIENT_DATA / OK).
        assert not alarms.firing([alarm], cw, local=False, now=now)
