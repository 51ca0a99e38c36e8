"""Retries, business errors, timeouts, the saga deadline and idempotent steps, end to end: the
synthesized state machine in moto (fast time), calling the real handlers, triggered through the
producer and EventBridge."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from sagakit.local import FaultKind, LocalRuntime, SagaRun
from sagakit.matrix import deployed_definition, observe
from statemachines.onboard_client import OnboardClientSaga
from tests.reliability.conftest import onboarding, task_payload

pytestmark = pytest.mark.e2e

SERVICES = ("clients", "ai-workspace", "billing", "notifications")


def items_of(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {
        service: sum(1 for item in local.table_items(service) if item.get("clientId") == client_id)
        for service in SERVICES
    }


def state(run: SagaRun, name: str) -> Any:
    return next(s for s in run.states if s.name == name)


# -- retries ---------------------------------------------------------------------------------


def test_each_step_retries_transient_errors_with_its_policy_backoff_and_full_jitter(local: LocalRuntime) -> None:
    # The compiled retry of every non-retriable step is the step's policy, with full jitter
    definition = deployed_definition(local, OnboardClientSaga)
    for step in OnboardClientSaga.all_steps():
        if step.kind.value == "retriable":
            continue
        [retry] = definition["States"][step.name]["Retry"]
        assert retry == {
            "ErrorEquals": list(step.retry.errors),
            "IntervalSeconds": step.retry.interval_seconds,
            "MaxAttempts": step.retry.max_attempts,
            "BackoffRate": step.retry.backoff_rate,
            "MaxDelaySeconds": step.retry.max_delay_seconds,
            "JitterStrategy": "FULL",
        }

    # Given CreateWorkspace fails with a transient error three times (its policy allows three)
    slept = []
    for _ in range(2):
        event = onboarding()
        local.fail("CreateWorkspace", FaultKind.TRANSIENT, times=3)
        before = local.clock.slept
        run = local.run(event)
        slept.append(local.clock.slept - before)
        # Then it is retried into success, and nothing is compensated
        assert run.outcome == "COMPLETED"
        assert state(run, "CreateWorkspace").attempts == 4
        assert run.compensations == []
        assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 1)
    # The back-off waits at most 1 + 2 + 4 s (interval 1 s, rate 2), each drawn at random
    # below its cap (full jitter), so two sagas do not retry in step
    assert all(0 < seconds <= 7 for seconds in slept)
    assert slept[0] != slept[1]


def test_a_step_whose_retries_run_out_is_compensated(local: LocalRuntime) -> None:
    # Given CreateWorkspace fails transiently once more than its policy retries
    event = onboarding()
    local.fail("CreateWorkspace", FaultKind.TRANSIENT, times=4)
    run = local.run(event)
    # Then the saga compensates, the step's own undo first (a transient error is not a clean
    # refusal: its write may have landed), and ends FAILED with the error
    assert run.outcome == "FAILED"
    assert run.error == "TransientError"
    assert run.compensations == ["DiscardWorkspace", "DeleteTenant"]
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)


def test_a_business_error_is_not_retried_and_goes_straight_to_compensation(local: LocalRuntime) -> None:
    event = onboarding()
    local.fail("SetupBilling", FaultKind.BUSINESS, error="BillingDeclined")
    run = local.run(event)
    assert state(run, "SetupBilling").attempts == 1
    assert run.outcome == "FAILED"
    assert run.error == "BillingDeclined"
    # A declared business error wrote nothing: billing's own undo is skipped
    assert run.compensations == ["DeleteWorkspace", "DeleteTenant"]
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)


@pytest.mark.parametrize(("kind", "times"), [(FaultKind.TRANSIENT, 8), (FaultKind.TIMEOUT, 3), (FaultKind.BUSINESS, 2)])
def test_a_retriable_step_is_retried_until_it_succeeds_and_never_compensated(
    local: LocalRuntime, kind: FaultKind, times: int
) -> None:
    event = onboarding()
    local.fail("SendWelcomeEmail", kind, times=times, error="MailboxFull")
    run = local.run(event)
    assert run.outcome == "COMPLETED"
    assert state(run, "SendWelcomeEmail").attempts == times + 1
    assert run.compensations == []
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 1)


def test_a_retriable_step_that_never_succeeds_stops_at_the_saga_deadline_uncompensated(local: LocalRuntime) -> None:
    # Given the saga's own machine with its deadline scaled down: moto enforces TimeoutSeconds in
    # wall-clock time, which fast time does not shorten, so the same definition is registered
    # again with a 2 s deadline instead of 3600 s
    sfn = local.client("stepfunctions")
    definition = deployed_definition(local, OnboardClientSaga)
    assert definition["TimeoutSeconds"] == OnboardClientSaga.deadline_seconds
    definition["TimeoutSeconds"] = 2
    machine = local.deployed.state_machines[OnboardClientSaga.name]
    role = sfn.describe_state_machine(stateMachineArn=machine)["roleArn"]
    name = "sagakit-dev-OnboardClientSaga-deadline-2s"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    event = onboarding()
    client = event["detail"]["clientId"]
    saga_input = {
        "saga": {"id": f"onboard-{client}", "name": OnboardClientSaga.name, "version": OnboardClientSaga.version},
        "input": event["detail"],
        "results": {},
        "compensations": {},
    }
    # And a welcome email that keeps failing
    local.fail("SendWelcomeEmail", FaultKind.TRANSIENT, times=10_000)
    execution = sfn.start_execution(stateMachineArn=arn, name=f"onboard-{client}", input=json.dumps(saga_input))
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the saga deadline was not applied"
        time.sleep(0.05)
    local.router.clear_faults()  # the interpreter's worker may still be inside the retry loop
    run = local.describe(execution["executionArn"])
    # Then it was retried until the deadline, then the saga timed out: nothing was compensated,
    # the pivot's effects stay (a redrive or an operator finishes it)
    assert run.status == "TIMED_OUT"
    assert state(run, "SendWelcomeEmail").attempts > 3
    assert [s.name for s in run.states if s.kind == "compensation"] == []
    items = items_of(local, client)
    assert (items["ai-workspace"], items["billing"]) == (1, 1)


# -- timeouts --------------------------------------------------------------------------------


def test_every_task_has_its_timeout_and_the_saga_its_deadline(local: LocalRuntime) -> None:
    definition = deployed_definition(local, OnboardClientSaga)
    assert definition["TimeoutSeconds"] == OnboardClientSaga.deadline_seconds
    for step in OnboardClientSaga.all_steps():
        assert definition["States"][step.name]["TimeoutSeconds"] == step.timeout_seconds


@pytest.mark.parametrize(
    ("step", "compensations"),
    [
        # Uncertain: the workspace or the profile may have been written, so the step's own undo
        # runs first
        ("CreateWorkspace", ["DiscardWorkspace", "DeleteTenant"]),
        ("SetupBilling", ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]),
    ],
)
def test_a_timeout_is_a_failure_like_any_other_and_is_compensated(
    local: LocalRuntime, step: str, compensations: list[str]
) -> None:
    event = onboarding()
    local.fail(step, FaultKind.TIMEOUT)
    run = local.run(event)
    assert run.outcome == "FAILED"
    assert run.error == "Sandbox.Timedout"
    assert state(run, step).attempts == 1  # a timeout is not a transient error: no retry
    assert run.compensations == compensations
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)


# -- compensations that have nothing to do -----------------------------------------------------


def test_a_compensation_for_a_step_that_never_ran_is_a_no_op_that_succeeds(local: LocalRuntime) -> None:
    # Given SetupBilling times out before it writes anything
    event = onboarding()
    local.fail("SetupBilling", FaultKind.TIMEOUT)
    run = local.run(event)
    # Then billing's undo still runs (the outcome was uncertain), finds nothing and succeeds
    revert = state(run, "RevertBilling")
    assert revert.status == "succeeded"
    assert revert.output["compensations"]["RevertBilling"]["reverted"] is False
    assert run.outcome == "FAILED"


def test_a_compensation_that_already_ran_is_a_no_op_that_succeeds(local: LocalRuntime) -> None:
    # Given DeleteWorkspace deletes the workspace, then its reply is lost, so it runs again
    event = onboarding(paymentMethod="pm_card_declined")
    client = event["detail"]["clientId"]
    local.fail("DeleteWorkspace", FaultKind.CRASH_AFTER_WRITE)
    run = local.run(event)
    # Then the second run answers as the first did, and the saga ends FAILED with nothing left
    delete = state(run, "DeleteWorkspace")
    assert delete.attempts == 2
    assert delete.output["compensations"]["DeleteWorkspace"]["deleted"] is True
    observed = observe(OnboardClientSaga, run.status, run.history, {})
    assert (observed.outcome, observed.compensations) == ("FAILED", ("DeleteWorkspace", "DeleteTenant"))
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)
    # And called outside the saga, for a client with nothing to delete, it is a no-op too
    command = task_payload(local, "DeleteWorkspace", saga_id=f"onboard-{client}-x", detail=event["detail"])
    assert local.invoke("DeleteWorkspace", command)["deleted"] is False


# -- idempotency through Step Functions --------------------------------------------------------


def test_a_lost_reply_is_answered_from_the_idempotency_record_without_running_the_logic(
    local: LocalRuntime,
) -> None:
    # Given SetupBilling writes its profile, then its reply is lost
    event = onboarding()
    client = event["detail"]["clientId"]
    local.fail("SetupBilling", FaultKind.CRASH_AFTER_WRITE)

    # and, to tell the two apart, the profile is removed before the retry: a retry that ran the
    # logic again would write it again; one answered from the idempotency record would not
    def remove_profile(invocation: Any) -> None:
        if invocation.command == "SetupBilling" and invocation.fault is FaultKind.CRASH_AFTER_WRITE:
            table = local.deployed.tables["billing"]
            local.client("dynamodb").delete_item(TableName=table, Key={"clientId": {"S": client}})

    local.router.observers.append(remove_profile)
    try:
        run = local.run(event)
    finally:
        local.router.observers.remove(remove_profile)

    # Then the retry succeeded with the stored answer, and the logic did not run a second time
    assert run.outcome == "COMPLETED"
    billing = state(run, "SetupBilling")
    assert billing.attempts == 2
    assert billing.output["results"]["BillingProfileCreated"]["clientId"] == client
    assert items_of(local, client)["billing"] == 0


@pytest.mark.filterwarnings("ignore:Dimension 'step' has already been added")
def test_the_same_saga_step_with_another_detail_fails_as_idempotency_validation_error(local: LocalRuntime) -> None:
    # Given CreateWorkspace already ran for saga onboard-<client>, with another company name
    event = onboarding()
    client = event["detail"]["clientId"]
    other = {**event["detail"], "companyName": "Someone Else Ltd"}
    earlier = task_payload(local, "CreateWorkspace", saga_id=f"onboard-{client}", detail=other)
    local.invoke("CreateWorkspace", earlier)
    # When the saga of that id reaches CreateWorkspace with its own detail
    run = local.run(event)
    # Then the step is refused, and Step Functions sees the error by its name
    assert state(run, "CreateWorkspace").error == "IdempotencyValidationError"
    assert run.error == "IdempotencyValidationError"
    assert run.outcome == "FAILED"
    assert run.compensations == ["DiscardWorkspace", "DeleteTenant"]
