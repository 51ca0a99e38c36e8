"""The onboarding saga end to end: the synthesized state machine, run by moto's interpreter,
calling the real handler code, triggered through EventBridge. The seed's table is the spec:

| fails at         | compensations, in order                  | outcome   |
|------------------|------------------------------------------|-----------|
| CreateWorkspace  | DeleteTenant                             | FAILED    |
| SetupBilling     | DeleteWorkspace, DeleteTenant            | FAILED    |
| SendWelcomeEmail | none: retried until it succeeds          | COMPLETED |
"""

from __future__ import annotations

import pytest

from sagakit.local import FaultKind, LocalRuntime
from tests.e2e.conftest import onboarding

pytestmark = pytest.mark.e2e

SERVICES = ("clients", "ai-workspace", "billing", "notifications")


def items_of(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {
        service: sum(1 for item in local.table_items(service) if item["clientId"] == client_id) for service in SERVICES
    }


def test_happy_path_completes_with_one_of_each_resource(local: LocalRuntime) -> None:
    # Given a new client
    event = onboarding()
    client = event["detail"]["clientId"]
    # When clients onboards it (records the tenant, publishes ClientOnboarded)
    run = local.run(event)
    # Then the saga completes, every step ran once, and each service holds one record
    assert run.outcome == "COMPLETED"
    assert run.steps_completed == ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail"]
    assert run.compensations == []
    assert items_of(local, client) == {"clients": 1, "ai-workspace": 1, "billing": 1, "notifications": 1}
    assert run.output is not None
    assert set(run.output["results"]) == {"WorkspaceCreated", "BillingProfileCreated", "NotificationSent"}


def test_happy_path_costs_one_transition_per_task(local: LocalRuntime) -> None:
    run = local.run(onboarding())
    assert run.transitions == 3  # CreateWorkspace, SetupBilling, SendWelcomeEmail: no Pass, no Choice


@pytest.mark.parametrize(
    ("step", "error", "compensations"),
    [
        ("CreateWorkspace", "WorkspaceConflict", ["DeleteTenant"]),
        ("SetupBilling", "BillingDeclined", ["DeleteWorkspace", "DeleteTenant"]),
        # Not a declared business error: the outcome is uncertain, so billing's own undo runs first.
        ("SetupBilling", "Sandbox.Timedout", ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]),
    ],
)
def test_a_failing_step_is_compensated_in_reverse_order(
    local: LocalRuntime, step: str, error: str, compensations: list[str]
) -> None:
    # Given a step that will fail
    event = onboarding()
    client = event["detail"]["clientId"]
    kind = FaultKind.TIMEOUT if error == "Sandbox.Timedout" else FaultKind.BUSINESS
    local.fail(step, kind, error=error)
    # When the saga runs
    run = local.run(event)
    # Then the compensations run in the seed's order, the saga ends FAILED with the step's error,
    # and no service keeps anything for that client
    assert run.outcome == "FAILED"
    assert run.failed_step == step
    assert run.error == error
    assert run.compensations == compensations
    assert items_of(local, client) == dict.fromkeys(SERVICES, 0)


def test_a_real_declined_card_fails_billing_and_is_compensated(local: LocalRuntime) -> None:
    # Given a client whose card the billing service declines (a real business rule, no injection)
    event = onboarding(paymentMethod="pm_card_declined")
    run = local.run(event)
    assert run.outcome == "FAILED"
    assert run.error == "BillingDeclined"
    assert run.compensations == ["DeleteWorkspace", "DeleteTenant"]
    assert items_of(local, event["detail"]["clientId"]) == dict.fromkeys(SERVICES, 0)


def test_send_welcome_email_is_retried_and_never_compensated(local: LocalRuntime) -> None:
    # Given a mail step that fails three times before it gets through
    event = onboarding()
    local.fail("SendWelcomeEmail", FaultKind.TRANSIENT, times=3)
    run = local.run(event)
    # Then it is retried until it succeeds, and nothing is undone
    assert run.outcome == "COMPLETED"
    email = next(s for s in run.states if s.name == "SendWelcomeEmail")
    assert email.attempts == 4
    assert run.compensations == []


def test_a_crash_after_the_write_is_retried_into_the_same_record(local: LocalRuntime) -> None:
    # Given SetupBilling writes its profile, then its reply is lost
    event = onboarding()
    client = event["detail"]["clientId"]
    local.fail("SetupBilling", FaultKind.CRASH_AFTER_WRITE)
    run = local.run(event)
    # Then the retry meets the applied write and replays it: one billing profile, saga completes
    assert run.outcome == "COMPLETED"
    assert next(s for s in run.states if s.name == "SetupBilling").attempts == 2
    assert items_of(local, client)["billing"] == 1


def test_a_duplicate_client_onboarded_leaves_one_execution(local: LocalRuntime) -> None:
    # Given the same ClientOnboarded delivered twice (EventBridge is at-least-once)
    event = onboarding()
    client = event["detail"]["clientId"]
    saga = "OnboardClientSaga"
    before = len(local.execution_arns(saga))
    local.put_event(event)
    local.put_event(event)
    # Then one saga ran, and the second delivery was recognised as a duplicate
    arns = local.execution_arns(saga)[before:]
    assert len(arns) == 1
    assert arns[0].endswith(f":onboard-{client}")
    assert local.wait(arns[0]).outcome == "COMPLETED"
    # Both deliveries reached the starter and named the same saga: Step Functions either returned
    # the running execution (same name, same input) or refused a second one.
    starts = [d for d in local.events.deliveries if isinstance(d.response, dict) and "started" in d.response]
    answers = [delivery.response for delivery in starts[-2:]]
    assert [answer["sagaId"] for answer in answers] == [f"onboard-{client}"] * 2
    assert items_of(local, client)["ai-workspace"] == 1


def test_a_malformed_event_starts_no_saga_and_says_why(local: LocalRuntime) -> None:
    # Given a ClientOnboarded without a client id
    event = onboarding()
    del event["detail"]["clientId"]
    before = len(local.execution_arns("OnboardClientSaga"))
    local.put_event(event)
    # Then no saga starts, and the dead-letter queue holds the event with the reason
    assert len(local.execution_arns("OnboardClientSaga")) == before
    reason = local.last_rejection()
    assert "clientId" in reason
    assert "Field required" in reason
    assert any("clientId" in message["reason"] for message in local.dead_letters("OnboardClientSaga"))


def test_a_step_that_succeeds_on_retry_is_not_reported_as_failed(local: LocalRuntime) -> None:
    # Given CreateWorkspace fails twice with a transient error, then succeeds
    local.fail("CreateWorkspace", FaultKind.TRANSIENT, times=2)
    run = local.run(onboarding())
    # Then the run reads as a success at every level: state, failed step, compensations
    create = next(s for s in run.states if s.name == "CreateWorkspace")
    assert (create.status, create.attempts, create.error) == ("succeeded", 3, None)
    assert run.failed_step is None
    assert run.steps_completed == ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail"]
