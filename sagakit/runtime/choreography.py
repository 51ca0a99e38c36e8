"""Choreography at run time: the adapter between an EventBridge rule and a saga handler, and the
lifecycle function's part in a choreographed saga (its end, and the deadline sweep).

A choreography rule (compiled by ``sagakit.choreography``) invokes a step's or a compensation's
Lambda function, the same function an orchestrated saga uses, with::

    {"choreography": <Route: which saga, which command, what to emit>, "event": <the EventBridge event>}

``saga_handler`` hands such an input to ``handle``, which, for a step:

1. reads the saga envelope: the trigger itself for the first step (checked against its model, the
   saga id formatted from ``Saga.saga_id``), else the envelope the previous step's event carries;
   an event it cannot read is a *poison event*: ``PoisonEvent`` is raised, so the invocation fails,
   is retried by the platform and lands in the saga's dead-letter queue, which has an alarm;
2. claims the step on the saga's instance record (one conditional ``UpdateItem``): the step runs
   only while the saga is ``RUNNING``, before its deadline, and for one event. A second trigger
   for the same saga id, or a success event published twice, is refused; a retry or redelivery
   of the *same* event (same EventBridge id) goes through and replays idempotently;
3. runs the handler on the ``SagaCommand`` an orchestrated task would get (same code path, same
   Powertools idempotency, same ``SagaStepCompleted`` lifecycle event);
4. on success, records the result on the instance (only while ``RUNNING``) and publishes the step's
   success event (``WorkspaceCreated``) carrying the envelope: saga id, name and version, the
   trigger's detail and every result so far; on failure, marks the saga ``COMPENSATING`` and
   publishes ``SagaStepFailed`` naming the step, the error and the reason.

A compensation is claimed the same way (once per event), runs, and publishes its own result event
(``WorkspaceDeleted``), which the rules route to the next compensation, and the last one to the
lifecycle function (``finish``), which ends the saga ``FAILED`` and publishes ``SagaFailed``; the
last step's success event reaches it the same way and ends the saga ``COMPLETED``.

Hazards, and where each is handled:

* duplicates and retries: the claim (step 2), then idempotency in the handler and its data layer;
* out-of-order and late events: a step never starts unless the saga is ``RUNNING`` and before its
  deadline, so a success that arrives after the saga failed is not applied, and what the step
  before it wrote is undone by the compensations that ended the saga. If a step finishes after its
  saga ended anyway (it started in time, then the deadline sweep gave up on the saga while it ran:
  the record refuses the result), its success is not published; ``SagaStepFailed`` goes out with
  ``late: true`` instead. It is *compensated*: a rule runs the step's own ``undo`` again as a
  ``late-undo`` (its own claim and idempotency record: the compensation run of the same command
  may have come before the write landed), which records the step under ``lateUndone``; the
  lifecycle function records it under ``lateSteps``. Only a step with no undo (a retriable one:
  nothing to undo by design) raises the ``SagaLateSuccess`` metric, whose alarm asks a human;
* retriable steps (after the pivot) and transient errors are *raised*, so Lambda's asynchronous
  retries run them again; a step that never gets through is ended by the deadline sweep;
* no progress at all (a lost event, a function that timed out): ``sweep``, run on a schedule by
  the lifecycle function, marks a saga still ``RUNNING`` past its deadline ``TIMED_OUT`` and starts
  its compensation as if the pending step had failed with an uncertain outcome; one still
  ``COMPENSATING`` past it becomes ``COMPENSATION_FAILED`` (alarm).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from sagakit.runtime.command import ROUTE_KEY, SAGA_ID_PATTERN, CamelModel, SagaError, is_choreographed
from sagakit.runtime.errors import describe_validation_error
from sagakit.runtime.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "INSTANCES_TABLE_ENV",
    "LATE",
    "ROUTE_KEY",
    "SOURCE",
    "STEP_FAILED",
    "TIMED_OUT_ERROR",
    "PoisonEvent",
    "Route",
    "SagaEnvelope",
    "SagaRef",
    "TriggerRef",
    "handle",
    "is_choreographed",
    "on_lifecycle_route",
]

#: The source of every event the choreography publishes (success, failure, compensation).
SOURCE = "sagakit.choreography"
#: The detail-type of a step's failure.
STEP_FAILED = "SagaStepFailed"
#: The error a late success is reported with (``SagaStepFailed`` with ``late: true``).
LATE = "SagaAlreadyEnded"
#: The error of a step the deadline sweep gave up on: the name the orchestrated lifecycle uses
#: for an execution that timed out.
TIMED_OUT_ERROR = "States.TimedOut"
#: Names the saga-instances table in a choreographed saga's functions.
INSTANCES_TABLE_ENV = "SAGA_INSTANCES_TABLE"

_REASON_CHARS = 2000
_loggers: dict[str, Any] = {}


class PoisonEvent(Exception):
    """An event a choreography rule delivered cannot be read; the message says which field and
    why. Raised, so the platform retries it and then parks it in the saga's dead-letter queue."""


class Route(CamelModel):
    """What a choreography rule tells its target; compiled into the rule's input, never sent by
    a producer.

    Parameters
    ----------
    saga, version:
        The choreographed saga.
    kind:
        ``step`` or ``compensation`` for a handler; ``completed``, ``failed``, ``late`` or
        ``sweep`` for the lifecycle function.
    command:
        The step or compensation the target runs.
    first:
        The first step: the event is the saga's trigger, and the step starts the saga.
    trigger, saga_id:
        For the first step: the trigger's detail-type and the ``Saga.saga_id`` template.
    emits:
        The detail-type published when the command succeeds (its success or result event).
    retriable, retry_on:
        Errors raised for the platform to retry: every error of a retriable step, else the
        step's ``RetryPolicy.errors``.
    steps, deadline_seconds, grace_seconds:
        For the sweep: the steps in order, the saga deadline, and how long after it a started step
        may still be running (its timeout, with margin) before the saga is given up.
    undoes:
        For a late undo (a ``compensation`` route): the step whose late success it removes.
    undone:
        For the lifecycle's ``late`` route: the steps whose late success a late undo removes (the
        others raise the ``SagaLateSuccess`` alarm's metric).
    """

    saga: str = Field(min_length=1)
    version: str = Field(min_length=1)
    kind: Literal["step", "compensation", "completed", "failed", "late", "sweep"]
    command: str | None = None
    first: bool = False
    trigger: str | None = None
    saga_id: str | None = None
    emits: str | None = None
    retriable: bool = False
    retry_on: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    deadline_seconds: int = Field(default=3600, gt=0)
    grace_seconds: int = Field(default=0, ge=0)
    undoes: str | None = None
    undone: tuple[str, ...] = ()


class SagaRef(CamelModel):
    """Which saga instance an event belongs to."""

    id: str = Field(pattern=SAGA_ID_PATTERN)
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)


class TriggerRef(CamelModel):
    """The event that started the saga: every step's ``detail``."""

    detail_type: str = Field(min_length=1)
    detail: dict[str, Any]


class SagaEnvelope(CamelModel):
    """The detail of every choreography event: the saga, who emitted it, the trigger and the
    results so far; for ``SagaStepFailed`` and the compensations after it, the error (the shape a
    Catch stores at ``$.error``, so a compensation gets the same ``error`` in both styles)."""

    saga: SagaRef
    step: str = Field(min_length=1)
    trigger: TriggerRef
    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    error: SagaError | None = None
    late: bool = False


class _Settings(BaseModel):
    """Environment of a choreographed saga's functions (set by the CDK construct)."""

    SAGA_EVENT_BUS_NAME: str = Field(min_length=1)
    SAGA_INSTANCES_TABLE: str = Field(min_length=1)


# -- the instance record ---------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    """One spelling of a time, so that ISO strings compare as times (the status index's sort key)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _client(name: str) -> Any:
    from sagakit.runtime.lifecycle import _client as lifecycle_client

    return lifecycle_client(name)


class _Instances:
    """The conditional writes a choreographed saga makes on its instance record. Every attribute
    name is a placeholder (``status``, ``error``, ``trigger`` are DynamoDB reserved words)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _update(
        self,
        saga_id: str,
        update: str,
        values: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        returns: Literal["NONE", "ALL_NEW", "UPDATED_OLD"] = "NONE",
    ) -> tuple[bool, dict[str, Any]]:
        """Apply ``update`` if ``condition`` holds. Returns whether it applied and the item: what
        ``returns`` asks for, or the one that failed the condition."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        serialize, deserialize = TypeSerializer().serialize, TypeDeserializer().deserialize
        text = f"{update} {condition or ''}"
        placeholders = set(re.findall(r"#[A-Za-z_][A-Za-z0-9_]*", text))
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"sagaId": {"S": saga_id}},
            "UpdateExpression": update,
            "ExpressionAttributeNames": {p: (names or {}).get(p, p[1:]) for p in placeholders},
            "ExpressionAttributeValues": {key: serialize(value) for key, value in values.items()},
            "ReturnValues": returns,
        }
        if condition:
            kwargs["ConditionExpression"] = condition
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        dynamodb = _client("dynamodb")
        try:
            response = dynamodb.update_item(**kwargs)
        except dynamodb.exceptions.ConditionalCheckFailedException as error:
            item = error.response.get("Item") or {}
            return False, {key: deserialize(value) for key, value in item.items()}
        attributes = response.get("Attributes") or {}
        return True, {key: deserialize(value) for key, value in attributes.items()}

    def start(
        self, envelope: SagaEnvelope, step: str, event_id: str, now: datetime, deadline: datetime
    ) -> tuple[str | None, dict[str, Any]]:
        """The first step's claim, which creates the instance ``RUNNING``. Returns why it may not
        run (``None`` when it may) and the record: the one that refused it, or the values the
        claim replaced (none at all when it created the instance: the saga started)."""
        saga = envelope.saga
        applied, found = self._update(
            saga.id,
            "SET #sagaName = if_not_exists(#sagaName, :name), #version = if_not_exists(#version, :version), "
            "#style = :style, #status = if_not_exists(#status, :running), "
            "#startedAt = if_not_exists(#startedAt, :now), #deadlineAt = if_not_exists(#deadlineAt, :deadline), "
            "#trigger = if_not_exists(#trigger, :trigger), #results = if_not_exists(#results, :empty), "
            "#claims = if_not_exists(#claims, :claims), #currentStep = if_not_exists(#currentStep, :step), "
            "#lastProgressAt = :now",
            {
                ":name": saga.name,
                ":version": saga.version,
                ":style": "choreography",
                ":running": "RUNNING",
                ":now": _stamp(now),
                ":deadline": _stamp(deadline),
                ":trigger": envelope.trigger.model_dump_json(by_alias=True),
                ":empty": {},
                ":claims": {step: event_id},
                ":step": step,
                ":event": event_id,
            },
            condition="attribute_not_exists(#sagaId) OR (#claims.#k = :event AND #status = :running)",
            names={"#k": step},
            returns="UPDATED_OLD",
        )
        return (None, found) if applied else (_refusal(found, step, event_id), found)

    def claim(
        self, saga_id: str, command: str, event_id: str, now: datetime, *, step: bool
    ) -> tuple[str | None, dict[str, Any]]:
        """Claim ``command`` for ``event_id``: a step only while the saga is ``RUNNING`` and before
        its deadline, a compensation while it is being compensated. Returns why it may not run
        (``None`` when it may) and the record that refused it."""
        allowed = (
            "#status = :running AND #deadlineAt > :now"
            if step
            else "#status IN (:compensating, :timed_out, :compensation_failed)"
        )
        applied, found = self._update(
            saga_id,
            "SET #claims.#k = :event, #lastProgressAt = :now",
            {
                ":event": event_id,
                ":now": _stamp(now),
                **(
                    {":running": "RUNNING"}
                    if step
                    else {
                        ":compensating": "COMPENSATING",
                        ":timed_out": "TIMED_OUT",
                        ":compensation_failed": "COMPENSATION_FAILED",
                    }
                ),
            },
            condition=f"attribute_exists(#sagaId) AND {allowed} AND "
            "(attribute_not_exists(#claims.#k) OR #claims.#k = :event)",
            names={"#k": command},
        )
        return (None, found) if applied else (_refusal(found, command, event_id, now=now), found)

    def complete(self, saga_id: str, step: str, event: str, result: Mapping[str, Any], now: datetime) -> bool:
        """Record a step's result, only while the saga is ``RUNNING``; False means it ended meanwhile."""
        applied, _ = self._update(
            saga_id,
            "SET #results.#e = :result, #currentStep = :step, #lastProgressAt = :now ADD #stepsCompleted :steps",
            {
                ":result": json.dumps(result, sort_keys=True),
                ":step": step,
                ":now": _stamp(now),
                ":steps": {step},
                ":running": "RUNNING",
            },
            condition="#status = :running",
            names={"#e": event},
        )
        return applied

    def fail(self, saga_id: str, step: str, error: str, reason: str, now: datetime) -> tuple[bool, dict[str, Any]]:
        """Mark the saga ``COMPENSATING`` because ``step`` failed, only if it is ``RUNNING``."""
        return self._update(
            saga_id,
            "SET #status = :compensating, #failedStep = :step, #error = :error, #reason = :reason, "
            "#lastProgressAt = :now",
            {
                ":compensating": "COMPENSATING",
                ":running": "RUNNING",
                ":step": step,
                ":error": error,
                ":reason": reason,
                ":now": _stamp(now),
            },
            condition="#status = :running",
        )

    def time_out(self, saga_id: str, step: str, reason: str, now: datetime) -> tuple[bool, dict[str, Any]]:
        """The sweep's verdict on a ``RUNNING`` saga past its deadline: ``TIMED_OUT`` at ``step``."""
        return self._update(
            saga_id,
            "SET #status = :timed_out, #failedStep = :step, #error = :error, #reason = :reason, #lastProgressAt = :now",
            {
                ":timed_out": "TIMED_OUT",
                ":running": "RUNNING",
                ":step": step,
                ":error": TIMED_OUT_ERROR,
                ":reason": reason,
                ":now": _stamp(now),
            },
            condition="#status = :running",
            returns="ALL_NEW",
        )

    def claim_late_undo(self, saga_id: str, command: str, event_id: str, now: datetime) -> str | None:
        """Claim ``command`` as a late undo for ``event_id``, once the saga has ended or is being
        compensated (never while ``RUNNING``), under its own claim (``late:<command>``): the
        compensation run of the same command does not count. Returns why it may not run."""
        applied, found = self._update(
            saga_id,
            "SET #claims.#k = :event, #lastProgressAt = :now",
            {":event": event_id, ":now": _stamp(now), ":running": "RUNNING"},
            condition="attribute_exists(#sagaId) AND #status <> :running AND "
            "(attribute_not_exists(#claims.#k) OR #claims.#k = :event)",
            names={"#k": f"late:{command}"},
        )
        return None if applied else _refusal(found, f"late:{command}", event_id)

    def late_undone(self, saga_id: str, step: str, now: datetime) -> None:
        """Record that ``step``'s late success was undone (``lateUndone``)."""
        self._update(
            saga_id, "SET #lastProgressAt = :now ADD #lateUndone :steps", {":now": _stamp(now), ":steps": {step}}
        )

    def late(self, saga_id: str, step: str, now: datetime) -> None:
        """Record that ``step`` succeeded after the saga ended (``lateSteps``)."""
        self._update(
            saga_id, "SET #lastProgressAt = :now ADD #lateSteps :steps", {":now": _stamp(now), ":steps": {step}}
        )

    def end(
        self, saga_id: str, *, to: str, when: tuple[str, ...], now: datetime, once: bool = False
    ) -> tuple[bool, dict[str, Any]]:
        """Move the saga from one of ``when`` to the terminal status ``to``; with ``once``, only if
        it has not ended yet (for a status that does not change, ``TIMED_OUT``)."""
        values: dict[str, Any] = {":to": to, ":now": _stamp(now)}
        allowed = []
        for index, status in enumerate(when):
            values[f":w{index}"] = status
            allowed.append(f":w{index}")
        return self._update(
            saga_id,
            "SET #status = :to, #endedAt = :now",
            values,
            condition=f"#status IN ({', '.join(allowed)})" + (" AND attribute_not_exists(#endedAt)" if once else ""),
            returns="ALL_NEW",
        )

    def stale(self, saga: str, status: str, started_before: datetime) -> list[dict[str, Any]]:
        """Instances of ``saga`` in ``status`` that started before ``started_before`` (the status
        index, keyed by status and sorted by ``startedAt``)."""
        from boto3.dynamodb.types import TypeDeserializer

        deserialize = TypeDeserializer().deserialize
        pages = (
            _client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table,
                IndexName="byStatus",
                KeyConditionExpression="#status = :status AND #startedAt < :cutoff",
                FilterExpression="#sagaName = :saga",
                ExpressionAttributeNames={"#status": "status", "#startedAt": "startedAt", "#sagaName": "sagaName"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":cutoff": {"S": _stamp(started_before)},
                    ":saga": {"S": saga},
                },
            )
        )
        return [{k: deserialize(v) for k, v in item.items()} for page in pages for item in page.get("Items", [])]


def _refusal(found: Mapping[str, Any], command: str, event_id: str, *, now: datetime | None = None) -> str:
    """Why a claim was refused, from the item that failed the condition."""
    if not found:
        return "unknown saga: no instance record"
    claimed = (found.get("claims") or {}).get(command)
    if claimed is not None and claimed != event_id:
        return f"duplicate: {command} already ran for event {claimed}"
    status = found.get("status")
    if status == "RUNNING" and now is not None and str(found.get("deadlineAt", "")) <= _stamp(now):
        return "not applied: the saga is past its deadline"
    return f"not applied: the saga is {status}"


# -- publishing ------------------------------------------------------------------------------


def _publish(bus: str, *entries: tuple[str, str, BaseModel]) -> None:
    """Put ``(source, detail-type, detail)`` entries on ``bus`` in one call."""
    response = _client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": detail.model_dump_json(by_alias=True),
                "EventBusName": bus,
            }
            for source, detail_type, detail in entries
        ]
    )
    if response.get("FailedEntryCount"):
        from sagakit.runtime.errors import TransientError

        raise TransientError(f"choreography events not published: {response['Entries']}")


def _compensating(envelope: SagaEnvelope, step: str) -> tuple[str, str, BaseModel]:
    from events.lifecycle import SagaCompensating
    from sagakit.runtime.lifecycle import SOURCE as LIFECYCLE_SOURCE
    from sagakit.runtime.lifecycle import _now

    saga = envelope.saga
    event = SagaCompensating(saga_name=saga.name, saga_id=saga.id, step=step, timestamp=_now(), version=saga.version)
    return LIFECYCLE_SOURCE, "SagaCompensating", event


def _started(envelope: SagaEnvelope) -> tuple[str, str, BaseModel]:
    from events.lifecycle import SagaStarted
    from sagakit.runtime.lifecycle import SOURCE as LIFECYCLE_SOURCE
    from sagakit.runtime.lifecycle import _now

    saga = envelope.saga
    return (
        LIFECYCLE_SOURCE,
        "SagaStarted",
        SagaStarted(saga_name=saga.name, saga_id=saga.id, timestamp=_now(), version=saga.version),
    )


def _failure(envelope: SagaEnvelope, step: str, error: str, reason: str, *, late: bool = False) -> SagaEnvelope:
    cause = json.dumps({"errorType": error, "errorMessage": reason})
    return envelope.model_copy(update={"step": step, "error": SagaError(Error=error, Cause=cause), "late": late})


# -- the adapter -----------------------------------------------------------------------------


def _logger() -> Any:
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "saga-choreography")
    if service not in _loggers:
        from aws_lambda_powertools import Logger

        _loggers[service] = Logger(service=service)
    return _loggers[service]


def _error_name(error: BaseException) -> str:
    from sagakit.runtime.lifecycle import _error_name as sanitize

    return sanitize(type(error).__name__)


def _read(route: Route, raw: Mapping[str, Any]) -> SagaEnvelope:
    """The saga envelope of ``raw``: built from the trigger for the first step, else carried."""
    if route.first:
        from events import EventEnvelope
        from sagakit.runtime.starter import RejectedEvent, saga_id_for

        label = f"{route.trigger} rejected"
        try:
            trigger = EventEnvelope.model_validate(raw)
        except ValidationError as error:
            raise PoisonEvent(f"{label}: {describe_validation_error(error)}") from None
        if trigger.detail_type != route.trigger:
            raise PoisonEvent(f"{label}: detail-type: expected {route.trigger!r}, got {trigger.detail_type!r}")
        try:
            detail = trigger.parse_detail().model_dump(mode="json", by_alias=True)
            saga_id = saga_id_for(route.saga_id or "", detail, fallback=str(raw.get("id", "")))
        except (ValueError, RejectedEvent) as error:
            raise PoisonEvent(f"{label}: {error}") from None
        return SagaEnvelope(
            saga=SagaRef(id=saga_id, name=route.saga, version=route.version),
            step=route.command or "",
            trigger=TriggerRef(detail_type=trigger.detail_type, detail=detail),
        )
    try:
        envelope = SagaEnvelope.model_validate(raw.get("detail"))
    except ValidationError as error:
        raise PoisonEvent(
            f"{raw.get('detail-type')} for {route.command}: {describe_validation_error(error, prefix='detail.')}"
        ) from None
    if envelope.saga.name != route.saga:
        raise PoisonEvent(f"{raw.get('detail-type')}: saga {envelope.saga.name!r}, but the rule is {route.saga}'s")
    return envelope


def _command(envelope: SagaEnvelope, route: Route) -> dict[str, Any]:
    """The input an orchestrated task gets (``SagaStateMachine._task``), from the envelope."""
    saga = envelope.saga
    command: dict[str, Any] = {
        "sagaId": saga.id,
        "sagaName": saga.name,
        "step": route.command,
        "kind": "late-undo" if route.undoes else route.kind,
        "sagaVersion": saga.version,
        "detail": envelope.trigger.detail,
        "results": envelope.results,
    }
    if route.kind == "compensation":
        command["error"] = envelope.error.model_dump() if envelope.error else None
    return command


def _answer(envelope: SagaEnvelope, route: Route, outcome: str, **more: Any) -> dict[str, Any]:
    """What the adapter returns: read by the offline trace, logged on AWS."""
    return {
        "sagaId": envelope.saga.id,
        "saga": envelope.saga.name,
        "command": route.command,
        "kind": route.kind,
        "outcome": outcome,
        **{key: value for key, value in more.items() if value is not None},
    }


LambdaRun = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def handle(event: dict[str, Any], context: LambdaContext, run: LambdaRun) -> dict[str, Any]:
    """Run a choreographed step or compensation: ``run`` is the handler's own entry point.

    Returns what happened (``outcome``: ``succeeded``, ``failed``, ``late``, ``refused``);
    raises ``PoisonEvent`` for an unreadable event, and the handler's error for one the platform
    should retry (a retriable step, a transient error, any compensation error).
    """
    route = Route.model_validate(event[ROUTE_KEY])
    raw: dict[str, Any] = event.get("event") or {}
    envelope = _read(route, raw)
    settings = load_settings(_Settings)
    instances = _Instances(settings.SAGA_INSTANCES_TABLE)
    logger = _logger()
    logger.set_correlation_id(envelope.saga.id)
    command = route.command or ""
    event_id = str(raw.get("id") or "")
    now = datetime.now(UTC)

    if route.kind not in ("step", "compensation"):
        raise PoisonEvent(f"route {route.kind!r} is the lifecycle function's, not {command or 'a handler'}'s")
    if route.kind == "compensation" and route.undoes:
        # The step succeeded after its saga ended: undo what it wrote. No choreography event
        # follows it (the saga has ended, or its compensation chain runs without this step); the
        # step wrapper still publishes SagaStepCompensated for the lifecycle.
        refused = instances.claim_late_undo(envelope.saga.id, command, event_id, now)
        if refused:
            logger.info("late undo not run", extra={"command": command, "why": refused})
            return _answer(envelope, route, "refused", reason=refused)
        result = run(_command(envelope, route), context)  # errors propagate: the platform retries
        instances.late_undone(envelope.saga.id, route.undoes, now)
        logger.warning("late success undone", extra={"command": command, "step": route.undoes})
        return _answer(envelope, route, "succeeded", result=result, undoes=route.undoes)
    if route.kind == "compensation":
        refused, _ = instances.claim(envelope.saga.id, command, event_id, now, step=False)
        if refused:
            logger.info("compensation not run", extra={"command": command, "why": refused})
            return _answer(envelope, route, "refused", reason=refused)
        result = run(_command(envelope, route), context)  # errors propagate: the platform retries
        _publish(
            settings.SAGA_EVENT_BUS_NAME, (SOURCE, route.emits or "", envelope.model_copy(update={"step": command}))
        )
        return _answer(envelope, route, "succeeded", emitted=route.emits, result=result)

    if route.first:
        deadline = now + timedelta(seconds=route.deadline_seconds)
        refused, found = instances.start(envelope, command, event_id, now, deadline)
        if refused is None and "status" not in found:  # this claim created the instance
            _publish(settings.SAGA_EVENT_BUS_NAME, _started(envelope))
    else:
        refused, found = instances.claim(envelope.saga.id, command, event_id, now, step=True)
    if refused:
        if _own_failure(found, command, event_id):
            # A retry of this very invocation, which marked the saga failed but could not publish.
            failure = _failure(envelope, command, str(found.get("error")), str(found.get("reason") or ""))
            _publish(settings.SAGA_EVENT_BUS_NAME, (SOURCE, STEP_FAILED, failure))
            return _answer(envelope, route, "failed", error=found.get("error"), reason="published again")
        logger.info("step not run", extra={"command": command, "why": refused})
        return _answer(envelope, route, "refused", reason=refused)

    try:
        result = run(_command(envelope, route), context)
    except Exception as error:
        name = _error_name(error)
        if route.retriable or name in route.retry_on:
            raise  # Lambda's asynchronous retries run it again; the sweep ends a saga that never gets through
        reason = str(error)[:_REASON_CHARS] or name
        marked, _ = instances.fail(envelope.saga.id, command, name, reason, now)
        if marked:
            failure = _failure(envelope, command, name, reason)
            _publish(settings.SAGA_EVENT_BUS_NAME, (SOURCE, STEP_FAILED, failure), _compensating(envelope, command))
        logger.info("step failed", extra={"command": command, "error": name, "compensating": marked})
        return _answer(envelope, route, "failed", error=name, reason=reason)

    event_name = route.emits or ""
    if not instances.complete(envelope.saga.id, command, event_name, result, now):
        # The saga ended while this step ran: its result must not move the saga on, and what it
        # wrote is undone by the step's undo, which the late event's rule runs (the lifecycle
        # function records it; a step with no undo raises an alarm instead).
        late = _failure(envelope, command, LATE, f"{command} succeeded after the saga ended", late=True)
        _publish(settings.SAGA_EVENT_BUS_NAME, (SOURCE, STEP_FAILED, late))
        logger.warning("late success: the saga ended while the step ran", extra={"command": command})
        return _answer(envelope, route, "late", emitted=STEP_FAILED)
    succeeded = envelope.model_copy(update={"step": command, "results": {**envelope.results, event_name: result}})
    _publish(settings.SAGA_EVENT_BUS_NAME, (SOURCE, event_name, succeeded))
    return _answer(envelope, route, "succeeded", emitted=event_name)


def _own_failure(found: Mapping[str, Any], command: str, event_id: str) -> bool:
    """Whether ``found`` says this event's own invocation of ``command`` failed the saga."""
    return (
        found.get("status") == "COMPENSATING"
        and found.get("failedStep") == command
        and (found.get("claims") or {}).get(command) == event_id
    )


# -- the lifecycle function's part -------------------------------------------------------------


def on_lifecycle_route(event: dict[str, Any], lifecycle: Any) -> dict[str, Any]:
    """The lifecycle function's choreography routes: the saga's end (``completed``, ``failed``)
    and the deadline sweep. ``lifecycle`` is the function's ``_Lifecycle`` (settings, metrics)."""
    route = Route.model_validate(event[ROUTE_KEY])
    instances = _Instances(lifecycle.settings.SAGA_INSTANCES_TABLE)
    lifecycle.metrics.add_dimension(name="saga", value=route.saga)
    if route.kind == "sweep":
        now = datetime.fromisoformat(event["now"]) if event.get("now") else datetime.now(UTC)
        return sweep(route, instances, lifecycle, now)
    envelope = SagaEnvelope.model_validate((event.get("event") or {}).get("detail"))
    if route.kind == "late":
        instances.late(envelope.saga.id, envelope.step, datetime.now(UTC))
        undone = envelope.step in route.undone
        if undone:
            lifecycle.logger.warning(
                "a step succeeded after its saga ended; its undo runs", extra={"step": envelope.step}
            )
        else:
            lifecycle._metric("SagaLateSuccess", route.saga)
            lifecycle.logger.error("a step with no undo succeeded after its saga ended", extra={"step": envelope.step})
        return {"handled": True, "sagaId": envelope.saga.id, "late": envelope.step, "undone": undone}
    return _finish(route, envelope, instances, lifecycle, datetime.now(UTC))


def _finish(
    route: Route, envelope: SagaEnvelope, instances: _Instances, lifecycle: Any, now: datetime
) -> dict[str, Any]:
    from events import lifecycle as models
    from sagakit.runtime.lifecycle import _now, _put

    saga = envelope.saga
    common = {"saga_name": saga.name, "saga_id": saga.id, "timestamp": _now(), "version": saga.version}
    if route.kind == "completed":
        ended, item = instances.end(saga.id, to="COMPLETED", when=("RUNNING",), now=now)
        if not ended:
            return {"handled": True, "sagaId": saga.id, "outcome": "already ended"}
        lifecycle._metric("SagaCompleted", saga.name)
        outcome: BaseModel = models.SagaCompleted(**common)
    else:
        # COMPENSATION_FAILED too: a stalled compensation that got through after all (redriven
        # from the dead-letter queue) completes the saga's compensation.
        ended, item = instances.end(saga.id, to="FAILED", when=("COMPENSATING", "COMPENSATION_FAILED"), now=now)
        if not ended:  # timed out: the status stays TIMED_OUT, the saga still ends here, once
            ended, item = instances.end(saga.id, to="TIMED_OUT", when=("TIMED_OUT",), now=now, once=True)
        if not ended:
            return {"handled": True, "sagaId": saga.id, "outcome": "already ended"}
        lifecycle._metric("SagaFailed", saga.name)
        error = str(item.get("error") or (envelope.error.Error if envelope.error else "Unknown"))
        outcome = models.SagaFailed(
            **common,
            step=item.get("failedStep"),
            failed_step=item.get("failedStep"),
            error=re.sub(r"[^A-Za-z0-9_.]", "", error)[:128] or "Unknown",
            reason=str(item.get("reason") or error)[:_REASON_CHARS],
        )
    started = item.get("startedAt")
    if started:
        elapsed = (now - datetime.fromisoformat(str(started))).total_seconds() * 1000
        lifecycle._metric("SagaDuration", saga.name, value=elapsed, unit="Milliseconds")
    _put(lifecycle.settings.SAGA_EVENT_BUS_NAME, outcome)
    return {"handled": True, "sagaId": saga.id, "outcome": item.get("status")}


def sweep(route: Route, instances: _Instances, lifecycle: Any, now: datetime) -> dict[str, Any]:
    """Give up on the sagas of ``route.saga`` that made no progress to the end past their deadline
    (plus the grace a started step may still need).

    * ``RUNNING``: ``TIMED_OUT``; the first step not completed is reported failed with
      ``States.TimedOut`` (an uncertain outcome), which starts the compensation the rules
      compile for it, exactly ``Saga.compensation_order``; the saga then ends ``TIMED_OUT``.
    * ``COMPENSATING``, or ``TIMED_OUT`` and not ended with no progress for the grace: a
      compensation never got through: ``COMPENSATION_FAILED``, for a human.
    """
    from events import lifecycle as models
    from sagakit.runtime.lifecycle import _now, _put

    cutoff = now - timedelta(seconds=route.deadline_seconds + route.grace_seconds)
    bus = lifecycle.settings.SAGA_EVENT_BUS_NAME
    swept: list[dict[str, str]] = []
    for item in instances.stale(route.saga, "RUNNING", cutoff):
        saga_id = str(item["sagaId"])
        done = set(item.get("stepsCompleted") or ())
        pending = next((step for step in route.steps if step not in done), None)
        if pending is None:  # every step completed and only the last event was lost
            completed, found = instances.end(saga_id, to="COMPLETED", when=("RUNNING",), now=now)
            if completed:
                version = str(found.get("version") or route.version)
                _put(
                    bus, models.SagaCompleted(saga_name=route.saga, saga_id=saga_id, timestamp=_now(), version=version)
                )
                swept.append({"sagaId": saga_id, "status": "COMPLETED"})
            continue
        reason = f"no progress past the deadline ({route.deadline_seconds} s); {pending} had not completed"
        timed_out, found = instances.time_out(saga_id, pending, reason, now)
        if not timed_out:
            continue
        trigger = TriggerRef.model_validate_json(found["trigger"])
        results = {name: json.loads(value) for name, value in (found.get("results") or {}).items()}
        envelope = SagaEnvelope(
            saga=SagaRef(id=saga_id, name=route.saga, version=str(found.get("version") or route.version)),
            step=pending,
            trigger=trigger,
            results=results,
        )
        lifecycle._metric("SagaTimedOut", route.saga)
        _publish(bus, (SOURCE, STEP_FAILED, _failure(envelope, pending, TIMED_OUT_ERROR, reason)))
        swept.append({"sagaId": saga_id, "status": "TIMED_OUT", "step": pending})
    # A timed-out saga is compensated from the sweep on: it is stalled once it has made no
    # progress for as long as a compensation may take with Lambda's retries (the grace).
    stalled_before = _stamp(now - timedelta(seconds=route.grace_seconds))
    stalled = [(item, "COMPENSATING") for item in instances.stale(route.saga, "COMPENSATING", cutoff)] + [
        (item, "TIMED_OUT")
        for item in instances.stale(route.saga, "TIMED_OUT", cutoff)
        if "endedAt" not in item and str(item.get("lastProgressAt", "")) < stalled_before
    ]
    for item, status in stalled:
        saga_id = str(item["sagaId"])
        ended, found = instances.end(
            saga_id, to="COMPENSATION_FAILED", when=(status,), now=now, once=status == "TIMED_OUT"
        )
        if not ended:
            continue
        lifecycle._metric("SagaCompensationFailed", route.saga)
        _put(
            bus,
            models.SagaCompensationFailed(
                saga_name=route.saga,
                saga_id=saga_id,
                timestamp=_now(),
                version=str(found.get("version") or route.version),
                step=found.get("failedStep"),
                failed_step=found.get("failedStep"),
                error="CompensationStalled",
                reason=f"still compensating past the deadline ({route.deadline_seconds} s)",
            ),
        )
        swept.append({"sagaId": saga_id, "status": "COMPENSATION_FAILED"})
    return {"handled": True, "swept": swept}
