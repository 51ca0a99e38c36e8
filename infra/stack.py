"""The stack: an event bus, the services, and for every saga a starter, a rule, a state machine
(started on its alias) and an alarm on failed sagas.

Grants are made here, where the pieces meet, and each is exact: a function may use its own
service's table with the data-access layer's actions, only publishing commands may put events
on the bus, the starter may start only its saga's alias, and the state machine may invoke only
its saga's functions (tests/infra/test_least_privilege.py walks every policy).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Aws, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from events import contract
from infra import nag
from infra.config import StageConfig
from infra.observability import SagaObservability
from infra.reliability import SagaReliability
from infra.services import (
    SERVICE_EXTRAS,
    TABLE_ACTIONS,
    LambdaSettings,
    ServiceExtras,
    ServiceResources,
    pascal,
    retention,
)
from sagakit.choreography import SagaChoreography
from sagakit.compiler import SagaStateMachine
from sagakit.constructs import dead_letter_queue, threshold_alarm
from sagakit.definition import Command, Saga, SagaStyle

__all__ = ["RESOURCE_QUOTA", "RESOURCE_WARNING", "DeployedSaga", "SagaStack"]

POWERTOOLS_ACCOUNT = "017000801446"
#: CloudFormation's quota of resources per stack (AWS docs, "CloudFormation quotas"); CDK fails
#: the synthesis of a larger stack unless the context ``@aws-cdk/core:stackResourceLimit`` lifts it.
RESOURCE_QUOTA = 500
#: Past this many resources the stack warns at synth, while there is still room to act.
RESOURCE_WARNING = 450


@dataclass(frozen=True)
class DeployedSaga:
    """The resources of one saga: its state machine, its starter, its dead-letter queue and the
    alarm on its failed executions."""

    machine: SagaStateMachine
    starter: lambda_.Function
    dead_letters: sqs.Queue
    failures: cloudwatch.Alarm


class SagaStack(Stack):
    """Everything one stage needs to run ``sagas``.

    Attributes
    ----------
    bus:
        The custom event bus that carries triggers and lifecycle events.
    services:
        ``ServiceResources`` per service name.
    deployed:
        ``DeployedSaga`` per saga name.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, sagas: list[Saga], **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        # An explicit name: the rule refers to the bus by name (see ENVIRONMENT.md on moto's
        # CloudFormation and Ref to an event bus).
        self.bus = events.EventBus(self, "EventBus", event_bus_name=f"{config.prefix}-bus")
        # Read once: every read of a construct's attribute is a jsii round trip to Node.
        bus_name = self.bus.event_bus_name

        layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:"
            f"{config.powertools_layer}:{config.powertools_layer_version}",
        )
        settings = LambdaSettings(config=config, layer=layer, runtime=_runtime(config.runtime))

        commands: dict[str, dict[str, Command]] = {}
        for saga in sagas:
            for command in saga.commands():
                commands.setdefault(command.service, {})[command.name] = command
        for service, extras in SERVICE_EXTRAS.items():
            for command in extras.commands:
                commands.setdefault(service, {})[command.name] = command

        self.services: dict[str, ServiceResources] = {}
        for service in sorted(commands):
            extras = SERVICE_EXTRAS.get(service, ServiceExtras())
            # Every step and compensation publishes its lifecycle event (SagaStepCompleted /
            # SagaStepCompensated, and the choreography's next event) on the saga bus.
            environment = {**extras.environment, "SAGA_EVENT_BUS_NAME": bus_name}
            if service == "notifications":
                environment["SENDER_ADDRESS"] = config.sender_address
            resources = ServiceResources(
                self,
                pascal(service),
                service=service,
                commands=commands[service].values(),
                settings=settings,
                environment=environment,
            )
            table_arn = resources.table.table_arn
            for name, function in resources.functions.items():
                _grant_table(table_arn, function)
                if name in extras.publishers:  # the bus name for domain events (ClientOnboarded)
                    function.add_environment("EVENT_BUS_NAME", bus_name)
                self.bus.grant_put_events_to(function)  # lifecycle events, and domain events if any
            self.services[service] = resources

        self.deployed: dict[str, DeployedSaga] = {}
        # Every step and compensation runs under Powertools idempotency (infra/reliability.py).
        self.reliability = SagaReliability(self, "Reliability", config=config)
        for saga in sagas:
            if saga.style is SagaStyle.ORCHESTRATION:  # a choreographed saga has no state machine (below)
                self._add_saga(saga, settings, removal)
            self.reliability.make_idempotent(self.services[c.service].functions[c.name] for c in saga.commands())

        self.observability = SagaObservability(
            self,
            "Observability",
            config=config,
            settings=settings,
            bus=self.bus,
            sagas=[saga for saga in sagas if saga.name in self.deployed],
            machines={name: deployed.machine.state_machine for name, deployed in self.deployed.items()},
            dead_letters={name: deployed.dead_letters for name, deployed in self.deployed.items()},
        )
        # Choreographed sagas: EventBridge rules between the same functions (sagakit/choreography.py).
        # A choreography sets the functions' environment and grants; its rules invoke what the
        # state machines invoke: $LATEST, or with StageConfig.snap_start the alias "live".
        functions = {name: fn for service in self.services.values() for name, fn in service.functions.items()}
        invoked = {name: fn for service in self.services.values() for name, fn in service.invoked.items()}
        self.choreographies = {
            saga.name: SagaChoreography(
                self,
                saga.name,
                saga=saga,
                functions=functions,
                bus=self.bus,
                instances=self.observability.instances,
                lifecycle=self.observability.lifecycle,
                prefix=config.prefix,
                failures_threshold=config.alarm_failures_threshold,
                invoked=invoked,
            )
            for saga in sagas
            if saga.style is SagaStyle.CHOREOGRAPHY
        }
        for choreography in self.choreographies.values():
            nag.acknowledge(choreography.dead_letters, nag.NOT_A_REDRIVE_DLQ, nag.DLQ_HAS_NO_DLQ)
        self._warn_near_the_resource_quota(sagas)

    def _warn_near_the_resource_quota(self, sagas: list[Saga]) -> None:
        """A synth warning (``cdk synth --strict`` fails on it) once the stack passes
        ``RESOURCE_WARNING`` resources, naming what grows it and what to do."""
        found = [construct for construct in self.node.find_all() if isinstance(construct, CfnResource)]
        resources = len(found)
        if resources <= RESOURCE_WARNING:
            return
        functions = sum(1 for resource in found if isinstance(resource, lambda_.CfnFunction))
        Annotations.of(self).add_warning_v2(
            "sagakit:resourceQuota",
            f"{resources} resources for {len(sagas)} sagas and {functions} functions: CloudFormation allows "
            f"{RESOURCE_QUOTA} per stack. Each command brings a function with its role, policy and log "
            "group (4 resources; 6 with SnapStart's version and alias), each orchestrated saga about 20 "
            "more (state machine, version, alias, starter, queue, rule, alarms). Let sagas share commands "
            "that do the same thing, or move sagas to a stack of their own: one SagaStack per group of "
            "sagas needs a prefix of its own "
            "(physical names) and the offline runtime deploys one stack today.",
        )

    def _add_saga(self, saga: Saga, settings: LambdaSettings, removal: RemovalPolicy) -> None:
        functions = {command.name: self.services[command.service].invoked[command.name] for command in saga.commands()}
        machine = SagaStateMachine(
            self,
            saga.name,
            saga=saga,
            functions=functions,
            state_machine_name=f"{self.config.prefix}-{saga.name}",
            log_retention=retention(self.config.log_retention_days),
            removal_policy=removal,
        )
        nag.acknowledge(
            machine.state_machine.role,
            nag.STATE_MACHINE_DELIVERY_AND_TRACES,
            *(nag.invoke_qualified(fn) for fn in functions.values() if isinstance(fn, lambda_.Function)),
        )

        dead_letters = dead_letter_queue(machine, "DeadLetterQueue", queue_name=f"{self.config.prefix}-{saga.name}-dlq")
        nag.acknowledge(dead_letters, nag.NOT_A_REDRIVE_DLQ, nag.DLQ_HAS_NO_DLQ)
        trigger = contract(saga.trigger)
        starter = settings.function(
            machine,
            "Starter",
            name=f"{saga.name}-starter",
            handler="sagakit.runtime.starter.handler",
            code=settings.code(["sagakit/runtime", "events"]),
            service="saga-starter",
            description=f"Starts {saga.name}, named by saga id, from {saga.trigger}",
            environment={
                "SAGA_NAME": saga.name,
                "SAGA_VERSION": saga.version,
                "SAGA_TRIGGER": saga.trigger,
                "SAGA_ID_TEMPLATE": saga.saga_id or "",
                # The alias, not the state machine: executions run the published version.
                "STATE_MACHINE_ARN": machine.alias_arn,
                "DEAD_LETTER_QUEUE_URL": dead_letters.queue_url,
            },
            findings=[nag.ASYNC_FAILURES_TO_DESTINATION],
        )
        # An alias ARN in the policy allows starting executions on that alias only (Step
        # Functions docs, "IAM permissions for versions and aliases").
        iam.Grant.add_to_principal(
            grantee=starter, actions=["states:StartExecution"], resource_arns=[machine.alias_arn]
        )
        dead_letters.grant_send_messages(starter)
        # Async invocations that still fail after Lambda's own retries are kept, not dropped.
        lambda_.EventInvokeConfig(
            machine,
            "StarterInvokeConfig",
            function=starter,
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(dead_letters),
        )
        failures = self._failure_alarm(saga, machine)
        self.deployed[saga.name] = DeployedSaga(
            machine=machine, starter=starter, dead_letters=dead_letters, failures=failures
        )
        events.Rule(
            machine,
            "Trigger",
            rule_name=f"{self.config.prefix}-{saga.name}-trigger",
            event_bus=self.bus,
            description=f"{trigger.source} {saga.trigger} starts {saga.name}",
            event_pattern=events.EventPattern(source=[trigger.source], detail_type=[saga.trigger]),
            targets=[
                targets.LambdaFunction(
                    starter,
                    dead_letter_queue=dead_letters,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

    def _failure_alarm(self, saga: Saga, machine: SagaStateMachine) -> cloudwatch.Alarm:
        """An alarm when ``alarm_failures_threshold`` sagas fail within 5 minutes.

        Executions start on the alias; whether Step Functions also counts them under the
        unqualified state machine's ``StateMachineArn`` dimension is not verified here, so the
        alarm takes the larger of the two series: right whether they are counted once or twice.
        """
        period = Duration.minutes(5)
        failed = {
            "machine": machine.state_machine.metric_failed(period=period, statistic="Sum"),
            "alias": cloudwatch.Metric(
                namespace="AWS/States",
                metric_name="ExecutionsFailed",
                dimensions_map={"StateMachineArn": machine.alias_arn},
                period=period,
                statistic="Sum",
            ),
        }
        alarm = threshold_alarm(
            machine,
            "FailuresAlarm",
            alarm_name=f"{self.config.prefix}-{saga.name}-failures",
            description=(
                f"{saga.name}: {self.config.alarm_failures_threshold} or more sagas failed (compensated, "
                "timed out or stuck in a compensation) within 5 minutes"
            ),
            metric=cloudwatch.MathExpression(
                expression="MAX([FILL(machine, 0), FILL(alias, 0)])",
                using_metrics=failed,
                period=period,
                label=f"{saga.name} failed executions",
            ),
            threshold=self.config.alarm_failures_threshold,
        )
        if self.config.alarm_topic_arn:
            topic = sns.Topic.from_topic_arn(machine, "OnCall", self.config.alarm_topic_arn)
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm


def _runtime(name: str) -> lambda_.Runtime:
    """The CDK ``Runtime`` called ``name``; an error names the Python runtimes CDK knows."""
    known = {runtime.name: runtime for runtime in lambda_.Runtime.ALL if runtime.name.startswith("python3")}
    try:
        return known[name]
    except KeyError:
        raise ValueError(
            f"runtime: {name!r} is not a Python runtime CDK knows; use one of {', '.join(known)}"
        ) from None


def _grant_table(table_arn: str, function: lambda_.IFunction) -> None:
    """Exactly the data-access layer's actions on the table ``table_arn`` (not
    ``grant_read_write_data``, which adds batch, query, scan and update actions the services
    never use)."""
    iam.Grant.add_to_principal(grantee=function, actions=list(TABLE_ACTIONS), resource_arns=[table_arn])
