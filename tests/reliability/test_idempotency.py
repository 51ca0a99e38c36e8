"""Idempotency inside ``saga_handler``, handler by handler, against a moto idempotency table built
as the stack builds it (partition key ``id``, TTL on ``expiration``).

The end-to-end counterparts (a lost reply replayed through Step Functions, the validation error
reaching a Catch) are in ``test_saga_reliability.py``.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from events.ai_workspace import WorkspaceCreated
from functions.ai_workspace.errors import WorkspaceConflict
from functions.ai_workspace.handlers import create_workspace, delete_workspace
from sagakit.runtime import SagaCommand, TransientError, saga_handler
from sagakit.runtime.aws import aws_client
from sagakit.runtime.handler import IDEMPOTENCY_TABLE_ENV
from tests.conftest import ServiceTables

SERVICE = "ai-workspace"
TABLE = "idempotency-test"
STAMP = "2026-11-29T09:15:00Z"


@pytest.fixture
def idempotency(service_tables: ServiceTables, monkeypatch: pytest.MonkeyPatch) -> str:
    """An idempotency table, and the handlers told to use it (as the stack's functions are)."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    monkeypatch.setenv(IDEMPOTENCY_TABLE_ENV, TABLE)
    return TABLE


def records() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return [{key: next(iter(value.values())) for key, value in item.items()} for item in items]


def test_a_replayed_step_gets_the_stored_answer_and_the_logic_does_not_run_again(
    service_tables: ServiceTables, saga_command: Any, idempotency: str
) -> None:
    # Given CreateWorkspace ran once for this saga, and its workspace was then removed by hand
    command = saga_command("CreateWorkspace")
    first = service_tables.invoke(SERVICE, create_workspace.handler, command)
    boto3.client("dynamodb").delete_item(
        TableName=service_tables.table_name(SERVICE), Key={"clientId": {"S": "acme-001"}}
    )

    # When the same saga step is delivered again (a retry after a lost reply)
    second = service_tables.invoke(SERVICE, create_workspace.handler, command)

    # Then it answers what it answered the first time, without writing again: the answer came
    # from the idempotency record, one per saga id and step, kept with an expiry
    assert second == first
    assert WorkspaceCreated.model_validate(second).workspace_id == "ws-6dc0474ff9bc"
    assert service_tables.items(SERVICE) == []
    [record] = records()
    assert record["status"] == "COMPLETED"
    assert int(record["expiration"]) > 0


def test_the_key_is_the_saga_id_and_step_not_the_payload(
    service_tables: ServiceTables, saga_command: Any, idempotency: str
) -> None:
    # Given a compensation that ran once, with one failure as its cause
    first = saga_command("DeleteWorkspace", error={"Error": "BillingDeclined", "Cause": "declined"})
    service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))
    answer = service_tables.invoke(SERVICE, delete_workspace.handler, first)

    # When the same step of the same saga comes again with other results and another error (a
    # redrive carries the state's input as it was then), it is the same step: the same answer
    again = saga_command(
        "DeleteWorkspace",
        results={
            "WorkspaceCreated": {"clientId": "acme-001", "workspaceId": "ws-1", "createdAt": "2026-11-29T09:15:00Z"}
        },
        error={"Error": "Sandbox.Timedout", "Cause": "timed out"},
    )
    assert service_tables.invoke(SERVICE, delete_workspace.handler, again) == answer

    # And another saga's same step is another key
    other = service_tables.invoke(
        SERVICE, delete_workspace.handler, saga_command("DeleteWorkspace", saga_id="onboard-x")
    )
    assert other["deleted"] is False
    assert len(records()) == 3


def test_the_same_key_with_another_detail_is_refused_by_name(
    service_tables: ServiceTables, saga_command: Any, idempotency: str
) -> None:
    # Given CreateWorkspace ran for saga onboard-acme-001
    service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))

    # When the same saga id and step arrive with a different trigger detail
    with pytest.raises(IdempotencyValidationError) as refused:
        service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace", plan="enterprise"))

    # Then it is refused under the class name Step Functions will see as the error
    assert type(refused.value).__name__ == "IdempotencyValidationError"
    assert len(service_tables.items(SERVICE)) == 1


def test_a_refused_step_keeps_no_record_so_its_retry_runs_the_logic(
    service_tables: ServiceTables, saga_command: Any, idempotency: str
) -> None:
    # Given another saga owns the client's workspace, so this saga's CreateWorkspace is refused
    service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace", saga_id="onboard-other"))
    with pytest.raises(WorkspaceConflict):
        service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))
    assert len(records()) == 1  # the other saga's

    # When the conflict is gone and the step runs again, the logic runs (nothing was replayed)
    boto3.client("dynamodb").delete_item(
        TableName=service_tables.table_name(SERVICE), Key={"clientId": {"S": "acme-001"}}
    )
    created = service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))
    assert created["workspaceId"] == "ws-6dc0474ff9bc"
    assert [r["status"] for r in records()] == ["COMPLETED", "COMPLETED"]


class Probe(SagaCommand[dict[str, Any]]):  # type: ignore[type-var]
    """A command for a step whose logic re-enters its own handler, as an overtaking retry would."""


@pytest.mark.filterwarnings("ignore:Dimension 'step' has already been added")
def test_a_step_already_in_progress_is_a_transient_error_so_step_functions_retries_it(
    service_tables: ServiceTables, saga_command: Any, idempotency: str, lambda_context: Any
) -> None:
    seen: list[BaseException] = []

    @saga_handler(service="probe", command=Probe)
    def probe(command: Probe) -> Probe:
        # While this attempt runs, the same saga step arrives again
        try:
            probe(event, lambda_context)
        except Exception as error:
            seen.append(error)
        return command

    event = saga_command("Probe")
    probe(event, lambda_context)
    [error] = seen
    assert type(error) is TransientError
    assert "already in progress" in str(error)


def test_the_idempotency_records_go_through_the_steps_own_dynamodb_client(
    service_tables: ServiceTables, saga_command: Any, idempotency: str
) -> None:
    # Given the DynamoDB client every data-access layer of the function uses
    client = aws_client("dynamodb")
    seen: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        seen.append((model.name, params.get("TableName", "")))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    try:
        # When a step runs under idempotency
        service_tables.invoke(SERVICE, create_workspace.handler, saga_command("CreateWorkspace"))
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", record)

    # Then its idempotency record and its own write went through that one client: Powertools
    # made no boto3 session of its own, which would load the DynamoDB model a second time at
    # every cold start
    tables = {table for _, table in seen}
    assert {TABLE, service_tables.table_name(SERVICE)} <= tables
    assert ("PutItem", TABLE) in seen
