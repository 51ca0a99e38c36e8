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


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every alarm's properties, by alarm name."""
    found = resources(template, "AWS::CloudWatch::Alarm").values()
    return {alarm["Properties"]["AlarmName"]: alarm["Properties"] for alarm in found}


ORCHESTRATED = [saga for saga in all_sagas() if saga.style == "orchestration"]


def test_a_compensation_that_keeps_failing_raises_its_sagas_alarm(assembly: Assembly) -> None:
    template = assembly.template
    for saga in ORCHESTRATED:
        # The lifecycle function counts SagaCompensationFailed per saga (EMF), from Step Functions'
        # status changes of the saga's state machine; one such saga in 5 minutes raises the alarm
        alarm = alarms(template)[f"sagakit-dev-{saga.name}-CompensationFailed"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("Sagas", "SagaCompensationFailed")
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"saga": saga.name, "service": "saga-lifecycle"}
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"
        [machine] = [
            logical
            for logical, r in resources(template, "AWS::StepFunctions::StateMachine").items()
            if r["Properties"]["StateMachineName"] == f"sagakit-dev-{saga.name}"
        ]
        watched = [
            rule["Properties"]
            for rule in resources(template, "AWS::Events::Rule").values()
            if rule["Properties"].get("EventPattern", {}).get("source") == ["aws.states"]
        ]
        assert any(
            rule["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
            and {"Ref": machine} in rule["EventPattern"]["detail"]["stateMachineArn"]
            for rule in watched
        )


def test_an_event_left_in_a_sagas_dead_letter_queue_raises_an_alarm(assembly: Assembly) -> None:
    template = assembly.template
    for saga in all_sagas():
        [queue] = [
            logical
            for logical, r in resources(template, "AWS::SQS::Queue").items()
            if r["Properties"].get("QueueName") == f"sagakit-dev-{saga.name}-dlq"
        ]
        alarm = alarms(template)[f"sagakit-dev-{saga.name}-DeadLetters"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
