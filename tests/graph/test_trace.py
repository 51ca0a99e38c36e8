"""`saga trace` reads a run back from Step Functions (here: `saga local serve` in another
process) and shows which states ran, how long each took, where it failed, what was compensated,
and a timeline whose bars are as long as the states took."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from rich.console import Console
from typer.testing import CliRunner

from sagakit.cli import app
from sagakit.local.runtime import SagaRun, StateRecord
from sagakit.trace import render_timeline
from tests.e2e.test_local_serve_with_aws_cli import MACHINE, endpoint  # noqa: F401  (`saga local serve`)

runner = CliRunner()
EXECUTION = MACHINE.replace(":stateMachine:", ":execution:")


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for the served stack, as another process would make it."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def trace(*args: str) -> Any:
    """Run `saga trace` with a wide terminal, as a user would."""
    return runner.invoke(app, ["trace", *args], env={"COLUMNS": "160"})


@pytest.fixture(scope="module")
def runs(endpoint: str) -> Iterator[dict[str, str]]:  # noqa: F811
    """Two finished onboarding runs on the served stack: one completed, one declined by billing."""
    events, stepfunctions = local_client("events", endpoint), local_client("stepfunctions", endpoint)
    clients = {"completed": ("trace-ok-001", "pm_card_visa"), "declined": ("trace-declined-002", "pm_card_declined")}
    for client_id, payment in clients.values():
        detail = {
            "clientId": client_id,
            "companyName": "Trace Ltd",
            "contactEmail": "ops@trace.example",
            "plan": "starter",
            "paymentMethod": payment,
            "onboardedAt": "2026-11-29T08:00:00+00:00",
        }
        entry = {"Source": "clients", "DetailType": "ClientOnboarded", "Detail": json.dumps(detail)}
        assert events.put_events(Entries=[{**entry, "EventBusName": "sagakit-dev-bus"}])["FailedEntryCount"] == 0
    arns = {name: f"{EXECUTION}:onboard-{client_id}" for name, (client_id, _) in clients.items()}
    deadline = time.monotonic() + 30
    for arn in arns.values():
        while time.monotonic() < deadline:
            try:
                if stepfunctions.describe_execution(executionArn=arn)["status"] != "RUNNING":
                    break
            except stepfunctions.exceptions.ExecutionDoesNotExist:
                pass  # the rule has not started it yet
            time.sleep(0.1)
    yield arns


@pytest.mark.e2e
def test_trace_shows_a_completed_run_state_by_state(endpoint: str, runs: dict[str, str]) -> None:  # noqa: F811
    # When a user traces the completed run on the local endpoint
    done = trace(runs["completed"], "--endpoint-url", endpoint)

    # Then every step is there, in order, with the outcome and a timeline bar each
    assert done.exit_code == 0, done.output
    out = done.output
    assert out.index("CreateWorkspace") < out.index("SetupBilling") < out.index("SendWelcomeEmail")
    assert "outcome COMPLETED" in out
    assert "status SUCCEEDED" in out
    timeline = out[out.index("timeline · onboard-trace-ok-001") :]
    for state in ("CreateWorkspace", "SetupBilling", "SendWelcomeEmail"):
        assert any(line.count("█") and state in line for line in timeline.splitlines()), state


@pytest.mark.e2e
def test_trace_shows_where_a_run_failed_and_what_was_compensated(endpoint: str, runs: dict[str, str]) -> None:  # noqa: F811
    done = trace(runs["declined"], "--endpoint-url", endpoint)

    assert done.exit_code == 0, done.output
    out = done.output
    assert "BillingDeclined -> compensate" in out
    assert "outcome FAILED" in out
    assert "failed at SetupBilling: BillingDeclined" in out
    assert "compensated: DeleteWorkspace -> DeleteTenant" in out
    assert "SendWelcomeEmail" not in out
    assert "SagaFailed" in out[out.index("timeline") :]


@pytest.mark.e2e
def test_trace_of_an_unknown_execution_is_refused(endpoint: str) -> None:  # noqa: F811
    done = trace(f"{EXECUTION}:onboard-nobody", "--endpoint-url", endpoint)

    assert done.exit_code == 2
    assert "no execution" in done.output
    assert "onboard-nobody" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-arn", "--local"], "is not an execution ARN"),
        ([f"{EXECUTION}:x", "--local", "--endpoint-url", "http://127.0.0.1:1"], "at most one of --local"),
    ],
)
def test_trace_refuses_bad_arguments(args: list[str], message: str) -> None:
    done = trace(*args)

    assert done.exit_code == 2
    assert message in " ".join(done.output.split())


def test_timeline_bars_are_placed_and_sized_by_time() -> None:
    # Given a run of two states: 100 ms from the start for 100 ms, then 300 ms
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)

    def at(ms: int) -> datetime:
        return start + timedelta(milliseconds=ms)

    history = [
        {"type": "ExecutionStarted", "timestamp": at(0)},
        {"type": "TaskStateEntered", "timestamp": at(100)},
        {"type": "TaskStateEntered", "timestamp": at(200)},
    ]
    states = [
        StateRecord(name="First", kind="step", status="succeeded", attempts=1, duration_ms=100),
        StateRecord(name="Second", kind="compensation", status="succeeded", attempts=1, duration_ms=300),
    ]
    run = SagaRun("S", "s-1", "arn", "SUCCEEDED", None, None, states, history, None)

    # When it is drawn 50 characters wide (500 ms in all: 10 ms a character)
    console = Console(width=120, record=True)
    console.print(render_timeline(run, width=50))
    lines = {line.split()[1]: line for line in console.export_text().splitlines() if "█" in line and "│ " in line}

    # Then each bar starts when its state was entered and is as long as it took
    first, second = lines["First"], lines["Second"]
    assert first.count("█") == 10 and second.count("█") == 30
    assert second.index("█") - first.index("█") == 10
