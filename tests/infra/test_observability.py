"""The observability an operator gets per orchestrated saga: the lifecycle function and its
rules, the instances table, a dashboard, and alarms on failures, compensation failures, sagas
past their deadline and dead letters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Synthesized


def of_type(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in raw["Resources"].values() if r["Type"] == kind]


def test_a_dashboard_charts_every_saga(dev: Synthesized) -> None:
    (dashboard,) = [
        d
        for d in of_type(dev.raw, "AWS::CloudWatch::Dashboard")
        if d["Properties"]["DashboardName"] == "sagakit-dev-sagas"
    ]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("SagaStarted", "SagaCompleted", "SagaFailed", "SagaCompensationFailed", "SagaDuration"):
        assert metric in body, metric
    assert "OnboardClientSaga" in body
    assert "ApproximateNumberOfMessagesVisible" in body


def test_every_orchestrated_saga_alarms_on_what_needs_a_human(dev: Synthesized) -> None:
    names = {a["Properties"]["AlarmName"] for a in of_type(dev.raw, "AWS::CloudWatch::Alarm")}
    for what in ("failures", "CompensationFailed", "PastDeadline", "DeadLetters"):
        assert f"sagakit-dev-OnboardClientSaga-{what}" in names, what
    (deadline,) = [
        a for a in of_type(dev.raw, "AWS::CloudWatch::Alarm")
        if a["Properties"]["AlarmName"] == "sagakit-dev-OnboardClientSaga-PastDeadline"
    ]  # fmt: skip
    assert deadline["Properties"]["MetricName"] == "ExecutionsTimedOut"  # the machine's timeout is the deadline


def test_the_lifecycle_hears_status_changes_and_step_events(dev: Synthesized) -> None:
    patterns = [r["Properties"].get("EventPattern", {}) for r in of_type(dev.raw, "AWS::Events::Rule")]
    assert any(
        p.get("source") == ["aws.states"] and p.get("detail-type") == ["Step Functions Execution Status Change"]
        for p in patterns
    )
    assert any(p.get("detail-type") == ["SagaStepCompleted", "SagaStepCompensated"] for p in patterns)
    (table,) = [
        t
        for t in of_type(dev.raw, "AWS::DynamoDB::Table")
        if t["Properties"]["TableName"] == "sagakit-dev-saga-instances"
    ]
    assert table["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] == "byStatus"
