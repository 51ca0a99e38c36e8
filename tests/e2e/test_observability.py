"""Lifecycle events, the saga-instances table and `saga status` / `saga list`, offline.

The lifecycle runs as on AWS: Step Functions status changes (emitted by the local runtime, as
AWS emits them) and the step wrapper's events reach the lifecycle function through EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from sagakit.cli import app
from sagakit.local import FaultKind, LocalRuntime
from tests.e2e.conftest import onboarding

pytestmark = pytest.mark.e2e


class LifecycleProbe:
    """An SQS queue that receives every lifecycle event put on the saga bus."""

    def __init__(self, local: LocalRuntime) -> None:
        self.sqs = local.client("sqs")
        events = local.client("events")
        self.url = self.sqs.create_queue(QueueName="lifecycle-probe")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = local.deployed.bus_name
        events.put_rule(Name="lifecycle-probe", EventBusName=bus, EventPattern=json.dumps({"source": ["sagakit"]}))
        events.put_targets(Rule="lifecycle-probe", EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def events_of(self, saga_id: str) -> list[dict[str, Any]]:
        """The lifecycle events of ``saga_id`` received so far, in arrival order."""
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return [event for event in self.seen if event["detail"].get("sagaId") == saga_id]


@pytest.fixture(scope="module")
def probe(local: LocalRuntime) -> LifecycleProbe:
    return LifecycleProbe(local)


@pytest.fixture
def cli() -> Iterator[CliRunner]:
    yield CliRunner()


def test_a_happy_run_emits_started_steps_and_completed(local: LocalRuntime, probe: LifecycleProbe) -> None:
    run = local.run(onboarding())
    events = probe.events_of(run.saga_id)
    kinds = [e["detail-type"] for e in events]
    assert kinds[0] == "SagaStarted"
    assert kinds[-1] == "SagaCompleted"
    assert [e["detail"]["step"] for e in events if e["detail-type"] == "SagaStepCompleted"] == [
        "CreateWorkspace",
        "SetupBilling",
        "SendWelcomeEmail",
    ]
    for event in events:  # every event names the saga, the instance, a time and the version
        assert event["detail"]["sagaName"] == "OnboardClientSaga"
        assert event["detail"]["version"] == "1"
        assert event["detail"]["timestamp"]


def test_a_failed_run_is_recorded_and_says_where_and_why(
    local: LocalRuntime, probe: LifecycleProbe, cli: CliRunner
) -> None:
    local.fail("SetupBilling", FaultKind.BUSINESS, error="BillingDeclined")
    run = local.run(onboarding())
    events = probe.events_of(run.saga_id)
    kinds = [e["detail-type"] for e in events]
    assert kinds == [
        "SagaStarted",
        "SagaStepCompleted",
        "SagaCompensating",
        "SagaStepCompensated",
        "SagaStepCompensated",
        "SagaFailed",
    ]
    failed = events[-1]["detail"]
    assert failed["failedStep"] == "SetupBilling"
    assert failed["error"] == "BillingDeclined"
    # The instance table says the same, and `saga status` shows it
    instance = next(i for i in local.table_items("saga-instances") if i["sagaId"] == run.saga_id)
    assert instance["status"] == "FAILED"
    assert instance["failedStep"] == "SetupBilling"
    assert instance["stepsCompleted"] == {"CreateWorkspace"}
    assert instance["stepsCompensated"] == {"DeleteWorkspace", "DeleteTenant"}
    shown = cli.invoke(app, ["status", run.saga_id])
    assert shown.exit_code == 0, shown.output
    assert "FAILED" in shown.output
    assert "SetupBilling" in shown.output
    assert "BillingDeclined" in shown.output


def test_a_compensation_that_keeps_failing_is_compensation_failed(
    local: LocalRuntime, probe: LifecycleProbe, cli: CliRunner
) -> None:
    # Given SetupBilling refuses and DeleteTenant fails more often than it is retried (1 + 5)
    local.fail("SetupBilling", FaultKind.BUSINESS, error="BillingDeclined")
    local.fail("DeleteTenant", FaultKind.TRANSIENT, times=6)
    run = local.run(onboarding())
    assert run.outcome == "COMPENSATION_FAILED"
    events = probe.events_of(run.saga_id)
    parked = events[-1]
    assert parked["detail-type"] == "SagaCompensationFailed"
    assert parked["detail"]["failedStep"] == "DeleteTenant"
    listed = cli.invoke(app, ["list", "--status", "COMPENSATION_FAILED"])
    assert listed.exit_code == 0, listed.output
    assert run.saga_id in listed.output


def test_saga_list_rejects_an_unknown_status(cli: CliRunner) -> None:
    listed = cli.invoke(app, ["list", "--status", "BROKEN"])
    assert listed.exit_code == 2
    assert "--status" in listed.output
