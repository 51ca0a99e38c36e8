"""What the stack deploys for reliability, read from the synthesized template: the idempotency
table and who may use it, and how."""

from __future__ import annotations

from typing import Any

from infra.reliability import IDEMPOTENCY_ACTIONS
from sagakit.local.deploy import Assembly
from sagakit.runtime.handler import IDEMPOTENCY_TABLE_ENV
from statemachines import all_sagas

IDEMPOTENCY_TABLE = "sagakit-dev-idempotency"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in template["Resources"].items() if r["Type"] == kind}


def idempotency_table(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(logical, table)] = [
        (logical, table)
        for logical, table in resources(template, "AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"] == IDEMPOTENCY_TABLE
    ]
    return logical, table


def saga_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The function of every step and compensation, by command name."""
    commands = {command.name for saga in all_sagas() for command in saga.commands()}
    return {
        function["Properties"]["FunctionName"].rsplit("-", 1)[-1]: function
        for function in resources(template, "AWS::Lambda::Function").values()
        if function["Properties"]["FunctionName"].rsplit("-", 1)[-1] in commands
    }


def test_the_idempotency_table_is_keyed_by_id_expires_records_and_is_recoverable(assembly: Assembly) -> None:
    _, table = idempotency_table(assembly.template)
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_every_step_and_compensation_is_idempotent_and_nothing_else_is(assembly: Assembly) -> None:
    logical, _ = idempotency_table(assembly.template)
    functions = saga_functions(assembly.template)
    assert set(functions) == {c.name for saga in all_sagas() for c in saga.commands()}
    for function in resources(assembly.template, "AWS::Lambda::Function").values():
        environment = function["Properties"].get("Environment", {}).get("Variables", {})
        if function in functions.values():
            assert environment[IDEMPOTENCY_TABLE_ENV] == {"Ref": logical}, function["Properties"]["FunctionName"]
        else:  # the producer, the starters: not saga steps
            assert IDEMPOTENCY_TABLE_ENV not in environment, function["Properties"]["FunctionName"]


def test_only_the_steps_may_use_the_idempotency_table_with_exactly_the_persistence_layers_actions(
    assembly: Assembly,
) -> None:
    logical, _ = idempotency_table(assembly.template)
    table_arn = {"Fn::GetAtt": [logical, "Arn"]}
    step_roles = {
        function["Properties"]["Role"]["Fn::GetAtt"][0] for function in saga_functions(assembly.template).values()
    }
    granted: dict[str, list[Any]] = {}
    for policy in resources(assembly.template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if table_arn in targets:
                for role in policy["Properties"]["Roles"]:
                    granted.setdefault(role["Ref"], []).append(statement["Action"])
    assert set(granted) == step_roles
    for actions in granted.values():
        assert [sorted(a) if isinstance(a, list) else [a] for a in actions] == [sorted(IDEMPOTENCY_ACTIONS)]
