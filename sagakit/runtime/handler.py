"""``saga_handler``: the one place that turns a logic function into a Lambda handler.

Every step and compensation handler is::

    @saga_handler(service="billing", command=SetupBillingCommand)
    def handler(command: SetupBillingCommand) -> BillingProfileCreated:
        return logic.setup_billing(command)

The wrapper applies, in the cookbook's order, the Powertools logger context (the saga id is the
correlation id), metrics (EMF) and tracer, parses the event with Powertools Parser into the
command model, and returns the result model as JSON. A bad input raises ``InvalidCommand`` whose
message names every wrong field.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from sagakit.runtime.errors import BusinessError, InvalidCommand, describe_validation_error

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["saga_handler"]

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

        @functools.wraps(logic)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            if not built:
                built.append(_build(service, command, logic))
            return built[0](event, context)

        return handler

    return decorate


def _build(service: str, command: type[C], logic: Callable[[C], BaseModel]) -> LambdaHandler:
    # Imported on first use, not at module import: it keeps the handler module light to import
    # and lets the environment (set by Lambda or by the offline runtime) decide the service name.
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.parser import parse

    logger = Logger(service=service)
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Sagas"), service=service)
    tracer = Tracer(service=service)
    step_name = logic.__name__

    @logger.inject_lambda_context(correlation_id_path="sagaId", clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
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
        try:
            result = logic(parsed)
        except BusinessError as error:
            metrics.add_metric(name="StepRefused", unit=MetricUnit.Count, value=1)
            logger.info("step refused", extra={"error": type(error).__name__, "reason": str(error)})
            raise
        metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1)
        logger.info("step done", extra={"result": type(result).__name__})
        return result.model_dump(mode="json", by_alias=True)

    return run
