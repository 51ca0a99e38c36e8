"""A stage with SnapStart on (``StageConfig.snap_start``): every saga, in either style, invokes
its steps and compensations through the alias ``live`` on their published versions, never
``$LATEST``, and the stack deploys and runs offline through those aliases (moto takes no
snapshots, so this checks the wiring, not restore times)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagakit.local import FaultKind, LocalRuntime
from sagakit.local.deploy import Assembly, load_assembly
from statemachines import all_sagas, saga_named
from tests.choreography.conftest import items_of, record_tenant, trigger

pytestmark = pytest.mark.e2e

STACK = "SagaKit-dev"


@pytest.fixture(scope="module")
def snapped(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    from aws_cdk import App

    from infra.config import stage_config
    from infra.stack import SagaStack

    out: Path = tmp_path_factory.mktemp("snap-start")
    app = App(outdir=str(out))
    SagaStack(app, STACK, config=stage_config("dev").model_copy(update={"snap_start": True}), sagas=all_sagas())
    app.synth()
    return load_assembly(out, STACK)


@pytest.fixture(scope="module")
def local(snapped: Assembly) -> Iterator[LocalRuntime]:
    with LocalRuntime(assembly=snapped, fast=True) as runtime:
        yield runtime


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in template["Resources"].items() if r["Type"] == kind}


def test_choreography_rules_invoke_the_alias_and_its_failures_are_kept(snapped: Assembly) -> None:
    template = snapped.template
    aliases = _resources(template, "AWS::Lambda::Alias")
    steps = {command.name for saga in all_sagas() for command in saga.commands()}
    # Every choreography rule that runs a step or a compensation targets an alias, none $LATEST
    functions = _resources(template, "AWS::Lambda::Function")
    step_functions = {
        logical for logical, r in functions.items() if r["Properties"]["FunctionName"].rsplit("-", 1)[-1] in steps
    }
    choreographed = saga_named("OnboardClientChoreographySaga").name
    targets = [
        target["Arn"]
        for logical, rule in _resources(template, "AWS::Events::Rule").items()
        if logical.startswith(choreographed)
        for target in rule["Properties"]["Targets"]
    ]
    to_steps = [arn for arn in targets if "Ref" in arn]
    assert len(to_steps) >= 8
    assert all(arn["Ref"] in aliases for arn in to_steps)
    assert not any(arn.get("Fn::GetAtt", [""])[0] in step_functions for arn in targets)
    # and each step's asynchronous failures go to the dead-letter queue on that qualifier, made
    # after the alias (CloudFormation knows the alias by name only there)
    configs = [
        r
        for r in _resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"]["Ref"] in step_functions
    ]
    assert len(configs) == len(step_functions)
    for config in configs:
        assert config["Properties"]["Qualifier"] == "live"
        assert "OnFailure" in config["Properties"]["DestinationConfig"]
        assert set(config["DependsOn"]) & set(aliases)


CASES = [
    ("orchestration", None, "COMPLETED", []),
    ("choreography", None, "COMPLETED", []),
    ("orchestration", "SetupBilling", "FAILED", ["DeleteWorkspace", "DeleteTenant"]),
    ("choreography", "SetupBilling", "FAILED", ["DeleteWorkspace", "DeleteTenant"]),
]


@pytest.mark.parametrize(("style", "fail_at", "outcome", "compensations"), CASES)
def test_a_snap_start_stack_runs_offline_through_the_aliases(
    local: LocalRuntime, style: str, fail_at: str | None, outcome: str, compensations: list[str]
) -> None:
    # Given the SnapStart stack deployed into moto, and a saga of either style
    envelope = trigger(style)
    record_tenant(local, envelope)
    if fail_at:
        local.fail(fail_at, FaultKind.BUSINESS, error="BillingDeclined")
    seen, ran = len(local.events.deliveries), len(local.router.invocations)
    finished = local.run(envelope, via_producer=False)
    # Then it ends as without SnapStart, compensated in the same order
    assert finished.outcome == outcome
    assert finished.compensations == compensations
    left = {service: len(found) for service, found in items_of(local, envelope["detail"]["clientId"]).items()}
    assert left == dict.fromkeys(left, 1 if outcome == "COMPLETED" else 0)
    # and every step or compensation it ran was a published version (what the alias points
    # at), while the lifecycle function, which SnapStart leaves out, ran $LATEST. (Only what
    # names no other saga: a choreography rule's input names none.)
    steps = {command.name for command in saga_named("OnboardClientSaga").commands()}
    versions = {
        (record.command, record.version)
        for record in local.router.invocations[ran:]
        if record.saga_id in (None, finished.saga_id)
    }
    assert {command for command, _ in versions} >= {"CreateWorkspace", "SetupBilling", "lifecycle"}
    for command, version in versions:
        assert (version == "$LATEST") == (command not in steps), (command, version)
    if style == "choreography":
        to_steps = [d.target_arn for d in local.events.deliveries[seen:] if "lifecycle" not in d.target_arn]
        assert to_steps and all(arn.endswith(":live") for arn in to_steps), to_steps


def test_offline_the_aliases_carry_their_permissions_and_failure_destinations(local: LocalRuntime) -> None:
    # The deploy made, through the Lambda API, what moto's CloudFormation could not: each step
    # function's alias, the rules' permission to invoke it, and its asynchronous-failure config
    client = local.client("lambda")
    name = local.deployed.functions["SetupBilling"]
    alias = client.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == "1"
    policy = client.get_policy(FunctionName=name, Qualifier="live")["Policy"]
    assert "events.amazonaws.com" in policy and "lambda:InvokeFunction" in policy
    config = client.get_function_event_invoke_config(FunctionName=name, Qualifier="live")
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"].startswith("arn:aws:sqs:")
