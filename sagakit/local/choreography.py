"""Choreographed sagas in the offline runtime: run one, wait for it, read it back as a ``SagaRun``
(so ``sagakit.trace`` renders it like an execution), run the deadline sweep, and count what a run
costs in Step Functions transitions, EventBridge events and Lambda invocations.

A choreographed saga has no execution to wait on or read a history from. What it has:

* its **instance record** (saga-instances table), which the step adapter and the lifecycle
  function keep: the status, the failed step and error, the trigger, the results so far;
* the **deliveries** the ``EventRouter`` made to its rules' targets: which command ran on which
  event, with what outcome (the adapter's answer), how many attempts and how long.

``wait`` polls the record until the saga has ended; ``describe`` folds the deliveries into one
``StateRecord`` per step and compensation that ran, in delivery order.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sagakit.local.runtime import SagaRun, StateRecord

if TYPE_CHECKING:
    from sagakit.definition import Saga
    from sagakit.local.event_router import Delivery
    from sagakit.local.runtime import LocalRuntime

__all__ = ["Cost", "counting", "describe", "is_choreographed_saga", "restyle", "run", "sweep", "wait"]

#: Statuses after which nothing more happens to a saga (TIMED_OUT once its compensation ended).
_ENDED = ("COMPLETED", "FAILED", "COMPENSATION_FAILED")
#: The instance status, as the Step Functions execution status ``SagaRun`` expects.
_EXECUTION_STATUS = {
    "COMPLETED": "SUCCEEDED",
    "FAILED": "FAILED",
    "COMPENSATION_FAILED": "FAILED",
    "TIMED_OUT": "TIMED_OUT",
}


def _saga(name: str) -> Saga:
    from statemachines import saga_named

    return saga_named(name)


def is_choreographed_saga(name: str) -> bool:
    """Whether the saga called ``name`` is deployed as a choreography."""
    from sagakit.definition import SagaStyle

    return _saga(name).style is SagaStyle.CHOREOGRAPHY


def restyle(envelope: dict[str, Any], style: str) -> dict[str, Any]:
    """``envelope`` as the trigger of a saga of ``style``: the same detail under the detail-type
    whose model is the original's or derives from it (``ClientOnboarded`` ->
    ``ClientOnboardedChoreography``). ``KeyError`` says when no saga of that style fits."""
    from events import EVENTS, contract
    from statemachines import all_sagas

    model = contract(envelope["detail-type"]).model
    for saga in all_sagas():
        found = EVENTS.get(saga.trigger)
        if saga.style == style and found is not None and issubclass(found.model, model):
            return {**envelope, "source": found.source, "detail-type": found.name}
    raise KeyError(f"no {style} saga is triggered by {envelope['detail-type']} or an event derived from it")


def _saga_id(saga: Saga, detail: dict[str, Any]) -> str | None:
    from sagakit.runtime.starter import RejectedEvent, saga_id_for

    try:
        return saga_id_for(saga.saga_id or "", detail, fallback="")
    except RejectedEvent:
        return None


def run(runtime: LocalRuntime, envelope: dict[str, Any], saga_name: str, *, timeout: float = 120.0) -> SagaRun:
    """Put the trigger ``envelope`` on the bus and wait for the choreographed saga to end.

    There is no producer in between: the trigger goes on the bus as it is (``ClientOnboarded``'s
    producer publishes ``ClientOnboarded``, which starts the orchestrated saga).
    """
    saga = _saga(saga_name)
    saga_id = _saga_id(saga, envelope.get("detail") or {})
    seen = len(runtime.events.deliveries)
    runtime.put_event(envelope)
    if saga_id is None or _instance(runtime, saga_id) is None:
        raise RuntimeError(f"{envelope['detail-type']} started no {saga_name}: {_rejection(runtime, seen)}")
    return wait(runtime, saga_name, saga_id, timeout=timeout)


def _rejection(runtime: LocalRuntime, since: int) -> str:
    for delivery in runtime.events.deliveries[since:]:
        response = delivery.response
        if not delivery.ok and isinstance(response, dict):
            return f"{response.get('errorType')}: {response.get('errorMessage')}"
        if isinstance(response, dict) and response.get("outcome") == "refused":
            return str(response.get("reason"))
    return "no rule matched the event"


def _instance(runtime: LocalRuntime, saga_id: str) -> dict[str, Any] | None:
    from boto3.dynamodb.types import TypeDeserializer

    table = runtime.deployed.tables["saga-instances"]
    item = runtime.client("dynamodb").get_item(TableName=table, Key={"sagaId": {"S": saga_id}}, ConsistentRead=True)
    found = item.get("Item")
    if found is None:
        return None
    deserialize = TypeDeserializer().deserialize
    return {key: deserialize(value) for key, value in found.items()}


def _ended(item: dict[str, Any] | None) -> bool:
    if item is None:
        return False
    return item.get("status") in _ENDED or (item.get("status") == "TIMED_OUT" and "endedAt" in item)


def wait(runtime: LocalRuntime, saga_name: str, saga_id: str, *, timeout: float = 120.0) -> SagaRun:
    """Poll ``saga_id``'s instance record until the saga has ended (or ``timeout``), then read it
    back. Offline, deliveries run before ``put_events`` returns, so this rarely polls twice."""
    deadline = time.monotonic() + timeout
    while not _ended(_instance(runtime, saga_id)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return describe(runtime, saga_name, saga_id)


def _saga_id_of(delivery: Delivery, saga: Saga) -> str | None:
    """Which saga instance a delivery belonged to: the adapter's answer says, or the event does."""
    response, payload = delivery.response, delivery.payload
    if isinstance(response, dict) and response.get("sagaId"):
        return str(response["sagaId"])
    event = payload.get("event") if isinstance(payload, dict) else None
    detail = (event or {}).get("detail") or {}
    if isinstance(detail.get("saga"), dict):
        return str(detail["saga"].get("id"))
    return _saga_id(saga, detail)


def _state(delivery: Delivery, route: dict[str, Any]) -> StateRecord:
    response = delivery.response if isinstance(delivery.response, dict) else {}
    kind = "compensation" if route.get("kind") == "compensation" else "step"
    record = StateRecord(
        name=str(route.get("command")),
        kind=kind,
        status="succeeded",
        attempts=delivery.attempts,
        duration_ms=delivery.duration_ms,
    )
    outcome = response.get("outcome")
    if not delivery.ok:
        record.status = "failed"
        record.error = str(response.get("errorType") or "Lambda.Unknown")
        record.cause = str(response.get("errorMessage") or "")
        if delivery.dead_lettered:
            record.cause = f"{record.cause} (sent to the dead-letter queue)".strip()
    elif outcome == "failed":
        record.status, record.error, record.cause = "caught", response.get("error"), response.get("reason")
    elif outcome in ("refused", "late"):
        record.status = "skipped"
        record.error = f"{outcome}: {response.get('reason') or response.get('emitted')}"
    elif kind == "compensation":
        record.output = {"compensations": {record.name: response.get("result") or {}}}
        if route.get("undoes"):
            record.output["lateUndoOf"] = route["undoes"]
    else:
        record.output = {"results": {str(response.get("emitted")): True}}
    return record


def describe(runtime: LocalRuntime, saga_name: str, saga_id: str) -> SagaRun:
    """The choreographed run of ``saga_id`` as it stands, read from its instance record and the
    deliveries to its rules' targets."""
    saga = _saga(saga_name)
    item = _instance(runtime, saga_id) or {}
    states: list[StateRecord] = []
    history: list[dict[str, Any]] = []
    for delivery in runtime.events.deliveries:
        payload = delivery.payload if isinstance(delivery.payload, dict) else {}
        route = payload.get("choreography")
        if not isinstance(route, dict) or route.get("saga") != saga_name:
            continue
        if _saga_id_of(delivery, saga) != saga_id:
            continue
        history.append(
            {
                "type": "ChoreographyEventDelivered",
                "detailType": delivery.detail_type,
                "target": route.get("command") or route.get("kind"),
                "timestamp": datetime.fromtimestamp(delivery.started, UTC),
            }
        )
        if route.get("kind") in ("step", "compensation"):
            states.append(_state(delivery, route))
    failed_step = item.get("failedStep")
    if failed_step and not any(s.name == failed_step and s.status in ("caught", "failed") for s in states):
        # No delivery failed it: the deadline sweep did (the step never ran, or never answered).
        at = next((index for index, s in enumerate(states) if s.kind == "compensation"), len(states))
        swept = StateRecord(failed_step, "step", "caught", 0, 0.0, error=item.get("error"), cause=item.get("reason"))
        states.insert(at, swept)
    status = str(item.get("status", "RUNNING"))
    if status in ("FAILED", "TIMED_OUT") and "endedAt" in item:
        states.append(StateRecord("SagaFailed", "fail", "failed", 0, 0.0))
    results = {name: json.loads(value) for name, value in (item.get("results") or {}).items()}
    trigger = json.loads(item["trigger"]) if item.get("trigger") else {}
    return SagaRun(
        saga_name=saga_name,
        saga_id=saga_id,
        execution_arn="",
        status=_EXECUTION_STATUS.get(status, "RUNNING") if _ended(item) else "RUNNING",
        error=item.get("error"),
        cause=item.get("reason"),
        states=states,
        history=history,
        output={"results": results},
        input={
            "saga": {"id": saga_id, "name": saga_name, "version": item.get("version")},
            "input": trigger.get("detail", {}),
        },
        started=_time(item.get("startedAt")),
        stopped=_time(item.get("endedAt")),
    )


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def sweep(runtime: LocalRuntime, saga_name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Run ``saga_name``'s deadline sweep once, as its schedule does (the same input, read from
    the deployed rule), as if at ``now``."""
    template = runtime.assembly.template if runtime.assembly is not None else {"Resources": {}}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::Events::Rule"
            and "ScheduleExpression" in properties
            and resource.get("Metadata", {}).get("sagakit:choreography") == saga_name
        ):
            payload = json.loads(properties["Targets"][0]["Input"])
            if now is not None:
                payload["now"] = now.isoformat()
            return runtime.invoke("lifecycle", payload)
    raise KeyError(f"saga {saga_name} has no deadline sweep (is it choreographed?)")


@dataclass
class Cost:
    """What a run put on EventBridge and invoked, counted in the offline runtime.

    ``custom_events`` are the PutEvents entries EventBridge bills (AWS services' own events on
    the default bus, such as Step Functions' status changes, are free); ``transitions`` are Step
    Functions state transitions (set by the caller from the run); ``invocations`` Lambda requests.
    """

    events: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    """DynamoDB writes (PutItem, UpdateItem, DeleteItem) by table."""
    transitions: int = 0

    @property
    def instance_writes(self) -> int:
        """Writes to the saga-instances table (the saga's state, in either style)."""
        return sum(n for table, n in self.writes.items() if table.endswith("saga-instances"))

    @property
    def custom_events(self) -> int:
        """Billed events: every PutEvents entry not from an AWS service."""
        return sum(n for name, n in self.events.items() if not name.startswith("aws."))

    @property
    def service_events(self) -> int:
        """AWS services' own events (free)."""
        return sum(n for name, n in self.events.items() if name.startswith("aws."))

    @property
    def lambda_invocations(self) -> int:
        """Lambda requests, but for a trigger's producer (``OnboardClient``): it runs before any
        saga, the same in either style."""
        from sagakit.local.runtime import _PRODUCERS

        return sum(n for command, n in self.invocations.items() if command not in _PRODUCERS.values())


@contextmanager
def counting(runtime: LocalRuntime) -> Iterator[Cost]:
    """Count the PutEvents entries (by ``source/detail-type``), the Lambda invocations (by
    command) and the DynamoDB writes (by table) made while the block runs."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.events.models import EventsBackend

    cost = Cost()
    seen = len(runtime.router.invocations)
    saved: dict[tuple[type, str], Any] = {
        (EventsBackend, "put_events"): EventsBackend.put_events,
        **{
            (DynamoDBBackend, name): getattr(DynamoDBBackend, name)
            for name in ("put_item", "update_item", "delete_item")
        },
    }

    def put_events(backend: Any, entries: list[dict[str, Any]]) -> Any:
        for entry in entries:
            cost.events[f"{entry.get('Source')}/{entry.get('DetailType')}"] += 1
        return saved[(EventsBackend, "put_events")](backend, entries)

    def counted(name: str) -> Any:
        write = saved[(DynamoDBBackend, name)]

        def call(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            cost.writes[table_name] += 1
            return write(backend, table_name, *args, **kwargs)

        return call

    EventsBackend.put_events = put_events  # type: ignore[method-assign,assignment]
    for owner, name in saved:
        if owner is DynamoDBBackend:
            setattr(DynamoDBBackend, name, counted(name))
    try:
        yield cost
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)
        cost.invocations.update(invocation.command for invocation in runtime.router.invocations[seen:])
