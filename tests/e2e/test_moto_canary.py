"""Canary on the private moto seams the offline runtime patches. moto is pinned; when an upgrade
moves one of these, this test names it before anything else breaks obscurely."""

from __future__ import annotations

import inspect
from importlib.metadata import version


def test_moto_is_the_pinned_version() -> None:
    assert version("moto") == "5.2.5"


def test_lambda_invoke_seam_is_still_there() -> None:
    from moto.awslambda.models import LambdaFunction

    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"]


def test_eventbridge_delivery_seam_is_still_there() -> None:
    from moto.events.models import Rule

    assert list(inspect.signature(Rule.send_to_targets).parameters)[:2] == ["self", "original_event"]


def test_step_functions_completion_and_retry_seams_are_still_there() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.utils import TMP_THREADS

    assert callable(BaseExecutionWorkerCommunication.terminated)
    assert hasattr(retrier_decl, "time")
    assert isinstance(TMP_THREADS, list)
