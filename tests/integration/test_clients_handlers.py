"""OnboardClient and DeleteTenant against moto DynamoDB and EventBridge."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from events import parse_event
from events.clients import ClientOnboarded, TenantDeleted
from functions.clients.errors import TenantAlreadyExists
from functions.clients.handlers import delete_tenant, onboard_client
from functions.shared.dal import EventNotPublished, aws_client
from sagakit.runtime import InvalidCommand, TransientError

SERVICE = "clients"
FAILURE = {"Error": "WorkspaceConflict", "Cause": ""}


def test_onboard_client_stores_the_tenant_and_publishes_one_client_onboarded(service_tables, onboarded_detail):
    # Given a new client
    # When OnboardClient runs
    result = service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)

    # Then the tenant is stored as ACTIVE
    [item] = service_tables.items(SERVICE)
    assert item == {
        "clientId": "acme-001",
        "companyName": "Acme Corporation",
        "contactEmail": "jane.doe@acme.example",
        "plan": "growth",
        "onboardedAt": "2026-11-29T09:15:00Z",
        "status": "ACTIVE",
    }
    # And exactly one ClientOnboarded from source clients carries the same detail
    [published] = service_tables.published()
    assert (published["source"], published["detail-type"]) == ("clients", "ClientOnboarded")
    assert parse_event(published) == ClientOnboarded.model_validate(onboarded_detail)
    assert result == {"clientId": "acme-001", "eventId": published["id"]}


def test_a_retried_onboarding_publishes_again_but_stores_one_tenant(service_tables, onboarded_detail):
    # Given the onboarding was stored (perhaps its first attempt died before publishing)
    service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)

    # When the same onboarding is retried
    service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)

    # Then the event is published again (consumers are idempotent) and one tenant exists
    assert len(service_tables.published()) == 2
    assert len(service_tables.items(SERVICE)) == 1


def test_a_taken_client_id_is_refused_and_nothing_is_published(service_tables, onboarded_detail):
    # Given acme-001 was onboarded
    service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)
    service_tables.published()

    # When another onboarding claims the same client id
    later = {**onboarded_detail, "onboardedAt": "2026-12-01T08:00:00Z", "companyName": "Acme Two"}
    with pytest.raises(TenantAlreadyExists, match="acme-001 was already onboarded"):
        service_tables.invoke(SERVICE, onboard_client.handler, later)

    # Then the first tenant is kept and no event is published
    [item] = service_tables.items(SERVICE)
    assert item["companyName"] == "Acme Corporation"
    assert service_tables.published() == []


def test_an_entry_the_bus_refuses_fails_the_onboarding(service_tables, onboarded_detail):
    # Given EventBridge answers with a failed entry (moto never does, so it is stubbed)
    stubber = Stubber(aws_client("events"))
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}]},
    )

    # When OnboardClient runs, then it fails with a retryable error naming the cause
    with stubber, pytest.raises(EventNotPublished, match="ThrottlingException: Rate exceeded") as raised:
        service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)
    assert isinstance(raised.value, TransientError)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("clientId"), "clientId"),
        (lambda d: d.update(clientId=["acme"]), "clientId"),
        (lambda d: d.update(companyName=""), "companyName"),
        (lambda d: d.update(paymentMethod="card_visa"), "paymentMethod"),
    ],
    ids=["missing clientId", "clientId not a string", "empty company name", "not a payment method"],
)
def test_bad_input_is_refused_naming_the_field(service_tables, onboarded_detail, change, field):
    # Given an onboarding with one wrong field
    change(onboarded_detail)

    # When OnboardClient runs, then it is refused naming that field
    with pytest.raises(InvalidCommand, match=rf"OnboardClient: {field}: "):
        service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)

    # And nothing is stored or published
    assert service_tables.items(SERVICE) == []
    assert service_tables.published() == []


def test_delete_tenant_without_a_tenant_is_a_no_op(service_tables, saga_command):
    # Given no tenant is stored
    # When the compensation runs
    result = service_tables.invoke(SERVICE, delete_tenant.handler, saga_command("DeleteTenant", error=FAILURE))

    # Then it succeeds, deleting nothing
    assert TenantDeleted.model_validate(result) == TenantDeleted(client_id="acme-001", deleted=False)


def test_delete_tenant_removes_the_tenant_of_this_onboarding(service_tables, onboarded_detail, saga_command):
    # Given the client was onboarded with a non-UTC timestamp
    onboarded_detail["onboardedAt"] = "2026-11-29T10:15:00+01:00"
    service_tables.invoke(SERVICE, onboard_client.handler, onboarded_detail)

    # When the saga started by that onboarding compensates
    command = saga_command("DeleteTenant", error=FAILURE, onboardedAt="2026-11-29T10:15:00+01:00")
    result = service_tables.invoke(SERVICE, delete_tenant.handler, command)

    # Then the tenant is gone
    assert result == {"clientId": "acme-001", "deleted": True}
    assert service_tables.items(SERVICE) == []


def test_delete_tenant_leaves_the_tenant_of_a_later_onboarding(service_tables, onboarded_detail, saga_command):
    # Given the client id now belongs to a later onboarding
    later = {**onboarded_detail, "onboardedAt": "2026-12-01T08:00:00Z"}
    service_tables.invoke(SERVICE, onboard_client.handler, later)

    # When a late compensation of the earlier onboarding's saga runs
    result = service_tables.invoke(SERVICE, delete_tenant.handler, saga_command("DeleteTenant", error=FAILURE))

    # Then the later tenant stays
    assert result["deleted"] is False
    assert len(service_tables.items(SERVICE)) == 1
