"""Each deploy publishes a state-machine version behind the ``live`` alias, and sagas start on
the alias, on AWS (the template) and offline (the same template in moto)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from sagakit.compiler import ALIAS_NAME
from statemachines.onboard_client import OnboardClientSaga

if TYPE_CHECKING:
    from conftest import Synthesized

    from sagakit.local import LocalRuntime


def one(raw: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(logical, r) for logical, r in raw["Resources"].items() if r["Type"] == kind]
    return found


def test_the_deploy_publishes_the_current_revision_stamped_with_the_saga_version(dev: Synthesized) -> None:
    machine, _ = one(dev.raw, "AWS::StepFunctions::StateMachine")
    _, version = one(dev.raw, "AWS::StepFunctions::StateMachineVersion")

    assert version["Properties"] == {
        "StateMachineArn": {"Ref": machine},
        # a changed machine has a new revision id: the version is replaced, i.e. published anew
        "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]},
        "Description": f"OnboardClientSaga v{OnboardClientSaga.version}",
    }


def test_the_alias_sends_every_execution_to_that_version(dev: Synthesized) -> None:
    version, _ = one(dev.raw, "AWS::StepFunctions::StateMachineVersion")
    _, alias = one(dev.raw, "AWS::StepFunctions::StateMachineAlias")

    assert alias["Properties"]["Name"] == ALIAS_NAME == "live"
    assert alias["Properties"]["RoutingConfiguration"] == [
        {"StateMachineVersionArn": {"Fn::GetAtt": [version, "Arn"]}, "Weight": 100}
    ]


def test_the_starter_may_start_the_alias_and_nothing_else(dev: Synthesized) -> None:
    alias, _ = one(dev.raw, "AWS::StepFunctions::StateMachineAlias")
    starts = [
        statement["Resource"]
        for r in dev.raw["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if "states:StartExecution" in statement["Action"]
    ]

    assert starts == [{"Fn::GetAtt": [alias, "Arn"]}]


def test_a_new_saga_version_is_a_new_description(tmp_path: Any) -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    from sagakit.compiler import SagaStateMachine

    saga = dataclasses.replace(OnboardClientSaga, version="2")
    stack = Stack(App(outdir=str(tmp_path)), "Versioned")
    functions = {
        c.name: lambda_.Function(
            stack,
            c.name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for c in saga.commands()
    }
    SagaStateMachine(stack, saga.name, saga=saga, functions=functions, state_machine_name="test-versioned")

    _, version = one(Template.from_stack(stack).to_json(), "AWS::StepFunctions::StateMachineVersion")
    assert version["Properties"]["Description"] == "OnboardClientSaga v2"


# -- offline: the same template in moto ----------------------------------------------------------


@pytest.fixture(scope="module")
def local(dev: Synthesized) -> Iterator[LocalRuntime]:
    """The dev cloud assembly the other infra tests read, deployed into moto."""
    from pathlib import Path

    from sagakit.local import LocalRuntime
    from sagakit.local.deploy import load_assembly

    assembly = load_assembly(Path(dev.stack.node.root.outdir), dev.stack.stack_name)  # type: ignore[attr-defined]
    with LocalRuntime(fast=True, assembly=assembly) as runtime:
        yield runtime


def test_offline_the_alias_points_at_the_published_version(local: LocalRuntime) -> None:
    sfn = local.client("stepfunctions")
    machine = local.deployed.state_machines["OnboardClientSaga"]
    alias = local.deployed.aliases["OnboardClientSaga"]

    assert alias == f"{machine}:live"
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["routingConfiguration"] == [{"stateMachineVersionArn": f"{machine}:1", "weight": 100}]
    version = sfn.describe_state_machine(stateMachineArn=f"{machine}:1")
    assert version["description"] == f"OnboardClientSaga v{OnboardClientSaga.version}"


def test_offline_the_starter_starts_the_saga_on_the_alias(local: LocalRuntime) -> None:
    from events import load_sample

    # Given the starter's environment, as deployed
    starter = local.client("lambda").get_function_configuration(FunctionName="sagakit-dev-OnboardClientSaga-starter")
    assert starter["Environment"]["Variables"]["STATE_MACHINE_ARN"] == local.deployed.aliases["OnboardClientSaga"]

    # When ClientOnboarded arrives, then the saga runs to the end, listed under its state machine
    sample = json.loads(load_sample("ClientOnboarded").model_dump_json(by_alias=True))
    run = local.run(sample)
    assert run.outcome == "COMPLETED"
    assert run.execution_arn in local.execution_arns("OnboardClientSaga")
    assert run.input["saga"]["version"] == OnboardClientSaga.version


def test_moto_still_needs_the_alias_route() -> None:
    # Canary: moto 5.2.5 resolves a version ARN in StartExecution but not an alias ARN, which is
    # why sagakit/local/deploy.py routes alias starts. When this fails, moto learned aliases:
    # drop _start_aliases_on_their_machine and this test.
    import boto3
    from moto import mock_aws

    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        created = sfn.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r", publish=True
        )
        alias = sfn.create_state_machine_alias(
            name="live",
            routingConfiguration=[{"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}],
        )["stateMachineAliasArn"]
        with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
            sfn.start_execution(stateMachineArn=alias, name="once")
