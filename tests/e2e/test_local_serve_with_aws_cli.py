"""`saga local serve` as a user runs it, driven by the real AWS CLI from another process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagakit.local.deploy import Assembly

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:sagakit-dev-OnboardClientSaga"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(assembly: Assembly) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "saga"), "local", "serve", "--port", str(port), "--assembly", str(assembly.directory), "--fast"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        lines.append(line)
        if line.startswith("ready") or time.monotonic() > deadline:
            break
    assert lines and lines[-1].startswith("ready"), "".join(lines)
    yield f"http://127.0.0.1:{port}"
    process.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
    try:
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:  # never leave a server behind, even when the assertion fails
            process.kill()


def aws(endpoint: str, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    done = subprocess.run(
        [str(BIN / "aws"), "--endpoint-url", endpoint, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "{}")  # type: ignore[no-any-return]


def final_status(endpoint: str, execution: str) -> str:
    """Poll `aws stepfunctions describe-execution` until the execution leaves RUNNING."""
    status = ""
    for _ in range(100):
        status = aws(endpoint, "stepfunctions", "describe-execution", "--execution-arn", execution)["status"]
        if status != "RUNNING":
            break
        time.sleep(0.2)
    return status


def test_put_events_from_the_aws_cli_runs_a_saga_to_success(endpoint: str) -> None:
    # Given `saga local serve` running, when the AWS CLI puts a ClientOnboarded on the bus
    entries = ROOT / "events" / "aws-cli" / "client_onboarded.entries.json"
    put = aws(endpoint, "events", "put-events", "--entries", f"file://{entries}")
    assert put["FailedEntryCount"] == 0
    # Then the AWS CLI sees the execution, named by the saga id, reach SUCCEEDED
    client = json.loads(json.loads(entries.read_text())[0]["Detail"])["clientId"]
    execution = f"{MACHINE.replace(':stateMachine:', ':execution:')}:onboard-{client}"
    assert final_status(endpoint, execution) == "SUCCEEDED"
    listed = aws(endpoint, "stepfunctions", "list-executions", "--state-machine-arn", MACHINE)
    assert [e["name"] for e in listed["executions"]] == [f"onboard-{client}"]


def test_saga_put_event_from_flags_starts_a_saga_on_the_local_endpoint(endpoint: str) -> None:
    # Given `saga local serve`, when a user puts a ClientOnboarded built from flags
    done = subprocess.run(
        [
            str(BIN / "saga"),
            "put-event",
            "--client-id",
            "hooli-004",
            "--company-name",
            "Hooli",
            "--endpoint-url",
            endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "put ClientOnboarded on sagakit-dev-bus" in done.stdout
    # Then the saga named by that client runs to success
    execution = f"{MACHINE.replace(':stateMachine:', ':execution:')}:onboard-hooli-004"
    assert final_status(endpoint, execution) == "SUCCEEDED"


def test_saga_put_event_rejects_a_bad_field_before_sending(endpoint: str) -> None:
    done = subprocess.run(
        [str(BIN / "saga"), "put-event", "--client-id", "bad id!", "--endpoint-url", endpoint],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "clientId" in done.stderr
