"""EventBridge delivery to Lambda and Step Functions targets, which moto skips.

Seam: moto hands each rule's matching events to ``moto.events.models.Rule.send_to_targets``
and delivers only to SQS, logs, buses, archives and API destinations there. ``EventRouter``
wraps that method: moto still delivers what it knows, and the router invokes Lambda targets
(through moto's Lambda service, so through ``LambdaRouter``) and starts Step Functions targets.

Delivery is synchronous, so ``put_events`` returns once the rule's targets have run: a test or
the CLI sees the saga started. A Lambda target that fails is retried twice, as an asynchronous
invocation is, and then goes to the target's dead-letter queue, as on AWS: nothing is dropped.

Targets of a choreography rule (their input carries a ``choreography`` route) publish the events
that trigger the next targets. Delivered inside one another, a saga would nest every step in the
previous one's call stack; instead they are *queued*: a delivery made while one is running waits
for it to return, and the first one drains the queue in order (first in, first out), so
``put_events`` still returns with the saga at rest. ``hold`` parks matching queued deliveries
instead, and ``release`` runs them later, in the order of ``held`` (tests reorder and duplicate
events that way). Input transformers are applied as EventBridge does (moto's
``EventTemplateParser``).

The router also applies the PutEvents size limit, which moto 5.2.5 does not check (second seam:
``moto.events.models.EventsBackend.put_events``): a request whose entries add up to more than
``PUT_EVENTS_MAX_BYTES`` is refused whole, before any rule sees it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ASYNC_ATTEMPTS",
    "PUT_EVENTS_MAX_BYTES",
    "Delivery",
    "EventRouter",
    "check_put_events_size",
    "put_events_entry_size",
]

#: How often an asynchronous Lambda invocation is tried: the first try and its two retries.
ASYNC_ATTEMPTS = 3

#: The most a PutEvents request's entries may add up to. It was 256 KB until AWS raised it to
#: 1 MB on 2026-01-29 (AWS Compute Blog, "More room to build: serverless services now support
#: payloads up to 1 MB"); a request over it is refused whole with a ValidationException.
PUT_EVENTS_MAX_BYTES = 1024 * 1024
PUT_EVENTS_TOO_LARGE = "Total size of the entries in the request is over the limit."


def put_events_entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it (EventBridge user guide, "Calculating PutEvents
    event entry size"): 14 bytes for ``Time`` if given, then the UTF-8 bytes of ``Source``,
    ``DetailType``, ``Detail`` and each of ``Resources``."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    return size + sum(len(str(resource).encode()) for resource in entry.get("Resources") or [])


def check_put_events_size(entries: list[dict[str, Any]]) -> None:
    """Refuse ``entries`` as PutEvents does when they add up to more than the limit."""
    if sum(put_events_entry_size(entry) for entry in entries) > PUT_EVENTS_MAX_BYTES:
        from moto.events.exceptions import ValidationException

        raise ValidationException(PUT_EVENTS_TOO_LARGE)


@dataclass
class Delivery:
    """One event handed to one Lambda or Step Functions target."""

    rule: str
    target_arn: str
    detail_type: str
    event_id: str
    ok: bool
    response: Any
    dead_lettered: bool = False
    payload: Any = None
    """What the target received, after input transformation (parsed JSON)."""
    attempts: int = 1
    started: float = 0.0
    """``time.time()`` when the first attempt started."""
    duration_ms: float = 0.0


@dataclass
class QueuedDelivery:
    """A delivery to a Lambda target that waits its turn (or is held)."""

    rule: Any
    target: dict[str, Any]
    arn: Any
    payload: str
    event: dict[str, Any]


def choreography_target(target: dict[str, Any]) -> bool:
    """Whether ``target`` is a choreography rule's (its input carries a choreography route)."""
    from sagakit.runtime.choreography import ROUTE_KEY

    template = str((target.get("InputTransformer") or {}).get("InputTemplate", ""))
    return template.startswith(f'{{"{ROUTE_KEY}":')


_draining = threading.local()


@dataclass
class EventRouter:
    """Delivers rule matches to Lambda and Step Functions targets in moto."""

    deliveries: list[Delivery] = field(default_factory=list)
    queued: Callable[[dict[str, Any]], bool] = choreography_target
    """Which Lambda targets are queued rather than delivered inside the current delivery."""
    held: list[QueuedDelivery] = field(default_factory=list)
    _hold: Callable[[QueuedDelivery], bool] | None = None
    _original: Any = None
    _original_put_events: Any = None
    _swap_lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        """Wrap moto's ``Rule.send_to_targets`` and ``EventsBackend.put_events``; idempotent."""
        from moto.events.models import EventsBackend, Rule

        if self._original is not None:
            return
        put_events = self._original_put_events = EventsBackend.put_events

        def checked_put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            check_put_events_size(events)
            return put_events(backend, events)

        EventsBackend.put_events = checked_put_events  # type: ignore[method-assign,assignment]
        self._original = Rule.send_to_targets
        router = self
        original = self._original

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            # moto raises NotImplementedError on target kinds it does not know, so it only sees
            # the others; the swap is locked because concurrent puts share the rule object.
            with router._swap_lock:
                targets = rule.targets
                rule.targets = [t for t in targets if _service(t) not in _ROUTED]
                try:
                    original(rule, event, transform_input)
                finally:
                    rule.targets = targets
            router.deliver(rule, event)

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        """Put moto back."""
        from moto.events.models import EventsBackend, Rule

        if self._original is not None:
            Rule.send_to_targets = self._original  # type: ignore[method-assign,assignment]
            self._original = None
        if self._original_put_events is not None:
            EventsBackend.put_events = self._original_put_events  # type: ignore[method-assign]
            self._original_put_events = None

    def deliver(self, rule: Any, event: dict[str, Any]) -> None:
        """Hand ``event`` to ``rule``'s Lambda and Step Functions targets, if it matches."""
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            return
        if getattr(rule, "scheduled_expression", None):
            return  # a schedule rule has no pattern, which moto's matcher takes for "every event"
        from moto.utilities.arns import parse_arn

        for target in rule.targets:
            arn = parse_arn(target["Arn"])
            payload = _target_input(target, event)
            if arn.service == "lambda" and self.queued(target):
                self._drain([QueuedDelivery(rule, target, arn, payload, event)])
            elif arn.service == "lambda":
                self._to_lambda(rule, target, arn, payload, event)
            elif arn.service == "states":
                self._to_state_machine(rule, target, arn, payload, event)

    def hold(self, matches: Callable[[QueuedDelivery], bool]) -> None:
        """Park queued deliveries that ``matches`` in ``held`` instead of running them."""
        self._hold = matches

    def release(self) -> None:
        """Stop holding, and run the held deliveries in the order of ``held``."""
        jobs, self.held, self._hold = list(self.held), [], None
        self._drain(jobs)

    @contextlib.contextmanager
    def apart(self) -> Iterator[None]:
        """Inside the block, deliveries run to their end before it returns, apart from the
        delivery in progress on this thread, as another producer's events would meanwhile (a
        test puts "elsewhere, at the same time" inside a handler with it)."""
        outer = getattr(_draining, "queue", None)
        _draining.queue = None
        try:
            yield
        finally:
            _draining.queue = outer

    def _drain(self, jobs: list[QueuedDelivery]) -> None:
        """Queue ``jobs``; unless a delivery is already running on this thread, run the queue."""
        if self._hold is not None:
            kept: list[QueuedDelivery] = []
            for job in jobs:
                (self.held if self._hold(job) else kept).append(job)
            jobs = kept
        queue: deque[QueuedDelivery] | None = getattr(_draining, "queue", None)
        if queue is not None:
            queue.extend(jobs)
            return
        _draining.queue = queue = deque(jobs)
        try:
            while queue:
                job = queue.popleft()
                self._to_lambda(job.rule, job.target, job.arn, job.payload, job.event)
        finally:
            _draining.queue = None

    def _to_lambda(self, rule: Any, target: dict[str, Any], arn: Any, payload: str, event: dict[str, Any]) -> None:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[arn.account][arn.region]
        function = backend.get_function(target["Arn"])
        body: Any = None
        ok = False
        started, clock = time.time(), time.monotonic()
        attempts = 0
        while not ok and attempts < ASYNC_ATTEMPTS:
            attempts += 1
            headers: dict[str, str] = {}
            body = function.invoke(payload, {"x-amz-invocation-type": "RequestResponse"}, headers)
            ok = "x-amz-function-error" not in headers
        response = _json_or_text(body)
        delivery = Delivery(
            rule.name,
            target["Arn"],
            event["detail-type"],
            event["id"],
            ok,
            response,
            payload=_json_or_text(payload),
            attempts=attempts,
            started=started,
            duration_ms=(time.monotonic() - clock) * 1000,
        )
        if not ok:
            delivery.dead_lettered = self._dead_letter(target, event, response)
        self.deliveries.append(delivery)

    def _to_state_machine(
        self, rule: Any, target: dict[str, Any], arn: Any, payload: str, event: dict[str, Any]
    ) -> None:
        from moto.stepfunctions.responses import get_backend

        execution = get_backend(arn.account, arn.region).start_execution(
            target["Arn"], name=str(uuid.uuid4()), execution_input=payload
        )
        self.deliveries.append(
            Delivery(rule.name, target["Arn"], event["detail-type"], event["id"], True, execution.execution_arn)
        )

    @staticmethod
    def _dead_letter(target: dict[str, Any], event: dict[str, Any], response: Any) -> bool:
        queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not queue_arn:
            return False
        from moto.sqs.models import sqs_backends
        from moto.utilities.arns import parse_arn

        arn = parse_arn(queue_arn)
        queue = sqs_backends[arn.account][arn.region].get_queue(arn.resource_id)
        body = json.dumps({"reason": "target invocation failed after retries", "error": response, "event": event})
        sqs_backends[arn.account][arn.region].send_message(queue.name, body)
        return True


_ROUTED = ("lambda", "states")


def _service(target: dict[str, Any]) -> str:
    return str(target["Arn"]).split(":")[2]


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        transformed = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap") or {},
            event=event,  # type: ignore[arg-type]
        )
        return json.dumps(transformed)
    if "InputPath" in target:
        raise NotImplementedError("InputPath targets are not delivered offline")
    return json.dumps(event)


def _json_or_text(body: Any) -> Any:
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text
