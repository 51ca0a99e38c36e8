"""Lambda entry point of ``OnboardClient``: the producer of ``ClientOnboarded``.

Not a saga step, so not a ``saga_handler``: its input is the ``ClientOnboarded`` detail itself
(from the sign-up API), and it is what starts the saga. The decorators follow the same order.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from events.clients import ClientOnboarded
from functions.clients import SERVICE, logic
from sagakit.runtime import InvalidCommand
from sagakit.runtime.coldstart import ends_cold_start
from sagakit.runtime.errors import describe_validation_error
from sagakit.runtime.handler import TRACED_MODULES

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["handler"]

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Sagas"), service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


@ends_cold_start
@logger.inject_lambda_context(correlation_id_path="clientId", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Store the new client and publish ``ClientOnboarded``; return its client and event ids.

    Raises
    ------
    InvalidCommand
        The event is not a valid ``ClientOnboarded`` detail; the message names each bad field.
    """
    try:
        onboarded = parse(event=event, model=ClientOnboarded)
    except ValidationError as error:
        raise InvalidCommand(f"OnboardClient: {describe_validation_error(error)}") from None
    result = logic.onboard_client(onboarded)
    metrics.add_metric(name="ClientOnboarded", unit=MetricUnit.Count, value=1)
    return result.model_dump(mode="json", by_alias=True)
