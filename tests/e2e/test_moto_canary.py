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


def test_fast_clock_makes_a_wait_state_take_milliseconds() -> None:
    # Given a state machine that waits 30 s, run by moto's interpreter under FastClock
    import json
    import time

    import boto3
    from moto import mock_aws

    from sagakit.local.clock import FastClock

    definition = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 30, "End": True}}}
    clock = FastClock(factor=0.001)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clock.install()
        try:
            sfn = boto3.client("stepfunctions", region_name="eu-west-1")
            arn = sfn.create_state_machine(
                name="pause", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
            )["stateMachineArn"]
            started = time.monotonic()
            execution = sfn.start_execution(stateMachineArn=arn, name="once")["executionArn"]
            while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
                assert time.monotonic() - started < 10, "the Wait state was not sped up"
                time.sleep(0.01)
        finally:
            clock.uninstall()
    # Then it finished in well under the 30 s it asked for, and the clock counted the 30 s
    assert status == "SUCCEEDED"
    assert clock.slept == 30
