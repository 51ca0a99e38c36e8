"""Choreography, the deploy side: the same ``Saga`` definition compiled into EventBridge rules
between the same Lambda functions an orchestrated saga uses, with no state machine.

For ``A -> B -> C`` (the onboarding saga: CreateWorkspace, SetupBilling, SendWelcomeEmail)::

    Trigger ------------------------------------------------> A (first step: starts the saga)
    A's success event (WorkspaceCreated) ---------------------> B
    B's success event (BillingProfileCreated) ----------------> C
    C's success event (NotificationSent) ---------------------> lifecycle: COMPLETED, SagaCompleted
    SagaStepFailed of B, a business error (BillingDeclined) --> on_failure(B)
    SagaStepFailed of B, any other error (uncertain) ---------> undo(B)
    undo(B)'s event (BillingReverted) ------------------------> on_failure(B)
    on_failure(B)'s event (WorkspaceDeleted) -----------------> on_failure(A)
    on_failure(A)'s event (TenantDeleted) --------------------> lifecycle: FAILED, SagaFailed
    SagaStepFailed of B with late: true ----------------------> undo(B) again, as a late undo
    SagaStepFailed with late: true ---------------------------> lifecycle: recorded (alarm if no undo)
    every minute ---------------------------------------------> lifecycle: the deadline sweep

``plan`` computes those routes from the definition; a failure at step k runs exactly
``Saga.compensation_order(k)`` (without the step's own ``undo`` for a declared business error),
which ``tests/choreography`` checks by walking the plan. ``SagaChoreography`` is the CDK construct
that deploys a plan. What runs at each target is ``sagakit.runtime.choreography``.

Every event the choreography publishes has the source ``sagakit.choreography`` and a detail that
is a ``SagaEnvelope`` (saga, emitting step, trigger, results so far, error): a step's success event
keeps its domain name (``WorkspaceCreated``) and carries the domain event at
``results.WorkspaceCreated``; a compensation's event is named after what its handler returns
(``WorkspaceDeleted``). The source keeps them apart from a service's own events of those names.

Parallel groups are not choreographed (``Saga`` refuses them in this style): a join needs someone
who waits for every branch, which is what a state machine is for.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from sagakit.constructs import dead_letter_queue, lifecycle_metric, require_functions, threshold_alarm
from sagakit.definition import Command, Saga, SagaStep, SagaStyle, StepKind
from sagakit.runtime.choreography import (
    INSTANCES_TABLE_ENV,
    ROUTE_KEY,
    SOURCE,
    STEP_FAILED,
    Route,
)

__all__ = ["LIFECYCLE", "Routing", "SagaChoreography", "plan", "result_event", "rule_name", "sweep_route"]

#: The target that is not one of the saga's commands: the lifecycle function.
LIFECYCLE = "lifecycle"
METADATA = "sagakit:choreography"
#: What a choreographed function needs on the instances table: its conditional claims and results.
INSTANCE_ACTIONS = ("dynamodb:UpdateItem",)


@dataclass(frozen=True)
class Routing:
    """One rule of a choreographed saga: which events go where, with what route.

    Attributes
    ----------
    id:
        The rule's construct id (stable PascalCase, e.g. ``WorkspaceCreatedToSetupBilling``).
    pattern:
        The EventBridge event pattern (``source``, ``detail-type``, ``detail``).
    target:
        A command name, or ``LIFECYCLE`` (the lifecycle function).
    route:
        What the target is told.
    """

    id: str
    description: str
    pattern: dict[str, Any]
    target: str
    route: Route


def result_event(command: Command) -> str:
    """The detail-type a compensation's choreography event has: the name of the model its
    handler returns (``DeleteWorkspace`` -> ``WorkspaceDeleted``), read from the annotation of
    ``handler`` in its source, without importing it (an import at synth would run the service's
    module-level code); ``<Command>Completed`` if there is none."""
    spec = importlib.util.find_spec(command.module)
    try:
        tree = ast.parse(Path(spec.origin).read_text()) if spec and spec.origin else None
    except (OSError, SyntaxError):
        tree = None
    for node in tree.body if tree else ():
        if isinstance(node, ast.FunctionDef) and node.name == "handler" and isinstance(node.returns, ast.Name):
            return node.returns.id
    return f"{command.name}Completed"


def _saga_filter(saga: Saga, step: str) -> dict[str, Any]:
    return {"saga": {"name": [saga.name]}, "step": [step]}


def _linear_steps(saga: Saga) -> list[SagaStep]:
    steps = [element for element in saga.steps if isinstance(element, SagaStep)]
    if len(steps) != len(saga.steps) or saga.style is not SagaStyle.CHOREOGRAPHY:
        raise ValueError(f"saga {saga.name}: only a choreographed saga of plain steps has a choreography plan")
    return steps


def _orders(saga: Saga, step: SagaStep) -> tuple[list[str], list[str]]:
    """The compensations a failure of ``step`` runs: (a declared business error, any other)."""
    uncertain = saga.compensation_order(step.name)
    business = uncertain[1:] if step.undo is not None and uncertain else uncertain
    return business, uncertain


def _grace_seconds(saga: Saga) -> int:
    """How long after the deadline a step that started before it may still run: its Lambda
    timeout, twice (an asynchronous retry), and a minute of EventBridge and Lambda latency."""
    return 2 * max(step.timeout_seconds for step in saga.all_steps()) + 60


def sweep_route(saga: Saga) -> Route:
    """What the schedule tells the lifecycle function for ``saga``'s deadline sweep."""
    return Route(
        saga=saga.name,
        version=saga.version,
        kind="sweep",
        steps=tuple(step.name for step in _linear_steps(saga)),
        deadline_seconds=saga.deadline_seconds,
        grace_seconds=_grace_seconds(saga),
    )


def plan(
    saga: Saga, *, trigger_source: str | None = None, emits: Callable[[Command], str] = result_event
) -> list[Routing]:
    """Every rule of choreographed ``saga``, in a stable order.

    ``trigger_source`` is the trigger's producer (default: from the ``events`` registry);
    ``emits`` names a compensation's event (default: ``result_event``).
    """
    steps = _linear_steps(saga)
    if trigger_source is None:
        from events import contract

        trigger_source = contract(saga.trigger).source

    def step_route(index: int) -> Route:
        step = steps[index]
        retriable = step.kind is StepKind.RETRIABLE
        return Route(
            saga=saga.name,
            version=saga.version,
            kind="step",
            command=step.name,
            first=index == 0,
            trigger=saga.trigger if index == 0 else None,
            saga_id=saga.saga_id if index == 0 else None,
            emits=step.on_success,
            retriable=retriable,
            retry_on=() if retriable else step.retry.errors,
            deadline_seconds=saga.deadline_seconds,
        )

    def end(outcome: str) -> Route:
        return Route(saga=saga.name, version=saga.version, kind="completed" if outcome == "Completed" else "failed")

    compensations = {c.name: c for c in saga.commands() if c.name not in {s.name for s in steps}}

    def compensation_route(name: str, *, undoes: str | None = None) -> Route:
        return Route(
            saga=saga.name,
            version=saga.version,
            kind="compensation",
            command=name,
            emits=None if undoes else emits(compensations[name]),
            undoes=undoes,
        )

    def to(name: str | None) -> tuple[str, Route]:
        """A rule's target and route: the compensation ``name``, or the end (FAILED)."""
        return (name, compensation_route(name)) if name else (LIFECYCLE, end("Failed"))

    routings = [
        Routing(
            id=f"Start{steps[0].name}",
            description=f"{trigger_source} {saga.trigger} starts {saga.name} at {steps[0].name}",
            pattern={"source": [trigger_source], "detail-type": [saga.trigger]},
            target=steps[0].name,
            route=step_route(0),
        )
    ]
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        routings.append(
            Routing(
                id=f"{step.on_success}To{'Completed' if last else steps[index + 1].name}",
                description=f"{saga.name}: {step.name} succeeded ({step.on_success})"
                + (": the saga completed" if last else f", so {steps[index + 1].name} runs"),
                pattern={"source": [SOURCE], "detail-type": [step.on_success], "detail": _saga_filter(saga, step.name)},
                target=LIFECYCLE if last else steps[index + 1].name,
                route=end("Completed") if last else step_route(index + 1),
            )
        )

    successor: dict[str, str | None] = {}
    for step in steps:
        business, uncertain = _orders(saga, step)
        for order in (business, uncertain):
            for index, current in enumerate(order):
                following = order[index + 1] if index + 1 < len(order) else None
                if successor.setdefault(current, following) != following:
                    raise ValueError(f"saga {saga.name}: compensation {current} has two successors")
        failed: dict[str, Any] = {"saga": {"name": [saga.name]}, "step": [step.name], "late": [False]}
        first_business = business[0] if business else None
        first_uncertain = uncertain[0] if uncertain else None
        cases: list[tuple[str, dict[str, Any] | None, str | None]]
        if step.business_errors and first_business != first_uncertain:
            cases = [
                ("Refused", {"Error": list(step.business_errors)}, first_business),
                ("Failed", {"Error": [{"anything-but": list(step.business_errors)}]}, first_uncertain),
            ]
        else:
            cases = [("Failed", None, first_uncertain)]
        for verb, error, first in cases:
            target, route = to(first)
            routings.append(
                Routing(
                    id=f"{step.name}{verb}To{first or 'Failed'}",
                    description=f"{saga.name}: {step.name} {verb.lower()}"
                    + (f" with a business error ({', '.join(step.business_errors)})" if verb == "Refused" else "")
                    + (f": {first} compensates first" if first else ": nothing to compensate, the saga failed"),
                    pattern={
                        "source": [SOURCE],
                        "detail-type": [STEP_FAILED],
                        "detail": {**failed, **({"error": error} if error else {})},
                    },
                    target=target,
                    route=route,
                )
            )
    for name, following in successor.items():
        event = emits(compensations[name])
        target, route = to(following)
        routings.append(
            Routing(
                id=f"{event}To{following or 'Failed'}",
                description=f"{saga.name}: {name} ran ({event})"
                + (f", so {following} runs" if following else ": every compensation ran, the saga failed"),
                pattern={"source": [SOURCE], "detail-type": [event], "detail": _saga_filter(saga, name)},
                target=target,
                route=route,
            )
        )
    undone = [step for step in steps if step.undo is not None]
    for step in undone:
        assert step.undo is not None
        routings.append(
            Routing(
                id=f"{step.name}LateTo{step.undo.name}",
                description=f"{saga.name}: {step.name} succeeded after the saga ended: {step.undo.name} undoes it",
                pattern={
                    "source": [SOURCE],
                    "detail-type": [STEP_FAILED],
                    "detail": {"saga": {"name": [saga.name]}, "step": [step.name], "late": [True]},
                },
                target=step.undo.name,
                route=compensation_route(step.undo.name, undoes=step.name),
            )
        )
    routings.append(
        Routing(
            id="LateSuccessToLifecycle",
            description=f"{saga.name}: a step succeeded after the saga ended: recorded; an alarm if it has no undo",
            pattern={
                "source": [SOURCE],
                "detail-type": [STEP_FAILED],
                "detail": {"saga": {"name": [saga.name]}, "late": [True]},
            },
            target=LIFECYCLE,
            route=Route(saga=saga.name, version=saga.version, kind="late", undone=tuple(s.name for s in undone)),
        )
    )
    return routings


#: A rule name is at most 64 characters: the stage prefix (``sagakit-prod-``) leaves this much.
_RULE_NAME_CHARS = 40


def rule_name(saga: Saga, routing_id: str) -> str:
    """A rule's name after the stage prefix: ``<Saga>-<routing id>``, or, when that is longer than
    the room a rule name leaves, the saga's name cut short and a digest of the routing id (the
    description says what the rule does). The same in every stage, so stages never collide."""
    name = f"{saga.name}-{routing_id}"
    if len(name) <= _RULE_NAME_CHARS:
        return name
    digest = hashlib.sha256(routing_id.encode()).hexdigest()[:8]
    return f"{saga.name[: _RULE_NAME_CHARS - len(digest) - 1]}-{digest}"


class _RouteInput(events.RuleTargetInput):
    """``{"choreography": <route>, "event": <the whole event>}``: the route is static, the event is
    EventBridge's predefined ``aws.events.event.json`` (EventBridge user guide, "Input
    transformation": the full original event, usable only as a JSON value)."""

    def __init__(self, route: Route) -> None:
        super().__init__()
        self._route = route

    def bind(self, rule: Any) -> events.RuleTargetInputProperties:
        route = self._route.model_dump_json(by_alias=True, exclude_defaults=True)
        return events.RuleTargetInputProperties(
            input_template=f'{{"{ROUTE_KEY}": {route}, "event": <aws.events.event.json>}}'
        )


class SagaChoreography(Construct):
    """A choreographed saga: its rules on the saga bus, its dead-letter queue and alarms, and its
    deadline sweep, between functions that already exist (the services' step handlers and the
    lifecycle function).

    Parameters
    ----------
    saga:
        A validated definition with ``style="choreography"``.
    functions:
        The Lambda function of every command the saga names, keyed by command name: the
        choreography sets their environment and grants them the instance table.
    bus:
        The saga bus: triggers, choreography events and lifecycle events.
    instances:
        The saga-instances table (partition key ``sagaId``, index ``byStatus``).
    lifecycle:
        The lifecycle function (``sagakit.runtime.lifecycle.handler``): ends sagas, sweeps.
    prefix:
        The stage's name prefix (``sagakit-dev``) for the queue and alarm names.
    failures_threshold:
        Failed sagas within 5 minutes that raise the failures alarm.
    trigger_source:
        The trigger's producer (default: from the ``events`` registry).
    invoked:
        What the rules invoke per command, when not the function's ``$LATEST``: with SnapStart,
        the alias on its published version (``ServiceResources.invoked``). Each one's
        asynchronous failures go to the dead-letter queue.

    Attributes
    ----------
    dead_letters:
        The queue for events no target could take (poison events, exhausted retries);
        ``alarms["DeadLetters"]`` fires on its first message. The stack acknowledges
        its cdk-nag findings (it is a dead-letter queue), as for an orchestrated saga's.
    rules:
        The rules by construct id (``plan``), and ``DeadlineSweep``.
    alarms:
        ``DeadLetters``, ``PastDeadline``, ``CompensationFailed``, ``LateSuccess``, ``Failures``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        saga: Saga,
        functions: Mapping[str, lambda_.Function],
        bus: events.IEventBus,
        instances: dynamodb.ITable,
        lifecycle: lambda_.IFunction,
        prefix: str,
        failures_threshold: int = 1,
        trigger_source: str | None = None,
        invoked: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_functions(saga, functions)
        invoked = invoked or functions
        require_functions(saga, invoked)
        self.saga = saga
        self.prefix = prefix
        self.dead_letters = dead_letter_queue(self, "DeadLetterQueue", queue_name=f"{prefix}-{saga.name}-dlq")

        self.rules: dict[str, events.Rule] = {}
        for routing in plan(saga, trigger_source=trigger_source):
            target = targets.LambdaFunction(
                lifecycle if routing.target == LIFECYCLE else invoked[routing.target],
                event=_RouteInput(routing.route),
                dead_letter_queue=self.dead_letters,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            )
            self.rules[routing.id] = self._rule(routing.id, routing.description, bus, routing.pattern, target)

        sweep = sweep_route(saga)
        self.rules["DeadlineSweep"] = self._rule(
            "DeadlineSweep",
            f"{saga.name}: sagas with no progress past their deadline are timed out and compensated",
            None,
            None,
            targets.LambdaFunction(
                lifecycle,
                event=events.RuleTargetInput.from_object({ROUTE_KEY: json.loads(sweep.model_dump_json(by_alias=True))}),
                dead_letter_queue=self.dead_letters,
                retry_attempts=2,
            ),
            schedule=events.Schedule.rate(Duration.minutes(1)),
        )

        # Where the pieces meet: each function claims its steps on the instance record, and its
        # asynchronous invocations that still fail after Lambda's retries wait in the queue.
        for command in saga.commands():
            function = functions[command.name]
            function.add_environment(INSTANCES_TABLE_ENV, instances.table_name)
            iam.Grant.add_to_principal(
                grantee=function, actions=list(INSTANCE_ACTIONS), resource_arns=[instances.table_arn]
            )
            if function.node.try_find_child(_ASYNC_FAILURES) is None:  # one per function, whatever the saga
                # On the qualifier the rules invoke: an alias has an asynchronous configuration
                # of its own, and $LATEST's would not apply to its invocations.
                invoked_here = invoked[command.name]
                alias = invoked_here if isinstance(invoked_here, lambda_.Alias) else None
                config = lambda_.EventInvokeConfig(
                    function,
                    _ASYNC_FAILURES,
                    function=function,
                    qualifier=alias.alias_name if alias else None,
                    retry_attempts=2,
                    max_event_age=Duration.hours(6),
                    on_failure=destinations.SqsDestination(self.dead_letters),
                )
                if alias:  # named by its qualifier only: CloudFormation must make the alias first
                    config.node.add_dependency(alias)
        # The sweep queries the status index for sagas past their deadline.
        iam.Grant.add_to_principal(
            grantee=lifecycle, actions=["dynamodb:Query"], resource_arns=[f"{instances.table_arn}/index/byStatus"]
        )
        self.alarms = self._alarms(prefix, failures_threshold)

    def _rule(
        self,
        construct_id: str,
        description: str,
        bus: events.IEventBus | None,
        pattern: dict[str, Any] | None,
        target: events.IRuleTarget,
        *,
        schedule: events.Schedule | None = None,
    ) -> events.Rule:
        rule = events.Rule(
            self,
            construct_id,
            rule_name=f"{self.prefix}-{rule_name(self.saga, construct_id)}",
            event_bus=bus,
            description=description[:512],
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern.get("detail")
            )
            if pattern
            else None,
            schedule=schedule,
            targets=[target],
        )
        cfn = rule.node.default_child
        assert isinstance(cfn, events.CfnRule)
        cfn.add_metadata(METADATA, self.saga.name)
        return rule

    def _metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return lifecycle_metric(self.saga.name, name, Duration.minutes(5), statistic)

    def _alarms(self, prefix: str, failures_threshold: int) -> dict[str, cloudwatch.Alarm]:
        name = self.saga.name
        wanted: dict[str, tuple[cloudwatch.IMetric, int, str]] = {
            "DeadLetters": (
                self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                1,
                f"{name}: an event no choreography target could take (a poison event, exhausted retries)",
            ),
            "PastDeadline": (
                self._metric("SagaTimedOut"),
                1,
                f"{name}: a saga made no progress past its deadline; the sweep timed it out and compensated",
            ),
            "CompensationFailed": (
                self._metric("SagaCompensationFailed"),
                1,
                f"{name}: a compensation never got through; redrive it from the dead-letter queue",
            ),
            "LateSuccess": (
                self._metric("SagaLateSuccess"),
                1,
                f"{name}: a step with no undo succeeded after its saga ended (lateSteps on the instance); "
                "check what it did by hand",
            ),
            "Failures": (self._metric("SagaFailed"), failures_threshold, f"{name}: sagas ended FAILED (compensated)"),
        }
        return {
            what: threshold_alarm(
                self,
                f"{what}Alarm",
                alarm_name=f"{prefix}-{name}-{what}",
                description=description,
                metric=metric,
                threshold=threshold,
            )
            for what, (metric, threshold, description) in wanted.items()
        }


_ASYNC_FAILURES = "SagakitAsyncFailures"
