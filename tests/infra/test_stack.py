"""The stack a stage deploys: the services' tables and functions, the bus, the trigger rule and
the state machine's permissions."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Match

import infra.stack as stack_module
from infra.app import build_app
from sagakit.definition import SagaStyle, service_package
from sagakit.local.runtime import KIT_TABLES as RUNTIME_KIT_TABLES
from statemachines import all_sagas
from statemachines.onboard_client import OnboardClientSaga

if TYPE_CHECKING:
    # The fixtures' type; tests/infra is not a package (it would shadow ``infra``).
    from conftest import Synthesized

#: Every service a saga's commands name (a scaffolded saga's new services too): each has a table.
SERVICES = sorted({command.service for saga in all_sagas() for command in saga.commands()})
ONBOARDING_SERVICES = {"clients", "ai-workspace", "billing", "notifications"}
STARTER = "sagakit-dev-OnboardClientSaga-starter"
#: Tables of the kit rather than of a service: Powertools idempotency (infra/reliability.py) and
#: the saga instances, as the offline runtime names them.
KIT_TABLES = list(RUNTIME_KIT_TABLES)


def resources(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of type ``kind``, by logical id."""
    return {logical: resource for logical, resource in raw["Resources"].items() if resource["Type"] == kind}


def logical_id(raw: dict[str, Any], kind: str, **properties: Any) -> str:
    """The logical id of the one resource of type ``kind`` with these ``properties``."""
    found = [
        logical
        for logical, resource in resources(raw, kind).items()
        if all(resource["Properties"].get(key) == value for key, value in properties.items())
    ]
    assert len(found) == 1, f"{len(found)} {kind} with {properties}"
    return found[0]


def function_names(raw: dict[str, Any]) -> dict[str, str]:
    """Function name (``sagakit-dev-SetupBilling``) by logical id."""
    return {
        logical: resource["Properties"]["FunctionName"]
        for logical, resource in resources(raw, "AWS::Lambda::Function").items()
    }


# -- tables ---------------------------------------------------------------------------------


def test_each_service_has_one_table(dev: Synthesized) -> None:
    tables = sorted(r["Properties"]["TableName"] for r in resources(dev.raw, "AWS::DynamoDB::Table").values())

    assert set(SERVICES) >= ONBOARDING_SERVICES

    assert tables == sorted(f"sagakit-dev-{name}" for name in SERVICES + KIT_TABLES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_table_is_keyed_by_client_encrypted_and_recoverable(dev: Synthesized, service: str) -> None:
    # The key the service's data-access layer uses is the key the table is built with
    key = importlib.import_module(f"functions.{service_package(service)}.dal").PARTITION_KEY
    assert key == "clientId"

    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"sagakit-dev-{service}",
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "SSESpecification": {"SSEEnabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_prod_keeps_its_tables_when_the_stack_is_deleted(prod: Synthesized) -> None:
    tables = resources(prod.raw, "AWS::DynamoDB::Table")

    assert len(tables) == len(SERVICES) + len(KIT_TABLES)
    assert {r["DeletionPolicy"] for r in tables.values()} == {"Retain"}
    assert {r["UpdateReplacePolicy"] for r in tables.values()} == {"Retain"}


def test_dev_deletes_its_tables_with_the_stack(dev: Synthesized) -> None:
    tables = resources(dev.raw, "AWS::DynamoDB::Table")

    assert {r["DeletionPolicy"] for r in tables.values()} == {"Delete"}


# -- functions ------------------------------------------------------------------------------


def test_every_command_and_the_starter_have_a_function(dev: Synthesized) -> None:
    names = set(function_names(dev.raw).values())

    sagas = all_sagas()
    commands = {f"sagakit-dev-{command.name}" for saga in sagas for command in saga.commands()}
    starters = {f"sagakit-dev-{saga.name}-starter" for saga in sagas if saga.style is SagaStyle.ORCHESTRATION}
    assert {f"sagakit-dev-{command.name}" for command in OnboardClientSaga.commands()} <= commands
    assert STARTER in starters
    assert commands | starters | {"sagakit-dev-OnboardClient", "sagakit-dev-saga-lifecycle"} == names


def test_every_function_runs_on_arm64_traced_with_logs_that_expire(dev: Synthesized) -> None:
    log_groups = resources(dev.raw, "AWS::Logs::LogGroup")
    functions = resources(dev.raw, "AWS::Lambda::Function")
    assert functions

    for resource in functions.values():
        properties = resource["Properties"]
        name = properties["FunctionName"]
        assert properties["Architectures"] == ["arm64"], name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        log_group = log_groups[properties["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == 14, name


# -- the bus and the trigger ----------------------------------------------------------------


def test_the_stage_has_its_own_event_bus(dev: Synthesized) -> None:
    dev.template.has_resource_properties("AWS::Events::EventBus", {"Name": "sagakit-dev-bus"})


def test_client_onboarded_on_the_bus_invokes_the_starter_with_a_dead_letter_queue(dev: Synthesized) -> None:
    # Given the bus, the starter and the saga's dead-letter queue
    bus = logical_id(dev.raw, "AWS::Events::EventBus", Name="sagakit-dev-bus")
    starter = logical_id(dev.raw, "AWS::Lambda::Function", FunctionName=STARTER)
    queue = logical_id(dev.raw, "AWS::SQS::Queue", QueueName="sagakit-dev-OnboardClientSaga-dlq")

    # Then a rule on that bus sends the clients service's ClientOnboarded to the starter, and
    # an event it cannot deliver lands in the queue instead of being dropped
    dev.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": bus},
            "EventPattern": {"source": ["clients"], "detail-type": ["ClientOnboarded"]},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [starter, "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue, "Arn"]}},
                    }
                )
            ],
        },
    )


def test_the_starter_names_the_execution_after_the_client_and_starts_it_on_the_alias(dev: Synthesized) -> None:
    # The alias, never the bare state machine: executions run the published version
    (alias,) = [
        logical
        for logical, resource in resources(dev.raw, "AWS::StepFunctions::StateMachineAlias").items()
        if logical.startswith(OnboardClientSaga.name) and resource["Properties"]["Name"] == "live"
    ]

    dev.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": STARTER,
            "Environment": {
                "Variables": Match.object_like(
                    {"STATE_MACHINE_ARN": {"Fn::GetAtt": [alias, "Arn"]}, "SAGA_ID_TEMPLATE": "onboard-{clientId}"}
                )
            },
        },
    )


def test_the_dead_letter_queue_is_encrypted(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "sagakit-dev-OnboardClientSaga-dlq", "SqsManagedSseEnabled": True}
    )


# -- permissions ----------------------------------------------------------------------------


def _invoked_functions(raw: dict[str, Any], role: str) -> set[str]:
    """Names of the functions that the policies of ``role`` allow to be invoked."""
    names = function_names(raw)
    invoked: set[str] = set()
    for policy in resources(raw, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(action in ("lambda:InvokeFunction", "lambda:*", "*") for action in actions):
                continue
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                assert target != "*", "the state machine may invoke any function"
                get_att = target.get("Fn::GetAtt") or target["Fn::Join"][1][0]["Fn::GetAtt"]
                invoked.add(names[get_att[0]])
    return invoked


def test_the_state_machine_may_invoke_only_its_sagas_functions(dev: Synthesized) -> None:
    # Given the state machine's role
    machine = resources(dev.raw, "AWS::StepFunctions::StateMachine")[
        logical_id(dev.raw, "AWS::StepFunctions::StateMachine", StateMachineName="sagakit-dev-OnboardClientSaga")
    ]
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]

    # When its policies are read
    invoked = _invoked_functions(dev.raw, role)

    # Then it may invoke the saga's steps and compensations, and nothing else
    assert invoked == {f"sagakit-dev-{command.name}" for command in OnboardClientSaga.commands()}
    assert STARTER not in invoked
    assert "sagakit-dev-OnboardClient" not in invoked


# -- stages ---------------------------------------------------------------------------------


def test_an_unknown_stage_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"^stage: unknown stage 'staging'; use one of dev, prod$"):
        build_app("staging")


# -- CloudFormation's resource quota ---------------------------------------------------------


def quota_warnings(stack: Any) -> list[str]:
    """The messages of the stack's resource-quota warnings (``sagakit:resourceQuota``)."""
    from aws_cdk.assertions import Annotations

    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("CloudFormation allows"))
    return [str(message.entry.data) for message in found]


def test_a_stack_far_below_the_resource_quota_does_not_warn(dev: Synthesized) -> None:
    assert len(dev.raw["Resources"]) < stack_module.RESOURCE_WARNING
    assert quota_warnings(dev.stack) == []


def test_a_stack_near_the_resource_quota_warns_at_synth_naming_the_count_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # Given a warning threshold below the dev stack's resource count
    monkeypatch.setattr(stack_module, "RESOURCE_WARNING", 10)
    # When the app is built and synthesized
    app, stack = build_app("dev", outdir=str(tmp_path))
    app.synth()
    # Then the stack warns once, with its count, the quota and what to do
    (message,) = quota_warnings(stack)
    count = len(json.loads((tmp_path / f"{stack.stack_name}.template.json").read_text())["Resources"])
    assert message.startswith(f"{count} resources for ")
    assert "CloudFormation allows 500 per stack" in message
    assert "share commands" in message
