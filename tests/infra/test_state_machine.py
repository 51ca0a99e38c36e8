"""The compiled state machine of OnboardClientSaga, read as Step Functions would run it.

Errors are matched the way Step Functions matches them: the first Retrier (or Catcher) whose
``ErrorEquals`` holds the error name, or ``States.ALL``, wins.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Match

# tests/infra is not a package (it would shadow ``infra``): pytest puts it on sys.path, so its
# conftest is importable as ``conftest``.
from conftest import PROVISIONING_SAGA

from sagakit.compiler import FAILED_STATE
from sagakit.definition import Command, ParallelGroup, RetryPolicy, Saga, SagaStep, StepKind
from statemachines.onboard_client import OnboardClientSaga

if TYPE_CHECKING:
    from conftest import Synthesized


ASL = dict[str, Any]

STEPS = [step.name for step in OnboardClientSaga.all_steps()]
NON_RETRIABLE_STEPS = [step.name for step in OnboardClientSaga.all_steps() if step.kind is not StepKind.RETRIABLE]
COMPENSATIONS = sorted({command.name for step in OnboardClientSaga.all_steps() for command in step.compensations()})
#: An error whose outcome is uncertain: the Lambda may have written before it timed out.
UNCERTAIN = "States.Timeout"


def follow(asl: ASL, start: str) -> list[str]:
    """The states visited from ``start`` by following ``Next`` until a state ends the run."""
    path = [start]
    while "Next" in asl["States"][path[-1]]:
        path.append(asl["States"][path[-1]]["Next"])
        assert len(path) <= len(asl["States"]), f"Next loops: {path}"
    return path


def _matches(rule: dict[str, Any], error: str) -> bool:
    return error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]


def retrier_for(state: dict[str, Any], error: str) -> dict[str, Any] | None:
    """The Retrier that handles ``error``, if any."""
    return next((rule for rule in state.get("Retry", []) if _matches(rule, error)), None)


def catcher_for(state: dict[str, Any], error: str) -> dict[str, Any] | None:
    """The Catcher that handles ``error`` once retries are spent, if any."""
    return next((rule for rule in state.get("Catch", []) if _matches(rule, error)), None)


def failure_path(asl: ASL, step: str, error: str) -> list[str]:
    """The states that run after ``step`` fails with ``error``, to the end of the execution."""
    catcher = catcher_for(asl["States"][step], error)
    assert catcher is not None, f"{step} does not catch {error}"
    return follow(asl, catcher["Next"])


# -- the happy path -------------------------------------------------------------------------


def test_an_execution_starts_at_the_first_step(onboard_asl: ASL) -> None:
    assert onboard_asl["StartAt"] == "CreateWorkspace"


def test_the_happy_path_is_one_task_per_step_and_nothing_else(onboard_asl: ASL) -> None:
    # Given a saga where every step succeeds
    # When the execution follows Next from the start
    path = follow(onboard_asl, onboard_asl["StartAt"])

    # Then it runs exactly the three steps, in the seed's order, with no Pass or Choice in between
    assert path == ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail"]
    assert [onboard_asl["States"][name]["Type"] for name in path] == ["Task", "Task", "Task"]
    assert onboard_asl["States"]["SendWelcomeEmail"].get("End") is True


def test_the_saga_deadline_bounds_the_whole_execution(onboard_asl: ASL) -> None:
    assert onboard_asl["TimeoutSeconds"] == OnboardClientSaga.deadline_seconds == 3600


def test_each_step_stores_its_success_event_for_the_steps_after_it(onboard_asl: ASL) -> None:
    stored = {name: onboard_asl["States"][name]["ResultPath"] for name in STEPS}

    assert stored == {
        "CreateWorkspace": "$.results.WorkspaceCreated",
        "SetupBilling": "$.results.BillingProfileCreated",
        "SendWelcomeEmail": "$.results.NotificationSent",
    }


# -- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STEPS + COMPENSATIONS)
def test_every_lambda_task_retries_throttling(onboard_asl: ASL, name: str) -> None:
    # Lambda.TooManyRequestsException is not in CDK's default LambdaInvoke retry
    retrier = retrier_for(onboard_asl["States"][name], "Lambda.TooManyRequestsException")

    assert retrier is not None, f"{name} fails on the first throttle"
    assert retrier["MaxAttempts"] >= 3
    assert retrier.get("JitterStrategy") == "FULL"


@pytest.mark.parametrize(
    ("step", "error"),
    [(step.name, error) for step in OnboardClientSaga.all_steps() for error in step.business_errors],
)
def test_a_business_error_is_not_retried(onboard_asl: ASL, step: str, error: str) -> None:
    # A declared business error is a clean refusal: trying again would be refused again
    assert retrier_for(onboard_asl["States"][step], error) is None


# -- failure and compensation ---------------------------------------------------------------


@pytest.mark.parametrize("step", NON_RETRIABLE_STEPS)
def test_a_failed_step_is_caught_with_its_input_kept(onboard_asl: ASL, step: str) -> None:
    # Given a compensatable step or the pivot
    state = onboard_asl["States"][step]

    # Then any error is caught, and every Catch puts the error beside the input: the default
    # ResultPath "$" would replace the saga's input and results that the compensations need
    assert catcher_for(state, "AnythingAtAll") is not None
    assert any(rule["ErrorEquals"] == ["States.ALL"] for rule in state["Catch"])
    assert [rule.get("ResultPath") for rule in state["Catch"]] == ["$.error"] * len(state["Catch"])


@pytest.mark.parametrize(
    ("step", "error", "expected"),
    [
        pytest.param("CreateWorkspace", "WorkspaceConflict", ["DeleteTenant"], id="CreateWorkspace-business"),
        pytest.param(
            "CreateWorkspace", UNCERTAIN, ["DiscardWorkspace", "DeleteTenant"], id="CreateWorkspace-uncertain"
        ),
        pytest.param(
            "SetupBilling", "BillingDeclined", ["DeleteWorkspace", "DeleteTenant"], id="SetupBilling-declined"
        ),
        pytest.param(
            "SetupBilling", "BillingConflict", ["DeleteWorkspace", "DeleteTenant"], id="SetupBilling-conflict"
        ),
        pytest.param(
            "SetupBilling",
            UNCERTAIN,
            ["RevertBilling", "DeleteWorkspace", "DeleteTenant"],
            id="SetupBilling-uncertain",
        ),
    ],
)
def test_a_failed_step_runs_the_seeds_compensations_then_fails_the_saga(
    onboard_asl: ASL, step: str, error: str, expected: list[str]
) -> None:
    # Given step fails with error (after its retries)
    # When the execution follows the Catch
    path = failure_path(onboard_asl, step, error)

    # Then the compensations of the seed's table run, latest step first, and the saga fails.
    # A business error is a clean refusal, so the step's own undo (RevertBilling) is skipped.
    assert path == [*expected, FAILED_STATE]
    assert onboard_asl["States"][FAILED_STATE]["Type"] == "Fail"


@pytest.mark.parametrize("step", NON_RETRIABLE_STEPS)
def test_the_compiled_failure_path_agrees_with_the_definition(onboard_asl: ASL, step: str) -> None:
    # The CLI and docs explain a failure with Saga.compensation_order; the machine must do the same
    definition = OnboardClientSaga.step(step)
    order = OnboardClientSaga.compensation_order(step)
    business_order = [name for name in order if definition.undo is None or name != definition.undo.name]

    assert failure_path(onboard_asl, step, UNCERTAIN) == [*order, FAILED_STATE]
    for error in definition.business_errors:
        assert failure_path(onboard_asl, step, error) == [*business_order, FAILED_STATE]


def test_the_failed_saga_reports_the_error_that_started_compensation(onboard_asl: ASL) -> None:
    failed = onboard_asl["States"][FAILED_STATE]

    assert failed["ErrorPath"] == "$.error.Error"
    assert failed["CausePath"] == "$.error.Cause"


def test_the_step_after_the_pivot_is_retried_until_it_succeeds_and_never_compensated(onboard_asl: ASL) -> None:
    # Given SendWelcomeEmail, which comes after the pivot
    state = onboard_asl["States"]["SendWelcomeEmail"]

    # Then any error is retried, patiently, and nothing catches it: there is no going back
    retrier = retrier_for(state, "NotificationFailed")
    assert retrier is not None
    assert retrier["ErrorEquals"] == ["States.ALL"]
    assert retrier["MaxAttempts"] >= 10
    assert "Catch" not in state


@pytest.mark.parametrize("name", COMPENSATIONS)
def test_a_compensation_retries_everything_and_is_never_caught(onboard_asl: ASL, name: str) -> None:
    # Given a compensation task
    state = onboard_asl["States"][name]

    # Then every error is retried, and a compensation that still fails is not caught: the
    # execution fails at that very state, and a redrive resumes from it
    retrier = retrier_for(state, "AnythingAtAll")
    assert retrier is not None
    assert retrier["ErrorEquals"] == ["States.ALL"]
    assert "Catch" not in state


@pytest.mark.parametrize("name", COMPENSATIONS)
def test_a_compensation_is_told_why_the_saga_failed(onboard_asl: ASL, name: str) -> None:
    assert onboard_asl["States"][name]["Parameters"]["error.$"] == "$.error"


# -- the state machine resource -------------------------------------------------------------


def test_the_state_machine_is_standard_logged_in_full_and_traced(dev: Synthesized) -> None:
    # Standard (not Express): a saga runs for minutes and must be redrivable; ALL logging with
    # execution data, and X-Ray, so a failed saga can be explained afterwards
    dev.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": "sagakit-dev-OnboardClientSaga",
            "StateMachineType": "STANDARD",
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
            "TracingConfiguration": {"Enabled": True},
        },
    )


# -- a saga with a parallel group -----------------------------------------------------------


def test_a_parallel_group_compiles_to_a_parallel_state_of_its_branches(provisioning_asl: ASL) -> None:
    # Given ProvisionClientSaga: CreateWorkspace, then SetupBilling and CreateMailbox together
    # When it is compiled
    after_first = provisioning_asl["States"]["CreateWorkspace"]["Next"]
    group = provisioning_asl["States"][after_first]

    # Then the group is one Parallel state with a branch per step
    assert group["Type"] == "Parallel"
    assert [branch["StartAt"] for branch in group["Branches"]] == ["SetupBilling", "CreateMailbox"]


def test_a_failing_branch_does_not_cancel_its_sibling(provisioning_asl: ASL) -> None:
    # An uncaught error in one branch would stop the other mid-write; each branch catches its own
    group = provisioning_asl["States"][provisioning_asl["States"]["CreateWorkspace"]["Next"]]

    for branch in group["Branches"]:
        task = branch["States"][branch["StartAt"]]
        catcher = catcher_for(task, UNCERTAIN)
        assert catcher is not None, f"{branch['StartAt']} fails the whole group"
        assert catcher["Next"] in branch["States"]


def _after_group(asl: ASL) -> dict[str, Any]:
    """The state the Parallel state hands its branch reports to."""
    group = asl["States"]["CreateWorkspace"]["Next"]
    return asl["States"][asl["States"][group]["Next"]]


def test_when_any_branch_fails_every_branch_is_undone_then_the_earlier_steps(provisioning_asl: ASL) -> None:
    # Given the branches' reports, one of which says it failed
    check = _after_group(provisioning_asl)
    assert check["Type"] == "Choice"
    assert len(check["Choices"]) == 2, "one rule per branch"

    for rule in check["Choices"]:
        # When the execution follows that rule
        path = follow(provisioning_asl, rule["Next"])
        compensations = [name for name in path if provisioning_asl["States"][name]["Type"] == "Task"]

        # Then both branches' undos run (a no-op for a branch that wrote nothing), then
        # CreateWorkspace's compensation, and the saga fails
        assert sorted(compensations[:2]) == ["DeleteMailbox", "RevertBilling"]
        assert compensations[2:] == ["DeleteTenant"]
        assert path[-1] == FAILED_STATE


def test_when_every_branch_succeeds_the_saga_goes_on_to_the_next_step(provisioning_asl: ASL) -> None:
    path = follow(provisioning_asl, _after_group(provisioning_asl)["Default"])

    assert path[-1] == "SendWelcomeEmail"
    assert provisioning_asl["States"]["SendWelcomeEmail"].get("End") is True


def test_steps_after_a_parallel_group_still_see_the_results_of_earlier_steps(provisioning_asl: ASL) -> None:
    # Given WorkspaceCreated in $.results before the group
    # When the states between the group and SendWelcomeEmail run
    between = follow(provisioning_asl, _after_group(provisioning_asl)["Default"])[:-1]

    # Then none of them replaces $.results without carrying $.results over
    for name in between:
        state = provisioning_asl["States"][name]
        if state.get("ResultPath") == "$.results":
            carried = [value for value in state.get("Parameters", {}).values() if "$.results" in str(value)]
            assert carried, f"{name} replaces $.results with only {sorted(state.get('Parameters', {}))}"


def test_every_branch_failure_runs_the_compensations_the_definition_names(provisioning_asl: ASL) -> None:
    # Saga.compensation_order explains a failed branch; the compiled machine must run exactly that
    for rule, branch in zip(_after_group(provisioning_asl)["Choices"], ("SetupBilling", "CreateMailbox"), strict=True):
        assert rule["Variable"] == f"$.groups.ProvisionAccounts.{branch}.failed"
        path = follow(provisioning_asl, rule["Next"])
        compensations = [name for name in path if provisioning_asl["States"][name]["Type"] == "Task"]

        assert compensations == PROVISIONING_SAGA.compensation_order(branch)
        assert compensations == ["DeleteMailbox", "RevertBilling", "DeleteTenant"]


def test_no_path_in_a_parallel_saga_indexes_into_an_array(provisioning_asl: ASL) -> None:
    # moto's JSONPath reads $.a[0].b as [b] (moto issue #7825): a Choice on such a path never
    # matches offline, and a Pass copies a list. Only ResultSelector's "$[i]" may index.
    text = json.dumps(
        {name: state for name, state in provisioning_asl["States"].items() if name != "ProvisionAccounts"}
    )
    branches = json.dumps(provisioning_asl["States"]["ProvisionAccounts"]["Branches"])

    assert not re.search(r"\$[^\"]*\[\d+\][^\"]", text + branches)


# -- a retriable parallel group (after the pivot) -------------------------------------------

#: CreateWorkspace, the SetupBilling pivot, then the email and a mailbox at the same time.
WELCOME_SAGA = Saga(
    name="WelcomeClientSaga",
    trigger="ClientOnboarded",
    steps=(
        SagaStep(
            command=Command("CreateWorkspace", service="ai-workspace"),
            on_success="WorkspaceCreated",
            on_failure=Command("DeleteTenant", service="clients"),
        ),
        SagaStep(
            command=Command("SetupBilling", service="billing"),
            on_success="BillingProfileCreated",
            on_failure=Command("DeleteWorkspace", service="ai-workspace"),
            kind=StepKind.PIVOT,
        ),
        ParallelGroup(
            name="WelcomePack",
            kind=StepKind.RETRIABLE,
            branches=(
                SagaStep(
                    command=Command("SendWelcomeEmail", service="notifications"),
                    on_success="NotificationSent",
                    kind=StepKind.RETRIABLE,
                ),
                SagaStep(
                    command=Command("CreateMailbox", service="notifications"),
                    on_success="MailboxCreated",
                    retry=RetryPolicy(max_attempts=20, errors=("States.ALL",)),
                ),
            ),
        ),
    ),
)


def compile_saga(saga: Saga) -> ASL:
    """``saga`` compiled by ``SagaStateMachine`` in a bare stack, as ``provisioning_asl`` is."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from sagakit.asl import definitions_from_template
    from sagakit.compiler import SagaStateMachine

    stack = Stack(App(), "CompileTest")
    functions = {
        command.name: lambda_.Function(
            stack,
            command.name,
            function_name=f"test-{command.name}",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for command in saga.commands()
    }
    SagaStateMachine(stack, saga.name, saga=saga, functions=functions, state_machine_name=f"test-{saga.name}")
    return definitions_from_template(Template.from_stack(stack).to_json())[saga.name]


@pytest.fixture(scope="module")
def welcome_asl() -> ASL:
    return compile_saga(WELCOME_SAGA)


def test_a_retriable_group_retries_each_branch_until_it_succeeds_and_never_compensates(welcome_asl: ASL) -> None:
    group = welcome_asl["States"][welcome_asl["States"]["SetupBilling"]["Next"]]
    assert group["Type"] == "Parallel"
    assert "Catch" not in group

    for branch, attempts in zip(group["Branches"], (99, 20), strict=True):
        task = branch["States"][branch["StartAt"]]
        # every error is retried (the branch's own States.ALL policy is kept), nothing is caught
        assert [rule["ErrorEquals"] for rule in task["Retry"]] == [["States.ALL"]]
        assert task["Retry"][0]["MaxAttempts"] == attempts
        assert "Catch" not in task
        assert [state["Type"] for state in branch["States"].values()] == ["Task", "Pass"]

    # no Choice and no undo: the group hands its events to $.results and the saga ends
    after = follow(welcome_asl, group["Next"])
    assert [welcome_asl["States"][name]["Type"] for name in after] == ["Pass"]
    assert welcome_asl["States"][after[-1]].get("End") is True
    assert sorted(name for name, state in welcome_asl["States"].items() if state["Type"] == "Task") == [
        "CreateWorkspace",
        "DeleteTenant",
        "DeleteWorkspace",
        "SetupBilling",
    ]


# -- parallel sagas, run by moto's Step Functions interpreter -------------------------------
#
# Not the offline runtime: the synthesized ASL is created in plain moto, and each Lambda
# invocation is answered by a fake (moto's ``LambdaFunction._invoke_lambda`` seam, which
# tests/e2e/test_moto_canary.py guards). This runs the JSONPath, the intrinsic functions, the
# Choice and the Catch paths as moto evaluates them.


@dataclass
class MotoRun:
    """One finished execution, and every invocation in the order it happened."""

    status: str
    error: str | None
    output: dict[str, Any]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def payload(self, command: str) -> dict[str, Any]:
        """The last payload ``command`` was invoked with."""
        return [payload for name, payload in self.calls if name == command][-1]

    def invoked(self, *commands: str) -> list[str]:
        """The invocations of ``commands``, in order."""
        return [name for name, _ in self.calls if name in commands]


def event_of(command: str) -> dict[str, Any]:
    """What the fake handler of ``command`` returns."""
    return {"by": command}


def run_in_moto(asl: ASL, monkeypatch: pytest.MonkeyPatch, *, failing: Mapping[str, list[str]] = {}) -> MotoRun:
    """Run ``asl`` once in moto. ``failing[command]`` lists the errors of its first invocations."""
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    calls: list[tuple[str, dict[str, Any]]] = []
    errors = {command: list(queue) for command, queue in failing.items()}
    lock = threading.Lock()

    def invoke(function: Any, event: Any = None) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, str) else event
        with lock:
            calls.append((payload["step"], payload))
            queue = errors.get(payload["step"])
            error = queue.pop(0) if queue else None
        if error is not None:
            return json.dumps({"errorType": error, "errorMessage": "injected"}), True, ""
        return json.dumps(event_of(payload["step"])), False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke)
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: None))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        region = "eu-west-1"
        role = boto3.client("iam", region_name=region).create_role(
            RoleName="saga", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        lambdas = boto3.client("lambda", region_name=region)
        definition = json.dumps(asl)
        for name in sorted(set(re.findall(r'"\$\{([A-Za-z0-9]+)\}"', definition))):
            arn = lambdas.create_function(
                FunctionName=f"test-{name}",
                Runtime="python3.13",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": code.getvalue()},
            )["FunctionArn"]
            definition = definition.replace("${" + name + "}", arn)
        sfn = boto3.client("stepfunctions", region_name=region)
        machine = sfn.create_state_machine(name="saga", definition=definition, roleArn=role)["stateMachineArn"]
        execution_input = {
            "saga": {"id": "onboard-client-0001", "name": "saga", "version": "1"},
            "input": {"clientId": "client-0001"},
            "results": {},
            "compensations": {},
        }
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"]
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not finish"
            time.sleep(0.02)
    return MotoRun(
        status=described["status"],
        error=described.get("error"),
        output=json.loads(described.get("output") or "{}"),
        calls=calls,
    )


def test_a_parallel_saga_runs_to_the_end_and_keeps_every_success_event(
    provisioning_asl: ASL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every handler succeeds
    # When ProvisionClientSaga runs
    run = run_in_moto(provisioning_asl, monkeypatch)

    # Then it succeeds without compensating, and the step after the group was handed the result
    # of the step before the group as well as both branches' events
    assert run.status == "SUCCEEDED", run.error
    assert run.invoked("DeleteMailbox", "RevertBilling", "DeleteTenant") == []
    assert run.payload("SendWelcomeEmail")["results"] == {
        "WorkspaceCreated": event_of("CreateWorkspace"),
        "BillingProfileCreated": event_of("SetupBilling"),
        "MailboxCreated": event_of("CreateMailbox"),
    }
    assert sorted(run.output["results"]) == [
        "BillingProfileCreated",
        "MailboxCreated",
        "NotificationSent",
        "WorkspaceCreated",
    ]


@pytest.mark.parametrize("failed", ["SetupBilling", "CreateMailbox"])
def test_a_failed_branch_runs_to_the_compensations_the_definition_names(
    provisioning_asl: ASL, monkeypatch: pytest.MonkeyPatch, failed: str
) -> None:
    # Given one branch refuses (an error no retrier matches)
    # When ProvisionClientSaga runs
    run = run_in_moto(provisioning_asl, monkeypatch, failing={failed: ["AccountRefused"]})

    # Then its sibling still runs to completion, every undo and the earlier compensation run in
    # the order Saga.compensation_order gives, and the saga fails with the group's error
    assert run.status == "FAILED"
    assert run.error == "ParallelGroupFailed"
    assert sorted(run.invoked("SetupBilling", "CreateMailbox")) == ["CreateMailbox", "SetupBilling"]
    assert run.invoked("DeleteMailbox", "RevertBilling", "DeleteTenant") == PROVISIONING_SAGA.compensation_order(failed)
    assert run.invoked("SendWelcomeEmail") == []
    assert run.payload("DeleteTenant")["error"]["Error"] == "ParallelGroupFailed"


def test_a_retriable_group_runs_each_branch_until_it_succeeds(
    welcome_asl: ASL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the mailbox fails twice, whatever the error, after the pivot
    run = run_in_moto(welcome_asl, monkeypatch, failing={"CreateMailbox": ["MailboxUnavailable", "TransientError"]})

    # Then it is tried again until it succeeds, nothing is compensated, and every event is kept
    assert run.status == "SUCCEEDED", run.error
    assert run.invoked("CreateMailbox") == ["CreateMailbox"] * 3
    assert run.invoked("SendWelcomeEmail") == ["SendWelcomeEmail"]
    assert run.invoked("DeleteTenant", "DeleteWorkspace") == []
    assert run.output["results"] == {
        "WorkspaceCreated": event_of("CreateWorkspace"),
        "BillingProfileCreated": event_of("SetupBilling"),
        "NotificationSent": event_of("SendWelcomeEmail"),
        "MailboxCreated": event_of("CreateMailbox"),
    }
