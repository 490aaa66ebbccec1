"""The order saga from the checked-in ASL file: substitutions are the topology's references."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..references import Registry
from .compute import LOG_RETENTION


class Saga(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        saga = topo.saga
        name = topo.name(saga.logical)
        log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/vendedlogs/states/{name}",
                                  retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(saga.definition_file)),
            definition_substitutions={k: registry.resolve(ref) for k, ref in saga.substitutions.items()},
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        registry.state_machines["saga"] = self.state_machine
        # The ASL's resources are exactly its substitutions: invoke those functions, send to
        # those queues (sqs:sendMessage.waitForTaskToken), nothing else.
        for ref in saga.substitutions.values():
            kind, _, rest = ref.partition(":")
            logical = rest.split(":")[0]
            if kind == "function":
                registry.functions[logical].grant_invoke(self.state_machine)
            elif kind == "queue":
                registry.queues[logical].grant_send_messages(self.state_machine)
            else:
                raise ValueError(f"saga substitution {ref!r}: no permission rule for {kind!r}")
