"""A second cold-start yardstick: the baseline handler written the way the Powertools docs
write one, with Logger, Tracer and Metrics at module level and a pydantic model for its input.

It separates what observability and validation cost any Powertools handler from what the
saga kit adds on top (the command envelope, the event contracts, idempotency, lifecycle events).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["handler"]

logger = Logger(service="bench")
tracer = Tracer(service="bench")
metrics = Metrics(namespace="Sagas", service="bench")
_dynamodb = boto3.client("dynamodb")


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    client_id: str = Field(alias="clientId", pattern=r"^[A-Za-z0-9_-]{1,64}$")


class _Command(BaseModel):
    model_config = ConfigDict(extra="ignore")

    saga_id: str = Field(alias="sagaId", pattern=r"^[A-Za-z0-9_-]{1,80}$")
    detail: _Detail


@logger.inject_lambda_context(correlation_id_path="sagaId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the input, write one item, count it."""
    command = _Command.model_validate(event)
    _dynamodb.put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={"clientId": {"S": command.detail.client_id}, "sagaId": {"S": command.saga_id}},
    )
    metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("step done")
    return {"written": True}
