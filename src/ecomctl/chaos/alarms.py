"""Stop conditions from the stack's CloudWatch alarms.

On AWS an alarm's own ``StateValue`` decides. moto stores alarms but never evaluates
them, so on the local target the tool evaluates each alarm itself: it reads the alarm's
metric with its statistic and period through GetMetricData over its evaluation periods
and compares the datapoints with its threshold (missing data is not breaching).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class AlarmReading:
    name: str
    in_alarm: bool
    detail: str


def evaluate_locally(cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> AlarmReading:
    name = alarm["AlarmName"]
    compare = _COMPARE.get(alarm.get("ComparisonOperator", ""))
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    if compare is None or "MetricName" not in alarm or stat is None:
        return AlarmReading(name, alarm.get("StateValue") == "ALARM", "not evaluable locally; stored state")
    period = int(alarm.get("Period", 60))
    periods = int(alarm.get("EvaluationPeriods", 1))
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    metric = {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
              "Dimensions": alarm.get("Dimensions", [])}
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": metric, "Period": period, "Stat": stat},
                            "ReturnData": True}],
        StartTime=now - timedelta(seconds=period * periods), EndTime=now + timedelta(seconds=1))
    values = [float(v) for r in answer.get("MetricDataResults", []) for v in r.get("Values", [])]
    breaching = [v for v in values if compare(v, float(alarm["Threshold"]))]
    in_alarm = len(breaching) >= needed
    return AlarmReading(name, in_alarm, f"{alarm['MetricName']} {stat} {values} vs "
                                        f"{alarm['ComparisonOperator']} {alarm['Threshold']}")


def firing(alarms: list[dict[str, Any]], cloudwatch: Any, local: bool, now: datetime) -> list[AlarmReading]:
    """The alarms in ALARM now (evaluated by the tool on the local target)."""
    readings = []
    for alarm in alarms:
        if local:
            readings.append(evaluate_locally(cloudwatch, alarm, now))
        else:
            readings.append(AlarmReading(alarm["AlarmName"], alarm.get("StateValue") == "ALARM",
                                         str(alarm.get("StateReason", ""))[:200]))
    return [r for r in readings if r.in_alarm]
