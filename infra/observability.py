"""Observability: saga lifecycle events, the saga-instances table, metrics, a dashboard, alarms.

One lifecycle function per stack (``sagakit.runtime.lifecycle.handler``) listens to:

* Step Functions' "Execution Status Change" events for the stack's state machines, on the
  account's default bus (where AWS puts them), to derive SagaStarted / Completed / Failed /
  CompensationFailed without adding a state to any saga;
* the step wrapper's SagaStepCompleted / SagaStepCompensated on the saga bus.

It keeps ``<prefix>-saga-instances`` current (``saga status``, ``saga list``) and emits EMF
metrics (namespace ``Sagas``, dimension ``saga``) that the dashboard and alarms read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import nag
from infra.config import StageConfig
from infra.services import LambdaSettings, saga_table
from sagakit.constructs import dead_letter_queue, lifecycle_metric, threshold_alarm
from sagakit.definition import Saga

__all__ = ["INSTANCES_KEY", "STATUS_INDEX", "SagaObservability"]

INSTANCES_KEY = "sagaId"
STATUS_INDEX = "byStatus"
STATUS_CHANGE = "Step Functions Execution Status Change"


EXECUTION_HISTORY = nag.Finding(
    "AwsSolutions-IAM5",
    "states:GetExecutionHistory on the executions of this stack's own state machines only: an "
    "execution ARN ends in the execution name, which is the saga id and unknown at deploy time.",
)


def _nag_execution_arn(stack: Stack, machine: sfn.StateMachine) -> str:
    """How cdk-nag spells the execution ARN pattern of ``machine`` in its finding id."""
    cfn = machine.node.default_child
    assert isinstance(cfn, sfn.CfnStateMachine)
    logical = stack.resolve(cfn.logical_id)
    return f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<{logical}.Name>:*"


class SagaObservability(Construct):
    """Lifecycle function, instances table, dashboard and alarms for ``sagas``.

    Attributes
    ----------
    instances:
        The saga-instances table: key ``sagaId``, index ``byStatus`` (status, startedAt).
    lifecycle:
        The lifecycle function.
    alarms:
        Alarm per ``<saga>:<what>``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        settings: LambdaSettings,
        bus: events.IEventBus,
        sagas: list[Saga],
        machines: Mapping[str, sfn.StateMachine],
        dead_letters: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.instances = saga_table(self, "Instances", config=config, name="saga-instances", key=INSTANCES_KEY)
        self.instances.add_global_secondary_index(
            index_name=STATUS_INDEX,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="startedAt", type=dynamodb.AttributeType.STRING),
        )
        compensations = {
            saga.name: sorted({c.name for element in saga.steps for c in element.compensations()}) for saga in sagas
        }
        self.lifecycle = settings.function(
            self,
            "Lifecycle",
            name="saga-lifecycle",
            handler="sagakit.runtime.lifecycle.handler",
            code=settings.code(["sagakit/runtime", "events"]),
            service="saga-lifecycle",
            description="Saga lifecycle events, the instances table and saga metrics",
            environment={
                "SAGA_EVENT_BUS_NAME": bus.event_bus_name,
                "SAGA_INSTANCES_TABLE": self.instances.table_name,
                "SAGA_COMPENSATIONS": json.dumps(compensations, sort_keys=True),
            },
            findings=[nag.ASYNC_FAILURES_TO_DESTINATION],
        )
        # Exactly what lifecycle.py calls: UpdateItem on the instances table, PutEvents on the
        # saga bus, GetExecutionHistory on this stack's executions (to classify a failure).
        iam.Grant.add_to_principal(
            grantee=self.lifecycle, actions=["dynamodb:UpdateItem"], resource_arns=[self.instances.table_arn]
        )
        bus.grant_put_events_to(self.lifecycle)
        stack = Stack.of(self)
        execution_arns = [
            stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{machine.state_machine_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for machine in machines.values()
        ]
        iam.Grant.add_to_principal(
            grantee=self.lifecycle, actions=["states:GetExecutionHistory"], resource_arns=execution_arns
        )
        nag.acknowledge(
            self.lifecycle.role or self.lifecycle,
            *(EXECUTION_HISTORY.about(f"Resource::{_nag_execution_arn(stack, m)}") for m in machines.values()),
        )
        # Lifecycle events must not be lost either: what EventBridge cannot deliver, and what the
        # function still fails on after Lambda's asynchronous retries, waits here.
        self.dead_letters = dead_letter_queue(self, "DeadLetterQueue", queue_name=f"{config.prefix}-saga-lifecycle-dlq")
        nag.acknowledge(self.dead_letters, nag.NOT_A_REDRIVE_DLQ, nag.DLQ_HAS_NO_DLQ)
        lambda_.EventInvokeConfig(
            self,
            "LifecycleInvokeConfig",
            function=self.lifecycle,
            retry_attempts=2,
            on_failure=destinations.SqsDestination(self.dead_letters),
        )
        target = targets.LambdaFunction(
            self.lifecycle,
            dead_letter_queue=self.dead_letters,
            retry_attempts=185,
            max_event_age=Duration.hours(24),
        )

        events.Rule(
            self,
            "StatusChanges",
            rule_name=f"{config.prefix}-saga-status-changes",
            description="Step Functions execution status changes of this stack's sagas",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[STATUS_CHANGE],
                detail={"stateMachineArn": [m.state_machine_arn for m in machines.values()]},
            ),
            targets=[target],
        )
        events.Rule(
            self,
            "StepEvents",
            rule_name=f"{config.prefix}-saga-step-events",
            event_bus=bus,
            description="Step and compensation events published by the step wrapper",
            event_pattern=events.EventPattern(
                source=["sagakit"], detail_type=["SagaStepCompleted", "SagaStepCompensated"]
            ),
            targets=[target],
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._period = Duration.minutes(5)  # one value for every metric (a jsii round trip each)
        widgets: list[cloudwatch.IWidget] = []
        for saga in sagas:
            widgets.extend(self._saga_widgets_and_alarms(config, saga, machines[saga.name], dead_letters[saga.name]))
        cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-sagas", widgets=[widgets])

    def _metric(self, name: str, saga: Saga, statistic: str = "Sum") -> cloudwatch.Metric:
        return lifecycle_metric(saga.name, name, self._period, statistic)

    def _saga_widgets_and_alarms(
        self, config: StageConfig, saga: Saga, machine: sfn.StateMachine, dead_letters: sqs.IQueue
    ) -> list[cloudwatch.IWidget]:
        started, completed = self._metric("SagaStarted", saga), self._metric("SagaCompleted", saga)
        failed, comp_failed = self._metric("SagaFailed", saga), self._metric("SagaCompensationFailed", saga)
        duration = self._metric("SagaDuration", saga, statistic="p95")
        timed_out = machine.metric_timed_out(period=self._period)
        depth = dead_letters.metric_approximate_number_of_messages_visible(period=self._period)

        def alarm(what: str, metric: cloudwatch.IMetric, threshold: int, description: str) -> None:
            self.alarms[f"{saga.name}:{what}"] = threshold_alarm(
                self,
                f"{saga.name}{what}Alarm",
                alarm_name=f"{config.prefix}-{saga.name}-{what}",
                description=description,
                metric=metric,
                threshold=threshold,
            )

        # The failure alarm itself is the stack's (ExecutionsFailed of the machine and its alias).
        alarm(
            "CompensationFailed",
            comp_failed,
            1,
            f"{saga.name}: a compensation kept failing; the saga is parked, fix the cause and `saga redrive` it",
        )
        alarm("PastDeadline", timed_out, 1, f"{saga.name}: a saga ran longer than its deadline")
        alarm("DeadLetters", depth, 1, f"{saga.name}: events that could not start a saga wait in the DLQ")
        return [
            cloudwatch.GraphWidget(
                title=f"{saga.name}: sagas",
                left=[started, completed, failed, comp_failed],
                width=12,
            ),
            cloudwatch.GraphWidget(title=f"{saga.name}: duration p95 (ms)", left=[duration], width=6),
            cloudwatch.SingleValueWidget(title=f"{saga.name}: DLQ depth", metrics=[depth], width=6),
        ]
