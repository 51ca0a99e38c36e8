"""The benchmarks run outside ``make test``; what they need from the saga is checked here, so a
change to the definition breaks a test, not the next ``make bench``."""

from __future__ import annotations

import pytest

from bench.cold_start import task_inputs
from sagakit.local import LocalRuntime
from statemachines import saga_named

pytestmark = pytest.mark.e2e


def test_the_cold_start_bench_finds_a_real_input_for_every_command(local: LocalRuntime) -> None:
    # Given the inputs the cold-start benchmark reads from real runs' histories
    inputs = task_inputs(local)
    # Then every step and compensation of the onboarding saga has one, addressed to it
    saga = saga_named("OnboardClientSaga")
    assert set(inputs) == {command.name for command in saga.commands()}
    for command, payload in inputs.items():
        assert payload["step"] == command
        assert payload["sagaName"] == saga.name
