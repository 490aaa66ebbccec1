"""Alarms (the chaos experiments' stop conditions) -> SNS, and one dashboard for the game day."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from ecomshop.observability import NAMESPACE

from ..references import Registry
from .api import Api
from .data import _cid

QUEUE_AGE_ALARM = Duration.minutes(5)
LAMBDA_ERRORS_ALARM = 5  # errors in 5 minutes; handlers report partial batch failures, not errors
API_5XX_ALARM = 1
PERIOD = Duration.minutes(1)
# Business metrics the handlers emit with Powertools (EMF), dimension service=ecomshop.
BUSINESS_METRICS = ("OrdersPlaced", "OrdersCompleted", "OrdersCancelled")
BREAKER_METRICS = ("BreakerOpened", "ChaosInjected", "PaymentRetries")


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry, api: Api,
                 topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        action = cw_actions.SnsAction(topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(cid: str, name: str, metric: cw.IMetric, threshold: float, description: str,
                  periods: int = 1) -> None:
            a = cw.Alarm(self, cid, alarm_name=topo.name(f"alarm-{name}"), metric=metric,
                         threshold=threshold, evaluation_periods=periods, datapoints_to_alarm=periods,
                         comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=description)
            a.add_alarm_action(action)
            a.add_ok_action(action)
            self.alarms.append(a)

        dlqs, queues = [], []
        for q in topo.queues:
            dlq_logical = topo.dlq(q.logical)
            dlq = registry.queues[dlq_logical]
            depth = dlq.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
            dlqs.append(depth)
            alarm(f"{_cid(dlq_logical)}Depth", f"{dlq_logical}-depth", depth, 1,
                  f"A message was dead-lettered from {q.logical}: something was lost or poisoned")
            queue = registry.queues[q.logical]
            age = queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
            queues.append(queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"))
            alarm(f"{_cid(q.logical)}Age", f"{q.logical}-age", age, QUEUE_AGE_ALARM.to_seconds(),
                  f"{q.logical} has a message older than {QUEUE_AGE_ALARM.to_minutes()} min: consumer stalled",
                  periods=2)

        errors, durations = [], []
        for fn in topo.functions:
            function = registry.functions[fn.logical]
            err = function.metric_errors(period=Duration.minutes(5), statistic="Sum")
            errors.append(function.metric_errors(period=PERIOD, statistic="Sum"))
            durations.append(function.metric_duration(period=PERIOD, statistic="p99"))
            alarm(f"{_cid(fn.logical)}Errors", f"{fn.logical}-errors", err, LAMBDA_ERRORS_ALARM,
                  f"Lambda {fn.logical} failed {LAMBDA_ERRORS_ALARM}+ times in 5 minutes")

        rest = api.api
        alarm("Api5xx", "api-5xx", rest.metric_server_error(period=PERIOD, statistic="Sum"), API_5XX_ALARM,
              "The order API answered 5xx")
        saga = registry.state_machines["saga"]
        alarm("SagaFailed", "saga-failed", saga.metric_failed(period=PERIOD, statistic="Sum"), 1,
              "A saga execution failed (a compensation gave up: an order needs a human)")
        alarm("SagaTimedOut", "saga-timed-out", saga.metric_timed_out(period=PERIOD, statistic="Sum"), 1,
              "A saga execution timed out")

        def business(name: str) -> cw.Metric:
            return cw.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map={"service": "ecomshop"},
                             statistic="Sum", period=PERIOD)

        w, h = 8, 6
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=topo.name("gameday"),
                                      default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.TextWidget(markdown=f"# ecomshop {topo.stage}: business", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Orders placed / completed / cancelled",
                           left=[business(m) for m in BUSINESS_METRICS], width=w, height=h),
            cw.GraphWidget(title="Breaker opened / chaos injected / payment retries",
                           left=[business(m) for m in BREAKER_METRICS], width=w, height=h),
            cw.GraphWidget(title="Saga executions",
                           left=[saga.metric_started(period=PERIOD), saga.metric_succeeded(period=PERIOD),
                                 saga.metric_failed(period=PERIOD), saga.metric_timed_out(period=PERIOD)],
                           width=w, height=h),
        )
        self.dashboard.add_widgets(
            cw.TextWidget(markdown=f"# ecomshop {topo.stage}: system", width=24, height=1))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Queue depth", left=queues, width=w, height=h),
            cw.GraphWidget(title="Queue age of oldest message (s)",
                           left=[registry.queues[q.logical].metric_approximate_age_of_oldest_message(
                               period=PERIOD, statistic="Maximum") for q in topo.queues], width=w, height=h),
            cw.GraphWidget(title="DLQ depth", left=dlqs, width=w, height=h),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda errors", left=errors, width=w, height=h),
            cw.GraphWidget(title="Lambda duration p99 (ms)", left=durations, width=w, height=h),
            cw.GraphWidget(title="API 4xx / 5xx",
                           left=[rest.metric_client_error(period=PERIOD, statistic="Sum"),
                                 rest.metric_server_error(period=PERIOD, statistic="Sum")],
                           right=[rest.metric_latency(period=PERIOD, statistic="p99")], width=w, height=h),
        )
        self.dashboard.add_widgets(cw.AlarmStatusWidget(title="Stop conditions", alarms=self.alarms,
                                                        width=24, height=6))
