"""The choreographed saga in the synthesized template: rules instead of a state machine, every
target with a dead-letter queue, alarms, the deadline sweep, and the orchestrated saga untouched.

(cdk-nag runs at every synthesis, so the assembly these tests read passed it.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagakit.asl import definitions_from_template
from sagakit.local.deploy import Assembly
from tests.choreography.conftest import CHOREOGRAPHED, ORCHESTRATED


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def template(assembly: Assembly) -> dict[str, Any]:
    return assembly.template


@pytest.fixture(scope="module")
def rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The choreographed saga's rules, by logical id."""
    return {
        logical: r
        for logical, r in resources(template, "AWS::Events::Rule").items()
        if r.get("Metadata", {}).get("sagakit:choreography") == CHOREOGRAPHED
    }


def test_only_the_orchestrated_saga_has_a_state_machine_and_an_asl(template: dict[str, Any]) -> None:
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    assert [m["Metadata"]["sagakit:saga"] for m in machines.values()] == [ORCHESTRATED]
    assert set(definitions_from_template(template)) == {ORCHESTRATED}


def test_one_event_never_starts_both_sagas(template: dict[str, Any], rules: dict[str, dict[str, Any]]) -> None:
    patterns = [r["Properties"].get("EventPattern", {}) for r in resources(template, "AWS::Events::Rule").values()]
    starts = [p for p in patterns if p.get("source") == ["clients"]]
    assert sorted(p["detail-type"][0] for p in starts) == ["ClientOnboarded", "ClientOnboardedChoreography"]
    assert all(len(p["detail-type"]) == 1 for p in starts)


def test_every_function_target_has_a_dead_letter_queue_and_retries(rules: dict[str, dict[str, Any]]) -> None:
    # trigger, 3 successes, 5 failures, 4 compensations, 2 late undos, late successes, the sweep
    assert len(rules) == 17
    for logical, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        assert target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0) >= 2, logical
        assert "DeadLetterConfig" in target, logical


def test_a_step_gets_its_route_and_the_whole_event(rules: dict[str, dict[str, Any]]) -> None:
    rule = next(
        r for logical, r in rules.items() if logical.startswith(f"{CHOREOGRAPHED}WorkspaceCreatedToSetupBilling")
    )
    assert rule["Properties"]["EventPattern"] == {
        "source": ["sagakit.choreography"],
        "detail-type": ["WorkspaceCreated"],
        "detail": {"saga": {"name": [CHOREOGRAPHED]}, "step": ["CreateWorkspace"]},
    }
    template = rule["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"]
    route, event = template.split(', "event": ')
    assert event == "<aws.events.event.json>}"
    assert json.loads(route + "}")["choreography"] == {
        "saga": CHOREOGRAPHED,
        "version": "1",
        "kind": "step",
        "command": "SetupBilling",
        "emits": "BillingProfileCreated",
        "retryOn": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Lambda.Unknown",
            "TransientError",
        ],
    }


def test_the_deadline_sweep_runs_every_minute_on_the_lifecycle_function(rules: dict[str, dict[str, Any]]) -> None:
    (sweep,) = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    assert sweep["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    target = sweep["Properties"]["Targets"][0]
    assert json.loads(target["Input"])["choreography"]["kind"] == "sweep"
    assert target["Arn"]["Fn::GetAtt"][0].startswith("ObservabilityLifecycle")


def test_the_dead_letter_queue_and_the_deadline_have_alarms(template: dict[str, Any]) -> None:
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    dead_letters = alarms[f"sagakit-dev-{CHOREOGRAPHED}-DeadLetters"]
    assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead_letters["Threshold"] == 1
    assert alarms[f"sagakit-dev-{CHOREOGRAPHED}-PastDeadline"]["MetricName"] == "SagaTimedOut"
    assert alarms[f"sagakit-dev-{CHOREOGRAPHED}-CompensationFailed"]["MetricName"] == "SagaCompensationFailed"
    assert alarms[f"sagakit-dev-{CHOREOGRAPHED}-LateSuccess"]["MetricName"] == "SagaLateSuccess"


def test_the_step_functions_may_claim_steps_on_the_instance_record(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    set_up = next(f for f in functions.values() if f["Properties"]["FunctionName"] == "sagakit-dev-SetupBilling")
    assert "SAGA_INSTANCES_TABLE" in set_up["Properties"]["Environment"]["Variables"]
    role = set_up["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    claims = [s for s in statements if s["Action"] == "dynamodb:UpdateItem"]
    assert [s["Resource"]["Fn::GetAtt"][0] for s in claims] == [
        next(logical for logical in template["Resources"] if logical.startswith("ObservabilityInstances"))
    ]


def test_every_rule_has_a_fixed_name_within_the_limit_and_the_stage_prefix(rules: dict[str, dict[str, Any]]) -> None:
    names = [rule["Properties"]["Name"] for rule in rules.values()]
    assert len(set(names)) == len(names)
    assert all(name.startswith("sagakit-dev-OnboardClient") and len(name) <= 64 for name in names), names
