"""The cold-start yardstick: the least a Python Lambda handler that writes to DynamoDB does.

It imports boto3 and creates one DynamoDB client at import (the usual advice: clients at module
level, reused across invocations), and each invocation writes one item. ``bench.cold_start``
measures it exactly as it measures the saga handlers, from its own asset folder.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

__all__ = ["handler"]

_dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Write one item keyed by the event's client id, as a step's data-access layer does."""
    _dynamodb.put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={"clientId": {"S": event["detail"]["clientId"]}, "sagaId": {"S": event["sagaId"]}},
    )
    return {"written": True}
