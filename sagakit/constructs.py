"""CDK building blocks every saga deployment repeats, in one place: the saga constructs
(``sagakit.compiler``, ``sagakit.choreography``) and the stack (``infra``) make their dead-letter
queues and their "one is too many" alarms here, so a queue or an alarm is the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sagakit.definition import Saga

__all__ = ["dead_letter_queue", "require_functions", "threshold_alarm"]


def dead_letter_queue(scope: Construct, construct_id: str, *, queue_name: str) -> sqs.Queue:
    """An SQS dead-letter queue: SQS-managed encryption, SSL only, messages kept 14 days."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: int,
) -> cloudwatch.Alarm:
    """An alarm when ``metric`` reaches ``threshold`` in one period; no data is not a breach."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def require_functions(saga: Saga, functions: Mapping[str, Any]) -> None:
    """``ValueError`` naming the saga and every command ``functions`` has no Lambda function for."""
    missing = [c.name for c in saga.commands() if c.name not in functions]
    if missing:
        raise ValueError(f"saga {saga.name}: no Lambda function for {', '.join(missing)}")


def lifecycle_metric(saga: str, name: str, period: Duration, statistic: str = "Sum") -> cloudwatch.Metric:
    """A metric the lifecycle function publishes for ``saga`` (namespace ``Sagas``, dimensions
    ``saga`` and ``service=saga-lifecycle``), over ``period``."""
    return cloudwatch.Metric(
        namespace="Sagas",
        metric_name=name,
        dimensions_map={"saga": saga, "service": "saga-lifecycle"},
        statistic=statistic,
        period=period,
    )
