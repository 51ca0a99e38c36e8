"""SetupBilling and RevertBilling against moto DynamoDB."""

from __future__ import annotations

import pytest

from events.billing import BillingProfileCreated, BillingReverted
from functions.billing.errors import BillingConflict, BillingDeclined
from functions.billing.handlers import revert_billing, setup_billing
from sagakit.runtime import InvalidCommand

SERVICE = "billing"
WORKSPACE_CREATED = {
    "WorkspaceCreated": {
        "clientId": "acme-001",
        "workspaceId": "ws-6dc0474ff9bc",
        "createdAt": "2026-11-29T09:15:01.204000Z",
    }
}
FAILURE = {"Error": "States.Timeout", "Cause": ""}


def test_setup_billing_stores_one_profile_on_the_clients_plan(service_tables, saga_command):
    # Given the client's workspace exists
    command = saga_command("SetupBilling", results=WORKSPACE_CREATED)

    # When SetupBilling runs
    result = service_tables.invoke(SERVICE, setup_billing.handler, command)

    # Then one profile on the growth plan is stored, linked to the workspace and the saga
    created = BillingProfileCreated.model_validate(result)
    assert (created.client_id, created.plan, created.billing_profile_id) == ("acme-001", "growth", "bp-6dc0474ff9bc")
    [item] = service_tables.items(SERVICE)
    assert item["billingProfileId"] == created.billing_profile_id
    assert item["workspaceId"] == "ws-6dc0474ff9bc"
    assert item["sagaId"] == "onboard-acme-001"
    assert item["paymentMethod"] == "pm_card_visa"


def test_a_replayed_setup_billing_returns_the_same_event_and_keeps_one_item(service_tables, saga_command):
    # Given SetupBilling already ran for this saga
    command = saga_command("SetupBilling", results=WORKSPACE_CREATED)
    first = service_tables.invoke(SERVICE, setup_billing.handler, command)

    # When the same command is delivered again
    second = service_tables.invoke(SERVICE, setup_billing.handler, command)

    # Then the stored profile is returned and nothing new is written
    assert second == first
    assert len(service_tables.items(SERVICE)) == 1


def test_a_declined_card_is_refused_before_anything_is_written(service_tables, saga_command):
    # Given a client whose payment method is declined
    command = saga_command("SetupBilling", results=WORKSPACE_CREATED, paymentMethod="pm_card_declined")

    # When SetupBilling runs, then it raises BillingDeclined
    with pytest.raises(BillingDeclined, match="pm_card_declined"):
        service_tables.invoke(SERVICE, setup_billing.handler, command)

    # And no billing profile exists
    assert service_tables.items(SERVICE) == []


def test_setup_billing_needs_the_workspace_created_event(service_tables, saga_command):
    # Given a command without the earlier step's WorkspaceCreated
    command = saga_command("SetupBilling")

    # When SetupBilling runs, then it is refused naming the missing result, and writes nothing
    with pytest.raises(InvalidCommand, match=r"results\.WorkspaceCreated: missing"):
        service_tables.invoke(SERVICE, setup_billing.handler, command)
    assert service_tables.items(SERVICE) == []


def test_a_malformed_workspace_created_event_is_refused_naming_its_field(service_tables, saga_command):
    # Given a WorkspaceCreated result without its workspace id
    results = {"WorkspaceCreated": {"clientId": "acme-001", "createdAt": "2026-11-29T09:15:01Z"}}

    # When SetupBilling runs, then the error names the field inside the result
    with pytest.raises(InvalidCommand, match=r"results\.WorkspaceCreated: workspaceId: Field required"):
        service_tables.invoke(SERVICE, setup_billing.handler, saga_command("SetupBilling", results=results))


def test_setup_billing_refuses_a_profile_another_saga_owns(service_tables, saga_command):
    # Given another saga set up the client's billing
    other = saga_command("SetupBilling", saga_id="onboard-acme-001-r1", results=WORKSPACE_CREATED)
    service_tables.invoke(SERVICE, setup_billing.handler, other)

    # When this saga sets up billing, then it is refused and the other profile stays
    with pytest.raises(BillingConflict):
        service_tables.invoke(SERVICE, setup_billing.handler, saga_command("SetupBilling", results=WORKSPACE_CREATED))
    [item] = service_tables.items(SERVICE)
    assert item["sagaId"] == "onboard-acme-001-r1"


def test_revert_billing_without_a_profile_is_a_no_op(service_tables, saga_command):
    # Given SetupBilling never wrote anything
    command = saga_command("RevertBilling", results=WORKSPACE_CREATED, error=FAILURE)

    # When RevertBilling runs
    result = service_tables.invoke(SERVICE, revert_billing.handler, command)

    # Then it succeeds without reverting anything
    assert BillingReverted.model_validate(result) == BillingReverted(
        client_id="acme-001", billing_profile_id=None, reverted=False
    )


def test_revert_billing_removes_the_profile_this_saga_created(service_tables, saga_command):
    # Given this saga set up billing
    created = service_tables.invoke(
        SERVICE, setup_billing.handler, saga_command("SetupBilling", results=WORKSPACE_CREATED)
    )

    # When RevertBilling runs
    command = saga_command("RevertBilling", results=WORKSPACE_CREATED, error=FAILURE)
    result = service_tables.invoke(SERVICE, revert_billing.handler, command)

    # Then the profile is gone
    assert result == {"clientId": "acme-001", "billingProfileId": created["billingProfileId"], "reverted": True}
    assert service_tables.items(SERVICE) == []


def test_revert_billing_leaves_another_sagas_profile(service_tables, saga_command):
    # Given another saga owns the client's billing profile
    other = saga_command("SetupBilling", saga_id="onboard-acme-001-r1", results=WORKSPACE_CREATED)
    service_tables.invoke(SERVICE, setup_billing.handler, other)

    # When this saga reverts billing
    command = saga_command("RevertBilling", error=FAILURE)
    result = service_tables.invoke(SERVICE, revert_billing.handler, command)

    # Then the profile stays
    assert result["reverted"] is False
    assert len(service_tables.items(SERVICE)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["detail"].pop("clientId"), "detail.clientId"),
        (lambda c: c["detail"].update(paymentMethod=7), "detail.paymentMethod"),
        (lambda c: c["detail"].update(onboardedAt="2026-11-29T09:15:00"), "detail.onboardedAt"),
        (lambda c: c.pop("step"), "step"),
    ],
    ids=["missing clientId", "paymentMethod not a string", "naive onboardedAt", "missing step"],
)
def test_bad_input_is_refused_naming_the_field(service_tables, saga_command, change, field):
    # Given a command with one wrong field
    command = saga_command("SetupBilling", results=WORKSPACE_CREATED)
    change(command)

    # When SetupBilling runs, then it is refused naming that field, and nothing is written
    with pytest.raises(InvalidCommand, match=rf"{field}: "):
        service_tables.invoke(SERVICE, setup_billing.handler, command)
    assert service_tables.items(SERVICE) == []
