"""The compiler: a CDK construct that turns a ``Saga`` into a Standard Step Functions state machine.

Shape of the output, for a saga ``A -> B -> C`` where B fails::

    A --> B --> C --> (end)
          |
          +-- business error -----------> on_failure(B) -> on_failure(A) -> SagaFailed
          +-- States.ALL --> undo(B) ---/

* Each step is a ``LambdaInvoke`` task whose result lands at ``$.results.<SuccessEvent>``.
* One function, ``_configure_step``, builds every step's Retry and Catch. The Catch keeps the
  original input and puts the error at ``$.error`` (the default ``$`` would replace it).
* Compensations retry on every error. When they still fail, the execution fails *at the
  compensation* rather than being caught: that is the COMPENSATION_FAILED outcome, and Step
  Functions redrive resumes from exactly that state.
* The happy path has no Pass or Choice state: one transition per task.
* Executions start on an alias (``live``) that points at a published version. A deploy that
  changes the machine changes its revision id, which publishes a new version (stamped with
  ``Saga.version``) and moves the alias to it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sagakit.constructs import require_functions
from sagakit.definition import Command, ParallelGroup, RetryPolicy, Saga, SagaStep, StepKind

__all__ = ["ALIAS_NAME", "COMPENSATION_RETRY", "FAILED_STATE", "SagaStateMachine"]

FAILED_STATE = "SagaFailed"
#: Compensations must eventually succeed: retry everything, patiently, before parking the saga.
COMPENSATION_RETRY = RetryPolicy(
    max_attempts=5, interval_seconds=2, backoff_rate=2.0, max_delay_seconds=60, errors=("States.ALL",)
)
METADATA_COMMAND = "sagakit:command"
METADATA_SAGA = "sagakit:saga"
#: The alias executions start on (``<state machine ARN>:live``).
ALIAS_NAME = "live"


@dataclass(frozen=True)
class _Compiled:
    start: sfn.IChainable
    failed: sfn.Fail


class SagaStateMachine(Construct):
    """A Standard state machine for ``saga``, with Catch-based compensation.

    Parameters
    ----------
    saga:
        The validated definition.
    functions:
        What the tasks invoke for every command the saga names (steps and compensations), keyed
        by command name: the Lambda function, or its alias (SnapStart's ``live``).
    log_retention:
        Retention of the execution log group (logging level ALL, with execution data).
    removal_policy:
        What happens to the log group when the stack is deleted, and to a published version
        when a deploy replaces it (RETAIN keeps old versions to roll the alias back to).
    state_machine_name:
        Physical name; the offline runtime and the CLI find the saga by it.

    Attributes
    ----------
    state_machine:
        The ``sfn.StateMachine``; its role may invoke only ``functions``.
    version:
        The version this deploy published, described ``<saga> v<Saga.version>``.
    alias:
        The alias executions start on; it routes every execution to ``version``.
    alias_arn:
        ``<state machine ARN>:live``: what starters pass to ``StartExecution``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        saga: Saga,
        functions: Mapping[str, lambda_.IFunction],
        state_machine_name: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        require_functions(saga, functions)
        self.saga = saga
        self._functions = functions
        self._compensation_states: dict[str, tasks.LambdaInvoke] = {}
        # The paths every task's payload reads, made once per saga: each is a jsii round trip,
        # and a token can be used in any number of payloads.
        self._paths: dict[str, object] = {
            "sagaId": sfn.JsonPath.string_at("$.saga.id"),
            "sagaVersion": sfn.JsonPath.string_at("$.saga.version"),
            "detail": sfn.JsonPath.object_at("$.input"),
            "results": sfn.JsonPath.object_at("$.results"),
            "error": sfn.JsonPath.object_at("$.error"),
        }

        failed = sfn.Fail(
            self,
            FAILED_STATE,
            comment="Every completed step was compensated.",
            error_path="$.error.Error",
            cause_path="$.error.Cause",
        )
        definition = self._compile(failed)

        self.log_group = logs.LogGroup(self, "ExecutionLogs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment=f"{saga.name} v{saga.version}: {saga.description or 'saga'}",
            timeout=Duration.seconds(saga.deadline_seconds),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        cfn = self.state_machine.node.default_child
        assert isinstance(cfn, sfn.CfnStateMachine)
        cfn.add_metadata(METADATA_SAGA, saga.name)
        self._publish(removal_policy)

    def _publish(self, removal_policy: RemovalPolicy) -> None:
        """A version of the current revision, and the alias executions start on.

        The version is published from the revision id: an unchanged machine keeps its version,
        a changed one replaces the resource, which publishes a new version and moves the alias.
        """
        self.version = sfn.CfnStateMachineVersion(
            self,
            "Version",
            state_machine_arn=self.state_machine.state_machine_arn,
            state_machine_revision_id=self.state_machine.state_machine_revision_id,
            description=f"{self.saga.name} v{self.saga.version}",
        )
        # Retained, a replaced version is one the alias can be rolled back to (and cfn-lint
        # W3011 wants the deletion policy to match the update-replace policy).
        self.version.apply_removal_policy(removal_policy)
        self.alias = sfn.CfnStateMachineAlias(
            self,
            "Alias",
            name=ALIAS_NAME,
            description=f"{self.saga.name}: the published version executions start on",
            routing_configuration=[
                sfn.CfnStateMachineAlias.RoutingConfigurationVersionProperty(
                    state_machine_version_arn=self.version.attr_arn, weight=100
                )
            ],
        )
        for resource in (self.version, self.alias):
            resource.add_metadata(METADATA_SAGA, self.saga.name)
        self.alias_arn: str = self.alias.attr_arn

    # -- compilation -------------------------------------------------------------------------

    def _compile(self, failed: sfn.Fail) -> sfn.IChainable:
        # entries[i]: where compensation starts when element i fails (after its own undo).
        entry: sfn.IChainable = failed
        entries: list[sfn.IChainable] = []
        for element in self.saga.steps:
            if element.on_failure is not None:
                compensation = self._compensation(element.on_failure)
                compensation.next(entry)
                entry = compensation
            entries.append(entry)

        states: list[sfn.IChainable] = []
        results: list[str] = []  # the keys of $.results when each element starts
        for element, on_failure_entry in zip(self.saga.steps, entries, strict=True):
            if isinstance(element, ParallelGroup):
                states.append(self._parallel(element, on_failure_entry, earlier_results=results))
                results.extend(branch.on_success for branch in element.branches)
            else:
                states.append(self._step(element, on_failure_entry))
                results.append(element.on_success)

        chain = sfn.Chain.start(states[0])
        for state in states[1:]:
            chain = chain.next(state)
        return chain

    def _task(self, command: Command, *, result_path: str, is_compensation: bool, timeout: int) -> tasks.LambdaInvoke:
        paths = self._paths
        payload: dict[str, object] = {
            "sagaId": paths["sagaId"],
            "sagaName": self.saga.name,
            "step": command.name,
            "kind": "compensation" if is_compensation else "step",
            "sagaVersion": paths["sagaVersion"],
            "detail": paths["detail"],
            "results": paths["results"],
        }
        if is_compensation:
            payload["error"] = paths["error"]
        return tasks.LambdaInvoke(
            self,
            command.name,
            lambda_function=self._functions[command.name],
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
            task_timeout=_timeout(timeout),
            comment=f"{'compensation' if is_compensation else 'step'} {command.name} ({command.service})",
        )

    def _compensation(self, command: Command) -> tasks.LambdaInvoke:
        existing = self._compensation_states.get(command.name)
        if existing is not None:
            raise ValueError(
                f"saga {self.saga.name}: compensation {command.name} is used twice; "
                "each on_failure/undo must be a distinct command"
            )
        task = self._task(command, result_path=f"$.compensations.{command.name}", is_compensation=True, timeout=60)
        _add_retry(task, COMPENSATION_RETRY)
        self._compensation_states[command.name] = task
        return task

    def _step(self, step: SagaStep, on_failure_entry: sfn.IChainable) -> tasks.LambdaInvoke:
        task = self._task(
            step.command,
            result_path=f"$.results.{step.on_success}",
            is_compensation=False,
            timeout=step.timeout_seconds,
        )
        self._configure_step(task, step, on_failure_entry)
        return task

    def _configure_step(self, task: tasks.LambdaInvoke, step: SagaStep, on_failure_entry: sfn.IChainable) -> None:
        """The one place that builds a step's Retry and Catch."""
        if step.kind is StepKind.RETRIABLE:
            # Past the pivot: retry until success or the saga deadline; never compensate.
            _add_retry(task, step.retry if step.retry.errors == ("States.ALL",) else RetryPolicy.until_success())
            return
        _add_retry(task, step.retry)
        if step.business_errors:
            task.add_catch(on_failure_entry, errors=list(step.business_errors), result_path="$.error")
        uncertain: sfn.IChainable = on_failure_entry
        if step.undo is not None:
            undo = self._compensation(step.undo)
            undo.next(on_failure_entry)
            uncertain = undo
        task.add_catch(uncertain, errors=["States.ALL"], result_path="$.error")

    def _parallel(
        self, group: ParallelGroup, on_failure_entry: sfn.IChainable, *, earlier_results: list[str]
    ) -> sfn.IChainable:
        """A parallel group: a Parallel state, a Choice on the branches' reports, and a Pass that
        merges the branches' success events into ``$.results``.

        * Each branch reports ``{"failed", "step", "event" | "error"}``; the Parallel state keys the
          reports by step name at ``$.groups.<Group>.<Step>``. Paths never index an array:
          moto's JSONPath turns ``$.a[0].b`` into ``[b]`` (moto issue #7825), so a Choice on it
          would never match offline.
        * The merge Pass writes ``$.results`` whole, so it names every key: the success events of
          the earlier elements (carried over) and of the branches. ``$.results`` starts empty and
          only this compiler writes it, so that list is exact.
        * A retriable group (after the pivot) retries each branch until it succeeds: no Catch, no
          Choice, no undo.
        """
        retriable = group.kind is StepKind.RETRIABLE
        parallel = sfn.Parallel(
            self,
            group.name,
            result_selector={
                branch.name: sfn.JsonPath.object_at(f"$[{index}]") for index, branch in enumerate(group.branches)
            },
            result_path=f"$.groups.{group.name}",
            comment=f"parallel group {group.name} ({group.kind.value})",
        )
        # Each branch catches its own failure and reports it, so that siblings are never
        # cancelled mid-write; the group then fails as a whole and every branch's undo runs
        # (a no-op for a branch that wrote nothing).
        for branch in group.branches:
            task = self._task(
                branch.command,
                result_path=f"$.results.{branch.on_success}",
                is_compensation=False,
                timeout=branch.timeout_seconds,
            )
            done = sfn.Pass(
                self,
                f"{branch.name}Done",
                parameters={"failed": False, "step": branch.name, "event.$": f"$.results.{branch.on_success}"},
            )
            if retriable:
                # Past the pivot: retry until success or the saga deadline; never compensate.
                until_success = branch.retry.errors == ("States.ALL",)
                _add_retry(task, branch.retry if until_success else RetryPolicy.until_success())
            else:
                _add_retry(task, branch.retry)
                reported = sfn.Pass(
                    self,
                    f"{branch.name}Failed",
                    parameters={"failed": True, "step": branch.name, "error.$": "$.error"},
                )
                task.add_catch(reported, errors=["States.ALL"], result_path="$.error")
            parallel.branch(sfn.Chain.start(task).next(done))

        merged: dict[str, object] = {f"{name}.$": f"$.results.{name}" for name in earlier_results}
        for branch in group.branches:
            merged[f"{branch.on_success}.$"] = f"$.groups.{group.name}.{branch.name}.event"
        merge = sfn.Pass(self, f"{group.name}Results", parameters=merged, result_path="$.results")
        if retriable:
            parallel.next(merge)
            return _ParallelEntry(parallel, merge)

        # Every branch's undo, the last branch first (compensations run latest first), then
        # the group's on_failure and the earlier elements'.
        undo_chain: sfn.IChainable = on_failure_entry
        for branch in group.branches:
            assert branch.undo is not None  # validated by Saga
            undo = self._compensation(branch.undo)
            undo.next(undo_chain)
            undo_chain = undo
        first_error = sfn.Pass(
            self,
            f"{group.name}Error",
            parameters={
                "Error": "ParallelGroupFailed",
                "Cause.$": f"States.JsonToString($.groups.{group.name})",
            },
            result_path="$.error",
        )
        first_error.next(undo_chain)
        check = sfn.Choice(self, f"{group.name}Check")
        for branch in group.branches:
            check.when(sfn.Condition.boolean_equals(f"$.groups.{group.name}.{branch.name}.failed", True), first_error)
        check.otherwise(merge)
        parallel.next(check)
        return _ParallelEntry(parallel, merge)


class _ParallelEntry(sfn.StateMachineFragment):
    """A parallel group as one chainable: enters at the Parallel state, leaves at the merge."""

    def __init__(self, parallel: sfn.Parallel, merge: sfn.Pass) -> None:
        super().__init__(parallel.node.scope, f"{parallel.node.id}Fragment")  # type: ignore[arg-type]
        self._start = parallel
        self._end = merge

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return [self._end]


# Durations and timeouts are values, not constructs: one per length serves every task of every
# saga, where making each anew was a jsii round trip to Node per task and per retry.
@functools.cache
def _seconds(seconds: int) -> Duration:
    return Duration.seconds(seconds)


@functools.cache
def _timeout(seconds: int) -> sfn.Timeout:
    return sfn.Timeout.duration(_seconds(seconds))


def _add_retry(task: sfn.TaskStateBase, policy: RetryPolicy) -> None:
    if policy.max_attempts == 0:
        return
    task.add_retry(
        errors=list(policy.errors),
        interval=_seconds(policy.interval_seconds),
        max_attempts=policy.max_attempts,
        backoff_rate=policy.backoff_rate,
        max_delay=_seconds(policy.max_delay_seconds),
        jitter_strategy=sfn.JitterType.FULL,
    )
