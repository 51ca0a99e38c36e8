"""The saga starter: the EventBridge rule's target, between the bus and the state machine.

An EventBridge target cannot name a Step Functions execution, so a duplicate event would start a
duplicate saga. The starter validates the trigger against its model, derives the saga id from
the detail (``Saga.saga_id``), and starts the execution *named by the saga id*. A second start
with the same name is refused by Step Functions (or, while the first runs with the same input,
returns it), which makes the start idempotent under at-least-once delivery.

An event that fails validation is never retried (it would fail the same way): it goes to the
saga's dead-letter queue with the reason, and the starter returns normally.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from sagakit.runtime.coldstart import ends_cold_start
from sagakit.runtime.command import SAGA_ID_PATTERN
from sagakit.runtime.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["StarterSettings", "handler", "saga_id_for"]

#: SQS's limit is 256 KiB; keep room for the reason and the JSON around the event.
_DLQ_EVENT_BYTES = 200 * 1024


class StarterSettings(BaseModel):
    """Environment of the starter function, set by the CDK stack."""

    SAGA_NAME: str
    SAGA_VERSION: str
    SAGA_TRIGGER: str
    SAGA_ID_TEMPLATE: str = ""
    STATE_MACHINE_ARN: str
    DEAD_LETTER_QUEUE_URL: str


class RejectedEvent(ValueError):
    """The trigger event cannot start a saga; the message says which field and why."""


def saga_id_for(template: str, detail: dict[str, Any], *, fallback: str) -> str:
    """Format the saga id from the detail's (camelCase) fields, or use ``fallback``.

    >>> saga_id_for("onboard-{clientId}", {"clientId": "acme-001"}, fallback="x")
    'onboard-acme-001'
    """
    if not template:
        value = fallback
    else:
        try:
            value = template.format(**detail)
        except KeyError as missing:
            raise RejectedEvent(f"detail.{missing.args[0]}: needed for the saga id, but missing") from None
    if not re.match(SAGA_ID_PATTERN, value):
        raise RejectedEvent(f"saga id {value!r} is not a valid execution name (1-80 of A-Z a-z 0-9 _ -)")
    return value


def _client(name: str) -> Any:
    from sagakit.runtime.aws import aws_client

    return aws_client(name)


def _parse(event: dict[str, Any], trigger: str) -> BaseModel:
    from events import EventEnvelope

    try:
        envelope = EventEnvelope.model_validate(event)
    except ValidationError as error:
        from sagakit.runtime.errors import describe_validation_error

        raise RejectedEvent(describe_validation_error(error)) from None
    if envelope.detail_type != trigger:
        raise RejectedEvent(f"detail-type: expected {trigger!r}, got {envelope.detail_type!r}")
    try:
        return envelope.parse_detail()
    except ValueError as error:
        raise RejectedEvent(str(error)) from None


def _dead_letter(settings: StarterSettings, event: dict[str, Any], reason: str) -> None:
    raw = json.dumps(event, default=str)
    if len(raw.encode()) > _DLQ_EVENT_BYTES:
        raw = raw.encode()[:_DLQ_EVENT_BYTES].decode(errors="ignore")
    body = {"saga": settings.SAGA_NAME, "reason": reason, "event": raw}
    _client("sqs").send_message(
        QueueUrl=settings.DEAD_LETTER_QUEUE_URL,
        MessageBody=json.dumps(body),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1024] or "?"}},
    )


def start(event: dict[str, Any], logger: Any) -> dict[str, Any]:
    """Validate ``event`` and start its saga; return what happened."""
    settings = load_settings(StarterSettings)
    trigger = settings.SAGA_TRIGGER
    try:
        detail = _parse(event, trigger)
        detail_json = detail.model_dump(mode="json", by_alias=True)
        saga_id = saga_id_for(settings.SAGA_ID_TEMPLATE, detail_json, fallback=str(event.get("id", "")))
    except RejectedEvent as error:
        reason = f"{trigger} rejected: {error}"
        logger.warning("event rejected", extra={"reason": reason})
        _dead_letter(settings, event, reason)
        return {"started": False, "rejected": reason}

    logger.set_correlation_id(saga_id)
    execution_input = {
        "saga": {"id": saga_id, "name": settings.SAGA_NAME, "version": settings.SAGA_VERSION},
        "input": detail_json,
        "results": {},
        "compensations": {},
    }
    sfn = _client("stepfunctions")
    try:
        # sort_keys: the same event always gives the same input, so a redelivery while the
        # saga runs is answered with the running execution (StartExecution is idempotent then).
        response = sfn.start_execution(
            stateMachineArn=settings.STATE_MACHINE_ARN,
            name=saga_id,
            input=json.dumps(execution_input, sort_keys=True),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("duplicate trigger: saga already started", extra={"saga_id": saga_id})
        return {"started": False, "duplicate": True, "sagaId": saga_id}
    logger.info("saga started", extra={"execution_arn": response["executionArn"]})
    return {"started": True, "sagaId": saga_id, "executionArn": response["executionArn"]}


@ends_cold_start
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point of the starter."""
    from aws_lambda_powertools import Logger

    logger = Logger(service="saga-starter")
    logger.append_keys(saga=os.environ.get("SAGA_NAME"))
    return start(event, logger)
