"""Saga lifecycle: the events that dashboards, alerts and ``saga status`` are built on.

Where each event comes from, chosen so that the happy path pays no extra state transition:

* ``SagaStepCompleted`` / ``SagaStepCompensated``: the step wrapper (``saga_handler``) publishes
  them after a step or compensation succeeds.
* ``SagaStarted`` / ``SagaCompleted`` / ``SagaFailed`` / ``SagaCompensationFailed``: derived by
  ``handler`` below from Step Functions' own "Step Functions Execution Status Change" events,
  which AWS puts on the default bus for every execution (the offline runtime emits them too).
* ``SagaCompensating``: derived here, once, from the first ``SagaStepCompensated``.

``handler`` also keeps the saga-instances table current and emits EMF metrics per saga
(``SagaStarted``, ``SagaCompleted``, ``SagaFailed``, ``SagaCompensationFailed``, ``SagaDuration``).
Events arrive at least once and out of order, so every table write is idempotent and a
terminal status is never overwritten by a late ``RUNNING``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sagakit.runtime.coldstart import ends_cold_start
from sagakit.runtime.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["LifecycleSettings", "classify_failure", "handler", "publish_step_event"]

SOURCE = "sagakit"
STATUS_CHANGE = "Step Functions Execution Status Change"
_TASK_FAILURES = ("LambdaFunctionFailed", "TaskFailed", "LambdaFunctionTimedOut", "TaskTimedOut")
TERMINAL = ("COMPLETED", "FAILED", "COMPENSATION_FAILED", "TIMED_OUT", "ABORTED")


class LifecycleSettings(BaseModel):
    """Environment of the lifecycle function."""

    SAGA_EVENT_BUS_NAME: str
    SAGA_INSTANCES_TABLE: str
    #: {"<saga>": ["<compensation state>", ...]}: tells a failed compensation from a failed step.
    SAGA_COMPENSATIONS: str = "{}"


def _client(name: str) -> Any:
    # The function's shared clients: after a step, publishing its event loads no model twice.
    from sagakit.runtime.aws import aws_client

    return aws_client(name)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _put(bus: str, event: BaseModel) -> None:
    entry = {
        "Source": SOURCE,
        "DetailType": type(event).__name__,
        "Detail": event.model_dump_json(by_alias=True),
        "EventBusName": bus,
    }
    response = _client("events").put_events(Entries=[entry])
    if response.get("FailedEntryCount"):
        from sagakit.runtime.errors import TransientError

        raise TransientError(f"lifecycle event {entry['DetailType']} not published: {response['Entries']}")


def publish_step_event(command: Any) -> None:
    """After a step or compensation succeeded: publish ``SagaStepCompleted`` or
    ``SagaStepCompensated``. A no-op where no saga bus is configured (handler unit tests)."""
    bus = os.environ.get("SAGA_EVENT_BUS_NAME")
    if not bus:
        return
    from events.lifecycle import SagaStepCompensated, SagaStepCompleted

    undid = getattr(command, "kind", "step") in ("compensation", "late-undo")
    model = SagaStepCompensated if undid else SagaStepCompleted
    _put(
        bus,
        model(
            saga_name=command.saga_name,
            saga_id=command.saga_id,
            step=command.step,
            timestamp=_now(),
            version=command.saga_version,
        ),
    )


# -- the lifecycle function ------------------------------------------------------------------


def classify_failure(history: list[dict[str, Any]], compensations: set[str]) -> tuple[str, str | None]:
    """From an execution history (newest last): the outcome and the state that failed it.

    FAILED when the saga reached its Fail state (every step compensated), with the step whose
    error started compensation; COMPENSATION_FAILED when the execution failed inside a
    compensation, with that compensation.
    """
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    failed_step = None
    last = entered[-1] if entered else None
    if last in compensations:
        return "COMPENSATION_FAILED", last
    # The first state whose task failed and was caught is the step that started compensation.
    current = None
    for event in history:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in _TASK_FAILURES and current not in compensations:
            failed_step = current
            break
    return "FAILED", failed_step


class _Lifecycle:
    def __init__(self, settings: LifecycleSettings, metrics: Any, logger: Any) -> None:
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.table = settings.SAGA_INSTANCES_TABLE
        self.compensations: dict[str, list[str]] = json.loads(settings.SAGA_COMPENSATIONS)

    def _update(
        self,
        saga_id: str,
        *,
        values: dict[str, Any] | None = None,
        if_missing: dict[str, Any] | None = None,
        add: dict[str, set[str]] | None = None,
        only_if_status_in: tuple[str, ...] = (),
    ) -> bool:
        """One idempotent ``UpdateItem`` on the instance; every attribute name is a placeholder
        (``status``, ``name``, ``error`` are DynamoDB reserved words). With
        ``only_if_status_in``, the update applies only while the status is one of those (or
        unset); returns whether it applied."""
        from boto3.dynamodb.types import TypeSerializer

        serialize = TypeSerializer().serialize
        names: dict[str, str] = {}
        attribute_values: dict[str, Any] = {}
        sets: list[str] = []
        for index, (key, value) in enumerate({**(values or {}), **(if_missing or {})}.items()):
            if value is None:
                continue
            names[f"#a{index}"] = key
            attribute_values[f":v{index}"] = serialize(value)
            if key in (if_missing or {}):
                sets.append(f"#a{index} = if_not_exists(#a{index}, :v{index})")
            else:
                sets.append(f"#a{index} = :v{index}")
        adds: list[str] = []
        for index, (key, members) in enumerate((add or {}).items()):
            names[f"#s{index}"] = key
            attribute_values[f":s{index}"] = serialize(members)
            adds.append(f"#s{index} :s{index}")
        expression = " ".join(
            part
            for part in ("SET " + ", ".join(sets) if sets else "", "ADD " + ", ".join(adds) if adds else "")
            if part
        )
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"sagaId": {"S": saga_id}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attribute_values,
        }
        if only_if_status_in:
            names["#status"] = "status"
            allowed = []
            for index, status in enumerate(only_if_status_in):
                attribute_values[f":c{index}"] = {"S": status}
                allowed.append(f":c{index}")
            kwargs["ConditionExpression"] = f"attribute_not_exists(#status) OR #status IN ({', '.join(allowed)})"
        dynamodb = _client("dynamodb")
        try:
            dynamodb.update_item(**kwargs)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _metric(self, name: str, saga: str, value: float = 1, unit: str = "Count") -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=getattr(MetricUnit, unit), value=value)
        del saga

    # A step or compensation finished (published by the step wrapper).
    def on_step_event(self, detail_type: str, detail: dict[str, Any]) -> None:
        saga_id, step = detail["sagaId"], detail["step"]
        names = {"sagaName": detail["sagaName"], "version": detail["version"]}
        if detail_type == "SagaStepCompleted":
            self._update(saga_id, values={**names, "currentStep": step}, add={"stepsCompleted": {step}})
            return
        self._update(saga_id, values=names, add={"stepsCompensated": {step}})
        # The first compensation marks the saga COMPENSATING, once, and says so on the bus.
        first = self._update(saga_id, values={"status": "COMPENSATING"}, only_if_status_in=("RUNNING",))
        if first:
            from events.lifecycle import SagaCompensating

            _put(
                self.settings.SAGA_EVENT_BUS_NAME,
                SagaCompensating(
                    saga_name=detail["sagaName"],
                    saga_id=saga_id,
                    step=step,
                    timestamp=_now(),
                    version=detail["version"],
                ),
            )

    # Step Functions says an execution changed status.
    def on_status_change(self, detail: dict[str, Any]) -> None:
        from events import lifecycle

        saga_input = json.loads(detail.get("input") or "{}").get("saga", {})
        saga_name = saga_input.get("name") or detail["stateMachineArn"].rsplit(":", 1)[-1].split("-")[-1]
        version = str(saga_input.get("version", "?"))
        # The saga id is the execution's name; a run resumed offline (sagakit.local.redrive, a
        # second execution of a derived machine) carries it in its input, as AWS's own redrive
        # keeps the name: either way the saga's one instance record follows it.
        saga_id = str(saga_input.get("id") or detail["name"])
        status = detail["status"]
        self.metrics.add_dimension(name="saga", value=saga_name)
        common = {"saga_name": saga_name, "saga_id": saga_id, "timestamp": _now(), "version": version}
        started = _epoch_ms(detail.get("startDate"))
        stopped = _epoch_ms(detail.get("stopDate"))
        if status == "RUNNING":
            self._update(
                saga_id,
                values={"sagaName": saga_name, "version": version, "executionArn": detail["executionArn"]},
                if_missing={"status": "RUNNING", "startedAt": _iso(started)},
            )
            self._metric("SagaStarted", saga_name)
            _put(self.settings.SAGA_EVENT_BUS_NAME, lifecycle.SagaStarted(**common))
            return

        outcome, failed_state = "COMPLETED", None
        event: BaseModel
        if status == "SUCCEEDED":
            event = lifecycle.SagaCompleted(**common)
        elif status == "FAILED":
            history = _client("stepfunctions").get_execution_history(
                executionArn=detail["executionArn"], maxResults=1000
            )["events"]
            outcome, failed_state = classify_failure(history, set(self.compensations.get(saga_name, [])))
            failure = {
                **common,
                "step": failed_state,
                "failed_step": failed_state,
                "error": _error_name(detail.get("error")),
                "reason": (detail.get("cause") or detail.get("error") or "unknown")[:2000],
            }
            model = lifecycle.SagaCompensationFailed if outcome == "COMPENSATION_FAILED" else lifecycle.SagaFailed
            event = model(**failure)
        else:  # TIMED_OUT, ABORTED: the saga ran past its deadline or was stopped
            outcome = status
            event = lifecycle.SagaFailed(
                **common, error=_error_name(f"States.{status.title().replace('_', '')}"), reason=status
            )
        self._update(
            saga_id,
            values={
                "sagaName": saga_name,
                "version": version,
                "executionArn": detail["executionArn"],
                "status": outcome,
                "endedAt": _iso(stopped),
                "failedStep": failed_state,
                "error": detail.get("error"),
                "reason": (detail.get("cause") or "")[:2000] or None,
            },
            if_missing={"startedAt": _iso(started)},
        )
        metric = {
            "COMPLETED": "SagaCompleted",
            "COMPENSATION_FAILED": "SagaCompensationFailed",
        }.get(outcome, "SagaFailed")
        self._metric(metric, saga_name)
        if started and stopped:
            self._metric("SagaDuration", saga_name, value=stopped - started, unit="Milliseconds")
        _put(self.settings.SAGA_EVENT_BUS_NAME, event)


def _error_name(error: str | None) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9_.]", "", error or "") or "Unknown"
    return name[:128]


def _epoch_ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def _iso(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat()


@ends_cold_start
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: a status change from Step Functions, a step event from the bus, or a
    choreographed saga's route (its end, the deadline sweep: ``sagakit.runtime.choreography``)."""
    from aws_lambda_powertools import Logger, Metrics

    from sagakit.runtime import choreography

    logger = Logger(service="saga-lifecycle")
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Sagas"), service="saga-lifecycle")
    # Powertools keeps metric dimensions between invocations of a warm function: start clean.
    metrics.clear_metrics()
    lifecycle = _Lifecycle(load_settings(LifecycleSettings), metrics, logger)
    if choreography.is_choreographed(event):  # a choreographed saga's end, or the deadline sweep
        answer = choreography.on_lifecycle_route(event, lifecycle)
        metrics.flush_metrics(raise_on_empty_metrics=False)
        return answer
    detail_type = event.get("detail-type")
    detail = event.get("detail") or {}
    logger.set_correlation_id(detail.get("sagaId") or detail.get("name"))
    if detail_type == STATUS_CHANGE:
        lifecycle.on_status_change(detail)
    elif detail_type in ("SagaStepCompleted", "SagaStepCompensated"):
        lifecycle.on_step_event(str(detail_type), detail)
    else:
        logger.warning("ignored event", extra={"detail_type": detail_type})
        return {"handled": False}
    metrics.flush_metrics(raise_on_empty_metrics=False)
    return {"handled": True, "detailType": detail_type}
