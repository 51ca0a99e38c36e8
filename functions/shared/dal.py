"""The data-access layer every service's ``dal`` is built on: saga-owned DynamoDB records and
event publishing, through the kit's shared boto3 clients (``aws_client``). With the services'
``dal`` modules, the only code that talks to AWS.

A step writes at most one record per client, stamped with its owner (the saga id). Delivery is
at least once everywhere, so both operations are idempotent and atomic:

- ``SagaRecords.claim`` puts the record only if the client has none. If one exists, DynamoDB
  returns it in the same call (``ReturnValuesOnConditionCheckFailure``), and the caller learns
  whether it is its own (a replay) or another saga's (a conflict).
- ``SagaRecords.release`` deletes the record only if it is absent or the caller's own, so a
  compensation for a step that never ran, or ran twice, is a harmless no-op, and a late
  compensation never deletes what another saga owns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from events import EventEnvelope
from sagakit.runtime import CamelModel, TransientError
from sagakit.runtime.aws import aws_client

__all__ = [
    "Claim",
    "ClaimOutcome",
    "EventNotPublished",
    "Release",
    "ReleaseOutcome",
    "SagaRecords",
    "aws_client",
    "publish",
]

# Error codes worth a step retry: botocore has already retried them a few times, so what
# reaches us is a longer outage. (AWS docs, "Error handling with DynamoDB" and EventBridge
# "PutEvents" errors.)
_RETRYABLE_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ThrottlingException",
        "TransactionConflictException",
    }
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _call(operation: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a boto3 operation, turning outages into ``TransientError`` so the saga retries."""
    try:
        response: dict[str, Any] = operation(**kwargs)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _RETRYABLE_CODES:
            raise TransientError(str(error)) from error
        raise
    except BotoCoreError as error:  # connection reset, read timeout: the request may not have landed
        raise TransientError(str(error)) from error
    return response


def _to_item(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in record.items()}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class ClaimOutcome(StrEnum):
    """What ``SagaRecords.claim`` found."""

    CREATED = "created"
    """The record was written now."""
    REPLAYED = "replayed"
    """The same owner had written it before: a retry or a duplicate delivery."""
    CONFLICT = "conflict"
    """Another owner holds the client's record; nothing was written."""


class ReleaseOutcome(StrEnum):
    """What ``SagaRecords.release`` found."""

    DELETED = "deleted"
    """The owner's record was deleted now."""
    ABSENT = "absent"
    """There was nothing to delete: the step never ran, or was already compensated."""
    KEPT = "kept"
    """Another owner holds the record; it was left alone."""


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim and the record now stored (ours, or the other owner's)."""

    outcome: ClaimOutcome
    record: dict[str, Any]


@dataclass(frozen=True)
class Release:
    """The outcome of a release and the record it deleted or kept (``None`` when absent)."""

    outcome: ReleaseOutcome
    record: dict[str, Any] | None


@dataclass(frozen=True)
class SagaRecords:
    """A DynamoDB table of one record per ``key`` value, each stamped with its ``owner``.

    Parameters
    ----------
    table_name:
        The table, from the handler's settings.
    key:
        The partition key attribute (``clientId``); the table has no sort key.
    owner:
        The attribute naming who wrote the record (``sagaId``).
    """

    table_name: str
    key: str
    owner: str = "sagaId"

    def claim(self, record: Mapping[str, Any]) -> Claim:
        """Put ``record`` unless the key already has one; return what is stored."""
        try:
            _call(
                aws_client("dynamodb").put_item,
                TableName=self.table_name,
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": self.key},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            stored = _from_item(error.response.get("Item", {}))
            mine = stored.get(self.owner) == record[self.owner]
            return Claim(ClaimOutcome.REPLAYED if mine else ClaimOutcome.CONFLICT, stored)
        return Claim(ClaimOutcome.CREATED, dict(record))

    def release(self, key_value: str, owner_value: str) -> Release:
        """Delete the record of ``key_value`` if it is absent or belongs to ``owner_value``."""
        try:
            response = _call(
                aws_client("dynamodb").delete_item,
                TableName=self.table_name,
                Key=_to_item({self.key: key_value}),
                ConditionExpression="attribute_not_exists(#key) OR #owner = :owner",
                ExpressionAttributeNames={"#key": self.key, "#owner": self.owner},
                ExpressionAttributeValues=_to_item({":owner": owner_value}),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return Release(ReleaseOutcome.KEPT, _from_item(error.response.get("Item", {})))
        old = response.get("Attributes")
        if not old:
            return Release(ReleaseOutcome.ABSENT, None)
        return Release(ReleaseOutcome.DELETED, _from_item(old))

    def get(self, key_value: str) -> dict[str, Any] | None:
        """The record of ``key_value`` (strongly consistent read), or ``None``."""
        response = _call(
            aws_client("dynamodb").get_item,
            TableName=self.table_name,
            Key=_to_item({self.key: key_value}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _from_item(item) if item else None


class EventNotPublished(TransientError):
    """EventBridge accepted the call but not the entry (``FailedEntryCount`` > 0).

    A transient error, because per-entry failures are mostly throttling and internal errors;
    a permanent one (a missing permission) still fails once the retries run out.
    """


def publish(event: CamelModel, *, bus_name: str) -> str:
    """Put ``event`` on ``bus_name`` with its registered source and detail-type; return its id."""
    envelope = EventEnvelope.of(event)
    response = _call(
        aws_client("events").put_events,
        Entries=[
            {
                "Source": envelope.source,
                "DetailType": envelope.detail_type,
                "Detail": json.dumps(envelope.detail, separators=(",", ":")),
                "EventBusName": bus_name,
            }
        ],
    )
    entry: dict[str, Any] = response["Entries"][0]
    if response.get("FailedEntryCount", 0) or "EventId" not in entry:
        raise EventNotPublished(
            f"{envelope.detail_type} not published on {bus_name}: "
            f"{entry.get('ErrorCode', 'unknown error')}: {entry.get('ErrorMessage', '')}".rstrip(": ")
        )
    return str(entry["EventId"])
