"""A compensation that keeps failing: the saga parks at that compensation (COMPENSATION_FAILED),
says so, lists what is left, and resumes from exactly there once the cause is fixed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from sagakit.cli import app
from sagakit.local import FaultKind, LocalRuntime
from sagakit.local.redrive import RedriveError, failed_state, redrive_in_place, redrive_offline
from sagakit.matrix import observe
from sagakit.runtime.lifecycle import classify_failure
from statemachines.onboard_client import OnboardClientSaga
from tests.reliability.conftest import onboarding

pytestmark = pytest.mark.e2e

SERVICES = ("clients", "ai-workspace", "billing", "notifications")
COMPENSATIONS = {c.name for element in OnboardClientSaga.steps for c in element.compensations()}


def items_of(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {
        service: sum(1 for item in local.table_items(service) if item.get("clientId") == client_id)
        for service in SERVICES
    }


def parked(local: LocalRuntime, compensation: str = "DeleteWorkspace") -> tuple[Any, str]:
    """A declined card, and ``compensation`` failing once more than its 5 retries."""
    event = onboarding(paymentMethod="pm_card_declined")
    local.fail(compensation, FaultKind.TRANSIENT, times=6)
    run = local.run(event)
    local.router.clear_faults()  # the cause is fixed
    return run, event["detail"]["clientId"]


def test_a_compensation_that_keeps_failing_parks_the_saga_visibly_with_its_leftovers(local: LocalRuntime) -> None:
    run, client = parked(local)

    # The saga is parked in the compensation: the execution failed there, with its error and cause
    assert run.outcome == "COMPENSATION_FAILED"
    assert (run.status, run.error) == ("FAILED", "TransientError")
    assert "DeleteWorkspace" in json.loads(run.cause)["errorMessage"]
    observed = observe(OnboardClientSaga, run.status, run.history, {})
    assert observed.failed_compensation == "DeleteWorkspace"
    assert observed.failed_step == "SetupBilling"
    assert observed.error == "BillingDeclined"
    assert next(s for s in run.states if s.name == "DeleteWorkspace").attempts == 6
    # The lifecycle function, which feeds the SagaCompensationFailed metric and its alarm,
    # classifies it from the same history
    assert classify_failure(run.history, COMPENSATIONS) == ("COMPENSATION_FAILED", "DeleteWorkspace")
    # What is left is exactly what the compensations that never ran would have removed
    assert items_of(local, client) == {"clients": 1, "ai-workspace": 1, "billing": 0, "notifications": 0}
    # Offline too, Step Functions' status change reached the lifecycle function, which recorded
    # the saga as COMPENSATION_FAILED at DeleteWorkspace (and counted SagaCompensationFailed,
    # the metric of the saga's CompensationFailed alarm)
    [instance] = [i for i in local.table_items("saga-instances") if i["sagaId"] == f"onboard-{client}"]
    assert (instance["status"], instance["failedStep"]) == ("COMPENSATION_FAILED", "DeleteWorkspace")


def test_redrive_resumes_from_the_failed_compensation_and_finishes_compensating(local: LocalRuntime) -> None:
    run, client = parked(local)
    sfn = local.client("stepfunctions")
    state = failed_state(run.history)
    assert state is not None
    assert state.name == "DeleteWorkspace"

    # When it is redriven once the cause is fixed
    resumed = redrive_offline(sfn, run.execution_arn)

    # Then it resumes at that compensation, with the input it had (nothing dropped), and the saga
    # ends as it would have: FAILED, every step compensated, every table clean for the client
    assert resumed.resumed_from == "DeleteWorkspace"
    assert resumed.execution_arn.endswith(f":onboard-{client}-redrive-1")
    done = local.wait(resumed.execution_arn)
    assert done.outcome == "FAILED"
    assert done.error == "BillingDeclined"  # the saga's failure, carried in the resumed input
    assert [s.name for s in done.states] == ["DeleteWorkspace", "DeleteTenant", "SagaFailed"]
    entered = next(e for e in done.history if e["type"] == "TaskStateEntered")
    assert json.loads(entered["stateEnteredEventDetails"]["input"]) == json.loads(state.input)
    assert items_of(local, client) == dict.fromkeys(SERVICES, 0)
    # and the saga's one instance record follows the resumed run: no longer COMPENSATION_FAILED
    [instance] = [i for i in local.table_items("saga-instances") if i["sagaId"] == f"onboard-{client}"]
    assert instance["status"] == "FAILED"
    assert instance["executionArn"] == resumed.execution_arn
    assert set(instance["stepsCompensated"]) == {"DeleteWorkspace", "DeleteTenant"}
    assert not [i for i in local.table_items("saga-instances") if "redrive" in i["sagaId"]]


def test_a_redrive_that_fails_again_can_be_redriven_again(local: LocalRuntime) -> None:
    run, client = parked(local, "DeleteTenant")
    sfn = local.client("stepfunctions")
    local.fail("DeleteTenant", FaultKind.TRANSIENT, times=6)  # not fixed yet
    first = local.wait(redrive_offline(sfn, run.execution_arn).execution_arn)
    assert first.outcome == "COMPENSATION_FAILED"
    local.router.clear_faults()
    second = redrive_offline(sfn, run.execution_arn)
    assert second.execution_arn.endswith(f":onboard-{client}-redrive-2")
    assert local.wait(second.execution_arn).outcome == "FAILED"
    assert items_of(local, client) == dict.fromkeys(SERVICES, 0)


def test_only_a_run_stopped_in_a_failed_state_can_be_redriven(local: LocalRuntime) -> None:
    sfn = local.client("stepfunctions")
    completed = local.run(onboarding())
    with pytest.raises(RedriveError, match="is SUCCEEDED"):
        redrive_offline(sfn, completed.execution_arn)
    compensated = local.run(onboarding(paymentMethod="pm_card_declined"))
    with pytest.raises(RedriveError, match="ended in its Fail state SagaFailed"):
        redrive_offline(sfn, compensated.execution_arn)


def test_on_aws_redrive_is_step_functions_own_redrive_execution() -> None:
    import boto3

    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    arn = "arn:aws:states:eu-west-1:123456789012:execution:sagakit-prod-OnboardClientSaga:onboard-acme-001"
    history = [
        {"id": 1, "type": "TaskStateEntered", "timestamp": 0, "stateEnteredEventDetails": {"name": "DeleteWorkspace"}},
        {"id": 2, "type": "ExecutionFailed", "timestamp": 0, "executionFailedEventDetails": {"error": "X"}},
    ]
    with Stubber(sfn) as stub:
        stub.add_response("get_execution_history", {"events": history}, {"executionArn": arn})
        stub.add_response("redrive_execution", {"redriveDate": 0}, {"executionArn": arn})
        resumed = redrive_in_place(sfn, arn)
        stub.assert_no_pending_responses()
    assert (resumed.execution_arn, resumed.resumed_from) == (arn, "DeleteWorkspace")


@pytest.fixture(scope="module")
def endpoint(local: LocalRuntime) -> Iterator[str]:
    """The local runtime served over HTTP, as `saga local serve` does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield local.serve(port)


def test_saga_redrive_on_the_local_endpoint_resumes_and_shows_the_run(local: LocalRuntime, endpoint: str) -> None:
    run, client = parked(local)
    result = CliRunner().invoke(app, ["redrive", run.execution_arn, "--endpoint-url", endpoint])
    assert result.exit_code == 0, result.output
    assert "resumed from DeleteWorkspace: " in result.output
    assert f"onboard-{client}-redrive-1" in result.output
    assert "FAILED" in result.output
    assert items_of(local, client) == dict.fromkeys(SERVICES, 0)


def test_saga_redrive_says_why_it_cannot(local: LocalRuntime, endpoint: str) -> None:
    completed = local.run(onboarding())
    result = CliRunner().invoke(app, ["redrive", completed.execution_arn, "--endpoint-url", endpoint])
    assert result.exit_code == 2
    # (rich wraps the message at the console's width: compare it with the breaks folded)
    assert "is SUCCEEDED: only a failed, timed-out or aborted run resumes" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["redrive", "not-an-arn", "--local"])
    assert result.exit_code == 2
    assert "is not an execution ARN" in result.output
