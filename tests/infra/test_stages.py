"""Stages and production defaults: ``cdk deploy -c stage=dev|prod`` from one typed config.

dev and prod share no physical name, keep logs 14 and 365 days, alarm at 5 and 1 failed sagas,
and only prod retains data and reserves concurrency. Every stage gets the same defaults: arm64,
X-Ray, logs that expire, an encrypted SSL-only DLQ, no secret in the template, and a runtime
that is one config field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from infra import nag
from infra.config import StageConfig, stage_config

if TYPE_CHECKING:
    from conftest import Synthesized

#: Properties that hold a physical name, per resource type.
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


def resources(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in raw["Resources"].values() if r["Type"] == kind]


def physical_names(raw: dict[str, Any]) -> set[str]:
    names = set()
    for kind, name in NAME_PROPERTIES.items():
        for resource in resources(raw, kind):
            value = resource["Properties"].get(name)
            assert isinstance(value, str), f"{kind} without a fixed {name}: stages could collide"
            names.add(value)
    return names


@pytest.fixture(params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> tuple[StageConfig, Synthesized]:
    """Each stage's config and its synthesized stack."""
    return stage_config(request.param), request.getfixturevalue(request.param)


# -- what differs --------------------------------------------------------------------------------


def test_each_stage_names_everything_with_its_own_prefix(dev: Synthesized, prod: Synthesized) -> None:
    dev_names, prod_names = physical_names(dev.raw), physical_names(prod.raw)

    assert all(name.startswith("sagakit-dev-") for name in dev_names)
    assert all(name.startswith("sagakit-prod-") for name in prod_names)
    assert {n.removeprefix("sagakit-dev-") for n in dev_names} == {n.removeprefix("sagakit-prod-") for n in prod_names}
    assert (dev.stack.stack_name, prod.stack.stack_name) == ("SagaKit-dev", "SagaKit-prod")


def test_every_log_group_keeps_logs_as_long_as_the_stage_says(stage: tuple[StageConfig, Synthesized]) -> None:
    config, synthesized = stage
    groups = resources(synthesized.raw, "AWS::Logs::LogGroup")

    # one per function, one per state machine
    assert len(groups) == len(resources(synthesized.raw, "AWS::Lambda::Function")) + 1
    assert {g["Properties"]["RetentionInDays"] for g in groups} == {config.log_retention_days}
    assert {g["DeletionPolicy"] for g in groups} == {"Retain" if config.retain_data else "Delete"}


def failure_alarm(synthesized: Synthesized, prefix: str) -> dict[str, Any]:
    """The onboarding saga's failure alarm (other alarms: see tests/infra/test_observability.py)."""
    (alarm,) = [
        a
        for a in resources(synthesized.raw, "AWS::CloudWatch::Alarm")
        if a["Properties"]["AlarmName"] == f"{prefix}-OnboardClientSaga-failures"
    ]
    return alarm


def test_the_failure_alarm_uses_the_stage_threshold(stage: tuple[StageConfig, Synthesized]) -> None:
    config, synthesized = stage
    properties = failure_alarm(synthesized, config.prefix)["Properties"]

    assert properties["AlarmName"] == f"{config.prefix}-OnboardClientSaga-failures"
    assert properties["Threshold"] == config.alarm_failures_threshold
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    # failed executions, whether Step Functions counts them under the machine or its alias
    expression = next(m for m in properties["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "MAX([FILL(machine, 0), FILL(alias, 0)])"
    counted = {m["Id"]: m["MetricStat"] for m in properties["Metrics"] if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in counted.values()} == {"ExecutionsFailed"}
    assert {s["Period"] for s in counted.values()} == {300}


def test_the_stages_alarm_differently(dev: Synthesized, prod: Synthesized) -> None:
    def threshold(synthesized: Synthesized, prefix: str) -> int:
        return int(failure_alarm(synthesized, prefix)["Properties"]["Threshold"])

    assert (threshold(dev, "sagakit-dev"), threshold(prod, "sagakit-prod")) == (5, 1)


def test_only_prod_reserves_concurrency(stage: tuple[StageConfig, Synthesized]) -> None:
    config, synthesized = stage
    reserved = {
        f["Properties"].get("ReservedConcurrentExecutions") for f in resources(synthesized.raw, "AWS::Lambda::Function")
    }

    assert reserved == {config.reserved_concurrency}
    assert reserved == ({50} if config.stage == "prod" else {None})


def test_only_prod_keeps_old_state_machine_versions(stage: tuple[StageConfig, Synthesized]) -> None:
    config, synthesized = stage
    (version,) = resources(synthesized.raw, "AWS::StepFunctions::StateMachineVersion")

    expected = "Retain" if config.retain_data else "Delete"
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == (expected, expected)


# -- what every stage gets ----------------------------------------------------------------------


def test_every_function_is_arm64_traced_and_runs_the_configured_runtime_and_layer(
    stage: tuple[StageConfig, Synthesized],
) -> None:
    config, synthesized = stage
    for function in resources(synthesized.raw, "AWS::Lambda::Function"):
        properties = function["Properties"]
        assert properties["Architectures"] == ["arm64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["Runtime"] == config.runtime
        (layer,) = properties["Layers"]
        assert f":layer:{config.powertools_layer}:{config.powertools_layer_version}" in str(layer)


def test_the_state_machine_is_traced(stage: tuple[StageConfig, Synthesized]) -> None:
    _, synthesized = stage
    (machine,) = resources(synthesized.raw, "AWS::StepFunctions::StateMachine")

    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_every_dead_letter_queue_is_encrypted_and_refuses_plain_http(stage: tuple[StageConfig, Synthesized]) -> None:
    _, synthesized = stage
    queues = {logical: r for logical, r in synthesized.raw["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    assert queues
    policies = resources(synthesized.raw, "AWS::SQS::QueuePolicy")
    for queue, resource in queues.items():
        assert resource["Properties"]["SqsManagedSseEnabled"] is True, queue
        (policy,) = [p for p in policies if p["Properties"]["Queues"] == [{"Ref": queue}]]
        (deny,) = [st for st in policy["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
        assert deny["Principal"] == {"AWS": "*"}
        assert deny["Action"] == "sqs:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


SECRET_NAMES = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)
SECRET_VALUES = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN|\bsk_(live|test)_")


def test_no_function_gets_a_secret_inline(stage: tuple[StageConfig, Synthesized]) -> None:
    config, synthesized = stage
    for function in resources(synthesized.raw, "AWS::Lambda::Function"):
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert not [name for name in variables if SECRET_NAMES.search(name)], function["Properties"]["FunctionName"]
        assert not [v for v in variables.values() if isinstance(v, str) and SECRET_VALUES.search(v)]
    # the only address in the template is the configured sender
    (notifications,) = [
        f
        for f in resources(synthesized.raw, "AWS::Lambda::Function")
        if "SENDER_ADDRESS" in f["Properties"]["Environment"]["Variables"]
    ]
    assert notifications["Properties"]["Environment"]["Variables"]["SENDER_ADDRESS"] == config.sender_address


# -- the config ---------------------------------------------------------------------------------


def test_python_3_14_is_one_config_change(tmp_path: Path) -> None:
    # Given the dev config with the 3.14 runtime and its Powertools layer
    from aws_cdk import App

    from infra.stack import SagaStack
    from statemachines import all_sagas

    config = stage_config("dev").model_copy(
        update={"runtime": "python3.14", "powertools_layer": "AWSLambdaPowertoolsPythonV3-python314-arm64"}
    )
    app = App(outdir=str(tmp_path))
    stack = SagaStack(app, "SagaKit-dev", config=config, sagas=all_sagas())

    # Then every function runs 3.14 with that layer, and the runtime needs no acknowledgment
    from aws_cdk.assertions import Template

    raw = Template.from_stack(stack).to_json()
    assert {f["Properties"]["Runtime"] for f in resources(raw, "AWS::Lambda::Function")} == {"python3.14"}
    assert all("python314-arm64" in str(f["Properties"]["Layers"]) for f in resources(raw, "AWS::Lambda::Function"))
    rules = {a.rule for a in nag.acknowledged(stack)}
    assert rules.isdisjoint({"AwsSolutions-L1", "Serverless-LambdaLatestVersion"})
    # 3.14 is the newest runtime this CDK knows; when a newer one appears this test says so
    assert nag.newest_python_runtime() == "python3.14"


def test_the_runtime_and_the_layer_must_match() -> None:
    with pytest.raises(ValidationError, match=r"built for python3\.13, but the runtime is python3\.14"):
        StageConfig(
            stage="dev", retain_data=False, log_retention_days=14, alarm_failures_threshold=5, runtime="python3.14"
        )


def test_a_runtime_cdk_does_not_know_is_refused(tmp_path: Path) -> None:
    from aws_cdk import App

    from infra.stack import SagaStack
    from statemachines import all_sagas

    config = stage_config("dev").model_copy(
        update={"runtime": "python3.99", "powertools_layer": "AWSLambdaPowertoolsPythonV3-python399-arm64"}
    )
    with pytest.raises(
        ValueError, match=r"runtime: 'python3.99' is not a Python runtime CDK knows; use one of .*python3\.14"
    ):
        SagaStack(App(outdir=str(tmp_path)), "SagaKit-dev", config=config, sagas=all_sagas())


def test_the_sender_address_must_be_an_address() -> None:
    with pytest.raises(ValidationError, match="sender_address"):
        StageConfig(
            stage="dev", retain_data=False, log_retention_days=14, alarm_failures_threshold=5, sender_address="nobody"
        )


def test_snap_start_is_one_config_change_and_the_sagas_invoke_the_snapshotted_version(tmp_path: Path) -> None:
    # Given the prod config with SnapStart turned on
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.stack import SagaStack
    from statemachines import all_sagas

    config = stage_config("prod").model_copy(update={"snap_start": True})
    stack = SagaStack(App(outdir=str(tmp_path)), "SagaKit-prod", config=config, sagas=all_sagas())
    raw = Template.from_stack(stack).to_json()
    functions = {
        logical: resource
        for logical, resource in raw["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    snapped = {
        logical
        for logical, resource in functions.items()
        if resource["Properties"].get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    }

    # Then every step and compensation (and only those) restores from a snapshot of a published
    # version, which an alias "live" points at
    steps = {f"sagakit-prod-{command.name}" for saga in all_sagas() for command in saga.commands()}
    assert {functions[logical]["Properties"]["FunctionName"] for logical in snapped} >= steps
    assert not any("Starter" in logical or "Lifecycle" in logical for logical in snapped)
    aliases = [r["Properties"] for r in resources(raw, "AWS::Lambda::Alias")]
    assert {alias["Name"] for alias in aliases} == {"live"}
    assert {alias["FunctionName"]["Ref"] for alias in aliases} == snapped
    # and every orchestrated saga's task invokes that alias, never $LATEST
    for machine in resources(raw, "AWS::StepFunctions::StateMachine"):
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        referenced = [part["Ref"] for part in parts if isinstance(part, dict) and "Ref" in part]
        invoked = [part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
        assert referenced and all("Aliaslive" in logical for logical in referenced)
        assert not set(invoked) & snapped


def test_snap_start_is_off_by_default() -> None:
    # SnapStart bills its cache and restores, and nothing offline can try it: a stage opts in
    assert not stage_config("dev").snap_start
    assert not stage_config("prod").snap_start


def test_a_snap_start_stage_passes_the_cdk_nag_rule_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the app as `cdk synth` builds it (with the rule packs), for prod with SnapStart on
    import json

    import infra.app

    configured = infra.app.stage_config
    monkeypatch.setattr(
        infra.app, "stage_config", lambda stage: configured(stage).model_copy(update={"snap_start": True})
    )
    app, stack = infra.app.build_app("prod", outdir=str(tmp_path))
    # When it synthesizes (an unacknowledged cdk-nag finding fails this)
    app.synth()
    # Then the template it wrote has the SnapStart aliases
    template = json.loads((tmp_path / f"{stack.stack_name}.template.json").read_text(encoding="utf-8"))
    assert any(resource["Type"] == "AWS::Lambda::Alias" for resource in template["Resources"].values())
