"""Least privilege, read from the synthesized IAM policies.

Every role belongs to a function or a state machine, and may do only this:

- a function: write to its own log group; use its own service's table with exactly the actions
  of the data-access layer; use the idempotency table with exactly Powertools' actions if it is
  given that table (steps and compensations); put events on the bus only if it is given a bus
  name (it publishes); the starter: start its own saga's alias, and send to its own DLQ;
- a state machine: invoke its own saga's functions.

No action has a wildcard. ``Resource: *`` is allowed only for the actions AWS offers no
resource-level permission for (Service Authorization Reference): X-Ray trace upload, and the
CloudWatch Logs delivery actions Step Functions logging needs.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.reliability import IDEMPOTENCY_ACTIONS
from infra.services import TABLE_ACTIONS
from sagakit.runtime.handler import IDEMPOTENCY_TABLE_ENV
from statemachines import all_sagas

if TYPE_CHECKING:
    from conftest import Synthesized

ROOT = Path(__file__).resolve().parents[2]

# AWS constraints, not choices: these actions support no resource-level permissions.
XRAY_UPLOAD = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
XRAY_SAMPLING = frozenset({"xray:GetSamplingRules", "xray:GetSamplingTargets"})
LOG_DELIVERY = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
LOG_WRITE = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})
#: What ``SqsDestination`` and ``grant_send_messages`` grant on the starter's own queue.
QUEUE_SEND = frozenset({"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"})

Allowed = dict[str, frozenset[str]]
"""Actions allowed per resource (the resource as canonical JSON)."""


def key(resource: Any) -> str:
    return json.dumps(resource, sort_keys=True)


def arn(logical: str) -> str:
    return key({"Fn::GetAtt": [logical, "Arn"]})


def of_type(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in raw["Resources"].items() if r["Type"] == kind}


def _grant(allowed: dict[str, set[str]], resource: str, actions: frozenset[str]) -> None:
    allowed.setdefault(resource, set()).update(actions)


def function_allowance(raw: dict[str, Any], function: dict[str, Any]) -> Allowed:
    """What a function's role may do, from what the function is wired to."""
    properties = function["Properties"]
    env: dict[str, Any] = properties.get("Environment", {}).get("Variables", {})
    allowed: dict[str, set[str]] = {}
    _grant(allowed, arn(properties["LoggingConfig"]["LogGroup"]["Ref"]), LOG_WRITE)
    _grant(allowed, key("*"), XRAY_UPLOAD)
    if "TABLE_NAME" in env:
        table = env["TABLE_NAME"]["Ref"]
        # its own service's table: sagakit-<stage>-<service>
        table_name = raw["Resources"][table]["Properties"]["TableName"]
        assert table_name.endswith(f"-{env['POWERTOOLS_SERVICE_NAME']}"), (properties["FunctionName"], table_name)
        _grant(allowed, arn(table), frozenset(TABLE_ACTIONS))
    if IDEMPOTENCY_TABLE_ENV in env:  # a step or compensation: Powertools idempotency
        table = env[IDEMPOTENCY_TABLE_ENV]["Ref"]
        assert raw["Resources"][table]["Properties"]["TableName"].endswith("-idempotency")
        _grant(allowed, arn(table), frozenset(IDEMPOTENCY_ACTIONS))
    for name, value in env.items():
        if name.endswith("EVENT_BUS_NAME"):  # it publishes
            _grant(allowed, arn(value["Ref"]), frozenset({"events:PutEvents"}))
    if "STATE_MACHINE_ARN" in env:  # a starter: its own saga's alias
        alias = env["STATE_MACHINE_ARN"]["Fn::GetAtt"][0]
        assert raw["Resources"][alias]["Type"] == "AWS::StepFunctions::StateMachineAlias"
        _grant(allowed, arn(alias), frozenset({"states:StartExecution"}))
    if "DEAD_LETTER_QUEUE_URL" in env:
        _grant(allowed, arn(env["DEAD_LETTER_QUEUE_URL"]["Ref"]), QUEUE_SEND)
    if "SAGA_INSTANCES_TABLE" in env:  # the lifecycle function
        # it updates the instances table, and reads the histories of this stack's executions
        instances = env["SAGA_INSTANCES_TABLE"]["Ref"]
        _grant(allowed, arn(instances), frozenset({"dynamodb:UpdateItem"}))
        # the choreography's timeout sweep finds RUNNING sagas through the status index
        by_status = {"Fn::Join": ["", [{"Fn::GetAtt": [instances, "Arn"]}, "/index/byStatus"]]}
        _grant(allowed, key(by_status), frozenset({"dynamodb:Query"}))
        for machine in of_type(raw, "AWS::StepFunctions::StateMachine"):
            executions = {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":",
                {"Ref": "AWS::AccountId"}, ":execution:", {"Fn::GetAtt": [machine, "Name"]}, ":*",
            ]]}  # fmt: skip
            _grant(allowed, key(executions), frozenset({"states:GetExecutionHistory"}))
    # Asynchronous invocations that fail go to the function's on-failure destination
    logical = next(name for name, resource in raw["Resources"].items() if resource is function)
    for config in of_type(raw, "AWS::Lambda::EventInvokeConfig").values():
        if config["Properties"]["FunctionName"] == {"Ref": logical}:
            destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
            _grant(allowed, key(destination), QUEUE_SEND)
    return {resource: frozenset(actions) for resource, actions in allowed.items()}


def state_machine_allowance(raw: dict[str, Any], machine: dict[str, Any]) -> Allowed:
    """What a state machine's role may do: invoke its saga's functions (and their versions)."""
    saga = next(s for s in all_sagas() if machine["Metadata"]["sagakit:saga"] == s.name)
    names = {f"{machine['Properties']['StateMachineName'].rsplit('-', 1)[0]}-{c.name}" for c in saga.commands()}
    allowed: dict[str, set[str]] = {key("*"): set(XRAY_UPLOAD | XRAY_SAMPLING | LOG_DELIVERY)}
    for logical, function in of_type(raw, "AWS::Lambda::Function").items():
        if function["Properties"]["FunctionName"] in names:
            names.discard(function["Properties"]["FunctionName"])
            for resource in (
                {"Fn::GetAtt": [logical, "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [logical, "Arn"]}, ":*"]]},
            ):
                _grant(allowed, key(resource), frozenset({"lambda:InvokeFunction"}))
    assert not names, f"functions of {saga.name} not found: {names}"
    return {resource: frozenset(actions) for resource, actions in allowed.items()}


def allowances(raw: dict[str, Any]) -> dict[str, tuple[str, Allowed]]:
    """(owner, allowance) per role logical id."""
    found: dict[str, tuple[str, Allowed]] = {}
    for function in of_type(raw, "AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        found[role] = (function["Properties"]["FunctionName"], function_allowance(raw, function))
    for machine in of_type(raw, "AWS::StepFunctions::StateMachine").values():
        role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        found[role] = (machine["Properties"]["StateMachineName"], state_machine_allowance(raw, machine))
    return found


def violations(raw: dict[str, Any]) -> list[str]:
    """Every way the template's IAM policies exceed the allowances above."""
    problems: list[str] = []
    owners = allowances(raw)
    for logical, role in of_type(raw, "AWS::IAM::Role").items():
        properties = role["Properties"]
        if logical not in owners:
            problems.append(f"role {logical} belongs to no function or state machine: say here what it may do")
        if properties.get("ManagedPolicyArns"):
            problems.append(f"role {logical} has managed policies {properties['ManagedPolicyArns']}")
        if properties.get("Policies"):
            problems.append(f"role {logical} has inline policies")
    for logical, policy in of_type(raw, "AWS::IAM::Policy").items():
        for role_ref in policy["Properties"]["Roles"]:
            owner, allowed = owners.get(role_ref["Ref"], (role_ref["Ref"], {}))
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                if "NotAction" in statement or "NotResource" in statement:
                    problems.append(f"{owner}: NotAction/NotResource in {logical}")
                    continue
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                problems.extend(f"{owner}: wildcard action {a}" for a in actions if "*" in a)
                for resource in resources:
                    extra = set(actions) - allowed.get(key(resource), frozenset())
                    if extra:
                        problems.append(f"{owner}: {sorted(extra)} on {key(resource)} is not allowed")
    return problems


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_role_does_only_what_its_owner_needs(stage: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(stage)

    assert violations(synthesized.raw) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda st: st["Action"].append("dynamodb:*"), "wildcard action dynamodb:*"),
        (lambda st: st.update(Resource="*"), 'on "*" is not allowed'),
        (lambda st: st["Action"].append("dynamodb:Scan"), "['dynamodb:Scan']"),
    ],
)
def test_the_walk_catches_a_wider_grant(dev: Synthesized, change: Any, complaint: str) -> None:
    # Given the table statement of one function's policy, widened
    raw = copy.deepcopy(dev.raw)
    statement = next(
        st
        for policy in of_type(raw, "AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "dynamodb:PutItem" in st["Action"]
    )
    change(statement)

    assert any(complaint in problem for problem in violations(raw)), violations(raw)


def granted_actions(raw: dict[str, Any], role: str) -> set[str]:
    """Every action the policies of ``role`` allow."""
    actions: set[str] = set()
    for policy in of_type(raw, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                actions.update(found if isinstance(found, list) else [found])
    return actions


def test_only_the_functions_that_publish_may_put_events(dev: Synthesized) -> None:
    domain_publishers = set()
    for function in of_type(dev.raw, "AWS::Lambda::Function").values():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        if "events:PutEvents" in granted_actions(dev.raw, properties["Role"]["Fn::GetAtt"][0]):
            # ...only if it is given a bus to publish on: domain events (EVENT_BUS_NAME) or the
            # lifecycle events every step and compensation publishes (SAGA_EVENT_BUS_NAME)
            assert {"EVENT_BUS_NAME", "SAGA_EVENT_BUS_NAME"} & set(variables), properties["FunctionName"]
        if "EVENT_BUS_NAME" in variables:
            domain_publishers.add(properties["FunctionName"])

    # Domain events: today the producer of ClientOnboarded alone
    assert domain_publishers == {"sagakit-dev-OnboardClient"}


# -- the allowances follow the code ------------------------------------------------------------


def _aws_calls(path: Path) -> set[tuple[str, str]]:
    """(service, operation) of every ``aws_client("<service>").<operation>`` in ``path``."""
    calls: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "aws_client"
            and isinstance(node.value.args[0], ast.Constant)
        ):
            calls.add((str(node.value.args[0].value), node.attr))
    return calls


def _iam_action(service: str, operation: str) -> str:
    return f"{service}:{''.join(part.capitalize() for part in operation.split('_'))}"


def test_the_table_actions_are_exactly_what_the_data_access_layer_calls() -> None:
    # Given every boto3 call the services make (only the dal modules talk to AWS)
    calls: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "functions").rglob("*.py")):
        calls |= _aws_calls(path)

    # Then the DynamoDB ones are the table grant, and the only other one is publishing
    assert {_iam_action(s, op) for s, op in calls if s == "dynamodb"} == set(TABLE_ACTIONS)
    assert {_iam_action(s, op) for s, op in calls if s != "dynamodb"} == {"events:PutEvents"}


def test_the_starter_calls_only_what_its_role_allows() -> None:
    source = (ROOT / "sagakit" / "runtime" / "starter.py").read_text()

    # sqs:SendMessage on its queue, states:StartExecution on its alias, and nothing else
    assert set(re.findall(r'_client\("(\w+)"\)', source)) == {"sqs", "stepfunctions"}
    assert set(re.findall(r'_client\("sqs"\)\.(\w+)\(', source)) == {"send_message"}
    assert set(re.findall(r"\bsfn\.(\w+)\(", source)) == {"start_execution"}
