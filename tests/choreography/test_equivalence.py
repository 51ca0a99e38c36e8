"""Both styles of the onboarding saga, side by side: a failure at each step, a business error and
an uncertain one, must end with the same outcome, the same compensations in the same order, and
the same resources left for the client.

Each run starts the same way in both styles: the tenant is recorded (as the clients service does
before it publishes), then the trigger is put on the bus. The one difference is the name of the
trigger (``ClientOnboarded`` or ``ClientOnboardedChoreography``) and so the saga id, from which
the services derive their resource ids: those ids, the client id (each run onboards a client of
its own) and the timestamps are left out of the comparison; everything else must match.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagakit.local import FaultKind, LocalRuntime, SagaRun
from tests.choreography.conftest import items_of, record_tenant, trigger

pytestmark = pytest.mark.e2e

#: A crash the handler cannot name as a business error: the write may have landed.
UNCERTAIN = "TaskCrashed"


def resources(local: LocalRuntime, client_id: str) -> dict[str, list[dict[str, Any]]]:
    """The client's items, without what names the client or derives from the saga id or the clock."""
    return {
        service: [{k: v for k, v in item.items() if not (k.endswith("Id") or k.endswith("At"))} for item in found]
        for service, found in items_of(local, client_id).items()
    }


def run(local: LocalRuntime, style: str, fail_at: str | None, error: str | None) -> tuple[SagaRun, dict[str, Any]]:
    envelope = trigger(style)
    record_tenant(local, envelope)
    if fail_at and error:
        local.fail(fail_at, FaultKind.BUSINESS, error=error)
    finished = local.run(envelope, via_producer=False)
    local.router.clear_faults()
    return finished, resources(local, envelope["detail"]["clientId"])


CASES = [
    (None, None, "COMPLETED", []),
    ("CreateWorkspace", "WorkspaceConflict", "FAILED", ["DeleteTenant"]),
    ("CreateWorkspace", UNCERTAIN, "FAILED", ["DiscardWorkspace", "DeleteTenant"]),
    ("SetupBilling", "BillingDeclined", "FAILED", ["DeleteWorkspace", "DeleteTenant"]),
    ("SetupBilling", UNCERTAIN, "FAILED", ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]),
    # Retriable: retried until it gets through, never compensated (the state machine retries it,
    # in choreography Lambda's asynchronous retry runs it again).
    ("SendWelcomeEmail", "MailboxUnavailable", "COMPLETED", []),
]


@pytest.mark.parametrize(
    ("fail_at", "error", "outcome", "compensations"),
    CASES,
    ids=[f"{step or 'happy path'}-{error or 'no error'}" for step, error, _, _ in CASES],
)
def test_both_styles_end_the_same_way(
    local: LocalRuntime, fail_at: str | None, error: str | None, outcome: str, compensations: list[str]
) -> None:
    # Given the same failure injected into each style's run
    orchestrated, left_by_orchestration = run(local, "orchestration", fail_at, error)
    choreographed, left_by_choreography = run(local, "choreography", fail_at, error)

    # Then both end the same way, having run the same compensations in the same order
    assert orchestrated.outcome == choreographed.outcome == outcome
    assert orchestrated.compensations == choreographed.compensations == compensations
    if outcome == "FAILED":
        assert orchestrated.failed_step == choreographed.failed_step == fail_at
        assert orchestrated.error == choreographed.error == error
    # And leave the same resources: all of them, or (compensated) none at all
    assert left_by_choreography == left_by_orchestration
    expected = 1 if outcome == "COMPLETED" else 0
    assert {service: len(found) for service, found in left_by_choreography.items()} == dict.fromkeys(
        left_by_choreography, expected
    )


def test_both_styles_publish_the_same_lifecycle_events_on_failure(local: LocalRuntime) -> None:
    # Given a probe on the lifecycle events of the saga bus
    sqs, events = local.client("sqs"), local.client("events")
    url = sqs.create_queue(QueueName="choreography-lifecycle-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = local.deployed.bus_name
    events.put_rule(Name="choreography-probe", EventBusName=bus, EventPattern='{"source": ["sagakit"]}')
    events.put_targets(Rule="choreography-probe", EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
    # When SetupBilling is declined in each style
    orchestrated, _ = run(local, "orchestration", "SetupBilling", "BillingDeclined")
    choreographed, _ = run(local, "choreography", "SetupBilling", "BillingDeclined")
    seen: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def kinds(saga_id: str) -> list[str]:
        return [e["detail-type"] for e in seen if e["detail"]["sagaId"] == saga_id]

    # Then dashboards and alerts see the same story, in the same order
    expected = [
        "SagaStarted",
        "SagaStepCompleted",
        "SagaCompensating",
        "SagaStepCompensated",
        "SagaStepCompensated",
        "SagaFailed",
    ]
    assert kinds(orchestrated.saga_id) == kinds(choreographed.saga_id) == expected
