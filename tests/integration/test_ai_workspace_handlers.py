"""CreateWorkspace, DeleteWorkspace and DiscardWorkspace against moto DynamoDB."""

from __future__ import annotations

import pytest

from events.ai_workspace import WorkspaceCreated, WorkspaceDeleted, WorkspaceDiscarded
from functions.ai_workspace.errors import WorkspaceConflict
from functions.ai_workspace.handlers import create_workspace, delete_workspace, discard_workspace
from sagakit.runtime import InvalidCommand

SERVICE = "ai-workspace"
FAILURE = {"Error": "BillingDeclined", "Cause": '{"errorMessage": "declined"}'}


def test_create_workspace_stores_one_workspace_owned_by_the_saga(service_tables, saga_command):
    # Given an onboarded client and no workspace
    command = saga_command("CreateWorkspace")

    # When CreateWorkspace runs
    result = service_tables.invoke(SERVICE, create_workspace.handler, command)

    # Then it returns WorkspaceCreated with a deterministic id, stored once under the client
    created = WorkspaceCreated.model_validate(result)
    assert created.client_id == "acme-001"
    assert created.workspace_id == "ws-6dc0474ff9bc"
    [item] = service_tables.items(SERVICE)
    assert item["clientId"] == "acme-001"
    assert item["workspaceId"] == created.workspace_id
    assert item["sagaId"] == "onboard-acme-001"
    assert item["status"] == "ACTIVE"


def test_a_replayed_create_workspace_returns_the_same_event_and_keeps_one_item(service_tables, saga_command):
    # Given CreateWorkspace already ran for this saga
    command = saga_command("CreateWorkspace")
    first = service_tables.invoke(SERVICE, create_workspace.handler, command)

    # When the same command is delivered again
    second = service_tables.invoke(SERVICE, create_workspace.handler, command)

    # Then the stored workspace is returned unchanged and nothing new is written
    assert second == first
    assert len(service_tables.items(SERVICE)) == 1


def test_create_workspace_refuses_a_workspace_another_saga_owns(service_tables, saga_command):
    # Given another saga created the client's workspace
    service_tables.invoke(
        SERVICE, create_workspace.handler, saga_command("CreateWorkspace", saga_id="onboard-acme-001-r1")
    )

    # When this saga tries to create it
    with pytest.raises(WorkspaceConflict, match="owned by saga onboard-acme-001-r1"):
        service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))

    # Then the other saga's workspace is untouched
    [item] = service_tables.items(SERVICE)
    assert item["sagaId"] == "onboard-acme-001-r1"


def test_delete_workspace_without_a_workspace_is_a_no_op(service_tables, saga_command):
    # Given CreateWorkspace never ran
    command = saga_command("DeleteWorkspace", error=FAILURE)

    # When the compensation runs
    result = service_tables.invoke(SERVICE, delete_workspace.handler, command)

    # Then it succeeds without deleting anything
    assert WorkspaceDeleted.model_validate(result) == WorkspaceDeleted(
        client_id="acme-001", workspace_id=None, deleted=False
    )


def test_delete_workspace_removes_the_workspace_this_saga_created(service_tables, saga_command):
    # Given this saga created the workspace
    created = service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))

    # When the compensation runs, twice (at-least-once delivery)
    first = service_tables.invoke(SERVICE, delete_workspace.handler, saga_command("DeleteWorkspace", error=FAILURE))
    second = service_tables.invoke(SERVICE, delete_workspace.handler, saga_command("DeleteWorkspace", error=FAILURE))

    # Then the first deletes it and the second finds nothing left to do
    assert first == {"clientId": "acme-001", "workspaceId": created["workspaceId"], "deleted": True}
    assert second["deleted"] is False
    assert service_tables.items(SERVICE) == []


def test_delete_workspace_leaves_another_sagas_workspace(service_tables, saga_command):
    # Given another saga owns the client's workspace
    service_tables.invoke(
        SERVICE, create_workspace.handler, saga_command("CreateWorkspace", saga_id="onboard-acme-001-r1")
    )

    # When this saga compensates
    result = service_tables.invoke(SERVICE, delete_workspace.handler, saga_command("DeleteWorkspace", error=FAILURE))

    # Then the workspace stays
    assert result["deleted"] is False
    assert len(service_tables.items(SERVICE)) == 1


TIMED_OUT = {"Error": "States.Timeout", "Cause": '{"errorMessage": "CreateWorkspace timed out"}'}


def test_discard_workspace_undoes_a_create_whose_write_landed(service_tables, saga_command):
    # Given CreateWorkspace wrote the workspace, then timed out (its outcome uncertain)
    created = service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))

    # When its undo runs, twice (at-least-once delivery)
    first = service_tables.invoke(SERVICE, discard_workspace.handler, saga_command("DiscardWorkspace", error=TIMED_OUT))
    second = service_tables.invoke(
        SERVICE, discard_workspace.handler, saga_command("DiscardWorkspace", error=TIMED_OUT)
    )

    # Then the first removes it, the second finds nothing left, and the table is empty
    assert WorkspaceDiscarded.model_validate(first) == WorkspaceDiscarded(
        client_id="acme-001", workspace_id=created["workspaceId"], discarded=True
    )
    assert second["discarded"] is False
    assert service_tables.items(SERVICE) == []


def test_discard_workspace_without_a_write_is_a_no_op_and_spares_another_sagas_workspace(service_tables, saga_command):
    # Given another saga owns the client's workspace, and this saga's CreateWorkspace wrote nothing
    service_tables.invoke(
        SERVICE, create_workspace.handler, saga_command("CreateWorkspace", saga_id="onboard-acme-001-r1")
    )

    # When this saga's undo runs
    result = service_tables.invoke(
        SERVICE, discard_workspace.handler, saga_command("DiscardWorkspace", error=TIMED_OUT)
    )

    # Then nothing is discarded and the other saga's workspace stays
    assert result == {"clientId": "acme-001", "workspaceId": None, "discarded": False}
    [item] = service_tables.items(SERVICE)
    assert item["sagaId"] == "onboard-acme-001-r1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["detail"].pop("clientId"), "detail.clientId"),
        (lambda c: c["detail"].update(clientId=42), "detail.clientId"),
        (lambda c: c["detail"].update(plan="platinum"), "detail.plan"),
        (lambda c: c.update(sagaId="has spaces"), "sagaId"),
    ],
    ids=["missing clientId", "clientId not a string", "unknown plan", "bad sagaId"],
)
def test_bad_input_is_refused_naming_the_field(service_tables, saga_command, change, field):
    # Given a command with one wrong field
    command = saga_command("CreateWorkspace")
    change(command)

    # When CreateWorkspace runs, then it is refused naming that field, and nothing is written
    with pytest.raises(InvalidCommand, match=rf"{field}: "):
        service_tables.invoke(SERVICE, create_workspace.handler, command)
    assert service_tables.items(SERVICE) == []
