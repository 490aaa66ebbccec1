"""Lambda functions from the topology: one shared Docker-free asset, the Powertools layer.

Functions are created before their environment is filled in: the saga needs function
ARNs, and the saga starter needs the saga's ARN, so `wire()` runs once everything exists.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from ecomshop.observability import NAMESPACE

from ..config import LOG_RETENTION_DAYS, POWERTOOLS_ACCOUNT, InfraOptions
from ..references import Registry
from .data import _cid

RUNTIMES = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13,
            "3.14": lambda_.Runtime.PYTHON_3_14}
LOG_RETENTION = logs.RetentionDays.ONE_WEEK
assert LOG_RETENTION_DAYS == 7  # keep the constant and the enum in step


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry, options: InfraOptions) -> None:
        super().__init__(scope, construct_id)
        self.registry = registry
        topo = registry.topology
        runtime = RUNTIMES[options.python_version]
        py = options.python_version.replace(".", "")
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools",
            f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-python{py}-x86_64:{options.powertools_layer_version}",
        )
        # One asset for every function: one hash, one upload. Only the platform ships.
        code = lambda_.Code.from_asset(options.lambda_asset, exclude=["**/__pycache__", "**/*.pyc"])
        for fn in topo.functions:
            name = topo.name(fn.logical)
            log_group = logs.LogGroup(
                self, f"{_cid(fn.logical)}Logs", log_group_name=f"/aws/lambda/{name}",
                retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY,
            )
            registry.functions[fn.logical] = lambda_.Function(
                self, _cid(fn.logical),
                function_name=name,
                description=fn.description or fn.logical,
                runtime=runtime,
                architecture=lambda_.Architecture.X86_64,
                handler=fn.handler,
                code=code,
                layers=[layer],
                timeout=Duration.seconds(fn.timeout_s),
                memory_size=fn.memory_mb,
                reserved_concurrent_executions=fn.reserved_concurrency,
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                environment={
                    "POWERTOOLS_SERVICE_NAME": fn.logical,
                    "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                },
            )

    def wire(self) -> None:
        """Environment from references, IAM from grants, SQS event sources from triggers."""
        reg = self.registry
        topo = reg.topology
        for fn in topo.functions:
            function = reg.functions[fn.logical]
            for key, ref in sorted(fn.environment.items()):
                function.add_environment(key, reg.resolve(ref))
            for grant in fn.grants:
                reg.grant(function, grant)
            kind, _, queue_logical = (fn.trigger or "").partition(":")
            if kind == "queue":
                q = topo.queue(queue_logical)
                function.add_event_source(sources.SqsEventSource(
                    reg.queues[queue_logical],
                    batch_size=q.batch_size,
                    max_batching_window=Duration.seconds(q.batching_window_s) if q.batching_window_s else None,
                    report_batch_item_failures=True,
                    max_concurrency=q.max_concurrency,
                ))
