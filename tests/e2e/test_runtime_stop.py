"""Stopping the local runtime ends what it started: moto's backends and request hook are
process-wide, so an execution left running would go on invoking functions of the same name in
the next runtime (the next test module's)."""

from __future__ import annotations

import threading
import time

import pytest

from sagakit.local import FaultKind, LocalRuntime
from sagakit.local.deploy import Assembly
from tests.e2e.conftest import onboarding

pytestmark = pytest.mark.e2e


def test_stopping_the_runtime_ends_the_executions_still_running(assembly: Assembly) -> None:
    before = set(threading.enumerate())
    # Given a saga whose last step keeps failing transiently, with real (not fast) retry waits
    with LocalRuntime(assembly=assembly, fast=False) as runtime:
        runtime.fail("SendWelcomeEmail", FaultKind.TRANSIENT, times=10)
        runtime.put_event(onboarding())
        deadline = time.monotonic() + 20
        retrying = False
        while not retrying and time.monotonic() < deadline:
            retrying = any(record.command == "SendWelcomeEmail" for record in runtime.router.invocations)
            time.sleep(0.05)
        assert retrying, "the saga never reached SendWelcomeEmail"
        stopping = time.monotonic()
    # When the runtime stops while the execution waits to retry
    took = time.monotonic() - stopping
    # Then no thread it started is left running, and stopping did not wait out the retries
    leftover = [thread.name for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    assert leftover == []
    assert took < 6
