"""``saga_handler``: the one place that turns a logic function into a Lambda handler.

Every step and compensation handler is::

    @saga_handler(service="billing", command=SetupBillingCommand)
    def handler(command: SetupBillingCommand) -> BillingProfileCreated:
        return logic.setup_billing(command)

The wrapper applies, in the cookbook's order, the Powertools logger context (the saga id is the
correlation id), metrics (EMF) and tracer, parses the event with Powertools Parser into the
command model, and returns the result model as JSON. A bad input raises ``InvalidCommand`` whose
message names every wrong field.

Idempotency is on by default, here and nowhere else. When ``IDEMPOTENCY_TABLE_NAME`` is set (the
stack sets it on every step and compensation function), the logic runs under Powertools
idempotency keyed by ``[sagaId, step, kind]``, not by the raw payload, whose ``results`` and
``error`` may differ between a retry and a redrive of the same step. ``kind`` keeps apart a
compensation and the same command run again as a late undo (choreography: the step it undoes
succeeded after its saga ended, so the compensation's stored answer predates the write). A
replay (a retry after a lost reply, a duplicate delivery) gets the stored answer and the logic
does not run again; the same key with a different ``detail`` raises
``IdempotencyValidationError``, which reaches Step Functions under that name. When the
variable is unset (unit and integration tests that call a handler directly, with no idempotency
table), the layer is skipped on purpose: the services' data-access layers are idempotent on
their own (``SagaRecords.claim`` and ``release`` are conditional writes), so
what those tests lose is only the stored-answer replay and the payload check, which
``tests/reliability`` covers with a table.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from sagakit.runtime.aws import aws_client
from sagakit.runtime.coldstart import before_snapshot, ends_cold_start, resume_collection
from sagakit.runtime.command import is_choreographed
from sagakit.runtime.errors import BusinessError, InvalidCommand, TransientError, describe_validation_error
from sagakit.runtime.lifecycle import publish_step_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotentHookFunction
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
    "IDEMPOTENCY_KEY",
    "IDEMPOTENCY_TABLE_ENV",
    "IDEMPOTENCY_VALIDATION",
    "TRACED_MODULES",
    "saga_handler",
]

#: Names the Powertools idempotency table (partition key ``id``, TTL attribute ``expiration``).
IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE_NAME"
#: One record per saga instance, step and kind: what a Step Functions retry and a redrive share.
IDEMPOTENCY_KEY = "[sagaId, step, kind]"
#: What must not change under one key: the trigger's detail.
IDEMPOTENCY_VALIDATION = "detail"
#: A stored answer outlives the saga deadline (1 h by default) and the retries within it; a
#: later replay still meets the data-access layer's conditional writes.
IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 24 * 3600
#: What Powertools Tracer patches for X-Ray: AWS calls, and any other outgoing HTTP. Without a
#: list it runs the X-Ray SDK's ``patch_all``, which also imports and patches ``sqlite3`` and
#: probes for database drivers that neither the asset nor the Powertools layer ships: about
#: 4 ms of every cold start for no subsegment (``python -m bench.cold_start``).
TRACED_MODULES = ("botocore", "httplib")

C = TypeVar("C", bound=BaseModel)
LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def saga_handler(*, service: str, command: type[C]) -> Callable[[Callable[[C], BaseModel]], LambdaHandler]:
    """Wrap ``logic(command) -> event`` as a Lambda handler for ``service``.

    Parameters
    ----------
    service:
        The owning service (``billing``); it names the logger, tracer and metrics.
    command:
        The pydantic model of the handler's input, usually ``SagaCommand[SomeDetail]``.
    """

    def decorate(logic: Callable[[C], BaseModel]) -> LambdaHandler:
        built: list[LambdaHandler] = []

        def warm() -> None:
            """What a first invocation sets up, done before a SnapStart snapshot instead: the
            Powertools utilities and the parser, and the step's clients (no connection). The
            idempotency layer itself is made on the first call, for the table it is given."""
            if not built:
                built.append(_build(service, command, logic))
            aws_client("dynamodb")
            if os.environ.get("SAGA_EVENT_BUS_NAME"):
                aws_client("events")
            resume_collection()

        before_snapshot(warm)

        # After the first invocation (the clients, the Powertools utilities and the models'
        # validators made), the cold start is over.
        @ends_cold_start
        @functools.wraps(logic)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            if not built:
                built.append(_build(service, command, logic))
            if is_choreographed(event):  # a choreography rule's input, not a state machine's
                # Imported here: an orchestrated step never needs the choreography adapter.
                from sagakit.runtime import choreography

                return choreography.handle(event, context, built[0])
            return built[0](event, context)

        return handler

    return decorate


def _build(service: str, command: type[C], logic: Callable[[C], BaseModel]) -> LambdaHandler:
    # Imported on first use, not at module import: it keeps the handler module light to import
    # and lets the environment (set by Lambda or by the offline runtime) decide the service name.
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.parser import parse

    logger = Logger(service=service)
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Sagas"), service=service)
    traced = _tracing(service)
    step_name = logic.__name__

    def execute(*, event: dict[str, Any], command: C) -> dict[str, Any]:
        """Run the logic once. ``event`` is what idempotency hashes, ``command`` its parsed form."""
        try:
            result = logic(command)
        except BusinessError as error:
            metrics.add_metric(name="StepRefused", unit=MetricUnit.Count, value=1)
            logger.info("step refused", extra={"error": type(error).__name__, "reason": str(error)})
            raise
        # After the write and before the reply: if publishing fails, the step fails as a whole,
        # is retried, replays its (idempotent) write and publishes again: no lost event.
        publish_step_event(command)
        metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1)
        logger.info("step done", extra={"result": type(result).__name__})
        return result.model_dump(mode="json", by_alias=True)

    def replayed(response: Any, idempotent_data: DataRecord) -> Any:
        metrics.add_metric(name="StepReplayed", unit=MetricUnit.Count, value=1)
        logger.info("idempotent replay: the stored answer; the logic did not run again")
        return response

    guarded = _Idempotency(execute, on_replay=replayed)

    @logger.inject_lambda_context(correlation_id_path="sagaId", clear_state=True)
    @metrics.log_metrics
    @traced
    def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            parsed = parse(event=event, model=command)
        except ValidationError as error:
            label = event.get("step") if isinstance(event, dict) and isinstance(event.get("step"), str) else None
            reason = f"{label or command.__name__}: {describe_validation_error(error)}"
            logger.warning("rejected invalid command", extra={"reason": reason})
            metrics.add_metric(name="CommandRejected", unit=MetricUnit.Count, value=1)
            raise InvalidCommand(reason) from None
        step = getattr(parsed, "step", step_name)
        metrics.add_dimension(name="step", value=str(step))
        # Only a valid command reaches the idempotency layer: a bad input is refused the same way
        # every time, and never takes a record.
        return guarded(event=event, command=parsed, context=context)

    return run


def _tracing(service: str) -> Callable[[LambdaHandler], LambdaHandler]:
    """Powertools Tracer's ``capture_lambda_handler``, or, when tracing is switched off
    (``POWERTOOLS_TRACE_DISABLED``, as offline), nothing at all: Tracer imports the X-Ray SDK even
    when disabled, which costs a cold start about 15 ms of CPU for no trace."""
    from aws_lambda_powertools.shared import constants
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

    if resolve_truthy_env_var_choice(env=os.environ.get(constants.TRACER_DISABLED_ENV, "false")):
        return lambda handler: handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service, patch_modules=TRACED_MODULES)
    capture: Callable[[LambdaHandler], LambdaHandler] = tracer.capture_lambda_handler
    return capture


class _Idempotency:
    """``execute`` under Powertools idempotency, with one persistence layer per table.

    The table name is read at each call, not at cold start: the offline runtime and the tests
    host several deployments (and none) in one process.
    """

    def __init__(self, execute: Callable[..., dict[str, Any]], *, on_replay: IdempotentHookFunction) -> None:
        self._execute = execute
        self._on_replay = on_replay
        self._guarded: dict[tuple[str, str | None], tuple[Callable[..., dict[str, Any]], Any]] = {}

    def __call__(self, *, event: dict[str, Any], command: BaseModel, context: LambdaContext) -> dict[str, Any]:
        table = os.environ.get(IDEMPOTENCY_TABLE_ENV)
        if not table:
            return self._execute(event=event, command=command)
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        guarded, config = self._for(table)
        # Without the context, a retry after a Lambda timeout would find the record INPROGRESS
        # until it expires; with it, the in-progress record expires with the invocation.
        config.register_lambda_context(context)
        try:
            response: dict[str, Any] = guarded(event=event, command=command)
        except IdempotencyAlreadyInProgressError as error:
            # A retry overtook a slower attempt of the same saga step: worth retrying, so it is
            # raised under the name the step's Retry matches.
            raise TransientError(f"the same saga step is already in progress: {error}") from error
        except IdempotencyPersistenceLayerError as error:
            raise TransientError(f"idempotency table {table}: {error}") from error
        return response

    def _for(self, table: str) -> tuple[Callable[..., dict[str, Any]], Any]:
        key = (table, os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"))
        found = self._guarded.get(key)
        if found is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            config = IdempotencyConfig(
                event_key_jmespath=IDEMPOTENCY_KEY,
                payload_validation_jmespath=IDEMPOTENCY_VALIDATION,
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
                response_hook=self._on_replay,
            )
            guarded = idempotent_function(
                self._execute,
                data_keyword_argument="event",
                # The step's own DynamoDB client: without it, Powertools makes a boto3 session
                # of its own and loads the DynamoDB model and endpoint rules a second time.
                persistence_store=DynamoDBPersistenceLayer(table_name=table, boto3_client=aws_client("dynamodb")),
                config=config,
            )
            found = (guarded, config)
            self._guarded[key] = found
        return found
