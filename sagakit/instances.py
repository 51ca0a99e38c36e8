"""Reading the saga-instances table: where is my saga, and why did it fail?

The table is kept current by the lifecycle function (``sagakit.runtime.lifecycle``) on AWS and
offline alike; this module only reads it, through boto3, against AWS or a local endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["STATUSES", "SagaInstance", "get_instance", "instances_table", "list_instances"]

STATUSES = ("RUNNING", "COMPENSATING", "COMPLETED", "FAILED", "COMPENSATION_FAILED", "TIMED_OUT", "ABORTED")
STATUS_INDEX = "byStatus"


@dataclass(frozen=True)
class SagaInstance:
    """One saga instance as the lifecycle recorded it."""

    saga_id: str
    saga_name: str
    status: str
    version: str | None
    current_step: str | None
    steps_completed: list[str]
    steps_compensated: list[str]
    started_at: str | None
    ended_at: str | None
    failed_step: str | None
    error: str | None
    reason: str | None
    execution_arn: str | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SagaInstance:
        """From a deserialised DynamoDB item."""
        return cls(
            saga_id=item["sagaId"],
            saga_name=item.get("sagaName", "?"),
            status=item.get("status", "UNKNOWN"),
            version=item.get("version"),
            current_step=item.get("currentStep"),
            steps_completed=sorted(item.get("stepsCompleted", set())),
            steps_compensated=sorted(item.get("stepsCompensated", set())),
            started_at=item.get("startedAt"),
            ended_at=item.get("endedAt"),
            failed_step=item.get("failedStep"),
            error=item.get("error"),
            reason=item.get("reason"),
            execution_arn=item.get("executionArn"),
        )


def instances_table(stage: str) -> str:
    """The instances table's name for ``stage``."""
    from infra.config import stage_config

    return f"{stage_config(stage).prefix}-saga-instances"


def _items(response: dict[str, Any]) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    return [{k: deserialize(v) for k, v in item.items()} for item in response.get("Items", [])]


def get_instance(dynamodb: Any, table: str, saga_id: str) -> SagaInstance | None:
    """The instance ``saga_id``, or ``None``."""
    response = dynamodb.get_item(TableName=table, Key={"sagaId": {"S": saga_id}}, ConsistentRead=True)
    if "Item" not in response:
        return None
    return SagaInstance.from_item(_items({"Items": [response["Item"]]})[0])


def list_instances(
    dynamodb: Any, table: str, *, status: str | None = None, saga: str | None = None, limit: int = 50
) -> list[SagaInstance]:
    """Instances, newest first; by ``status`` through the status index."""
    if status is not None:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
            ScanIndexForward=False,
        )
    else:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    found = [SagaInstance.from_item(item) for page in pages for item in _items(page)]
    if saga is not None:
        found = [instance for instance in found if instance.saga_name == saga]
    found.sort(key=lambda instance: instance.started_at or "", reverse=True)
    return found[:limit]
