"""The reliability issue's failure-injection matrix, run in both styles: every step and every
compensation of the onboarding saga, in every failure mode (``sagakit.matrix.scenarios``, from
the compiled machine), once orchestrated and once choreographed. Both must leave the same
resources and run the same compensations, in the same order.

The same *failure* is injected into each style; what the platform does about it differs in two
places, which are asserted here as such (and written down in the README):

* **Retries.** Step Functions retries as the step's ``Retry`` says; in choreography, Lambda's
  asynchronous invocation tries an event three times (the first try and two retries), then
  parks it in the dead-letter queue. So "transient, then success" is at most two failures in
  choreography, and "keeps failing" and "timeout" fail every attempt there. A timeout is not
  retried by the state machine, but is by Lambda; the choreographed scenario keeps timing out.
* **Who gives up.** A state machine compensates a step that gives up at once (``FAILED``). In
  choreography the event waits in the dead-letter queue and the deadline sweep compensates the
  saga once it is past its deadline: the same compensations, but the saga ends ``TIMED_OUT``.
  A business error is reported at once in both styles and ends ``FAILED`` in both.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sagakit.local import FaultKind, LocalRuntime, SagaRun
from sagakit.local.choreography import describe, sweep
from sagakit.local.event_router import ASYNC_ATTEMPTS
from sagakit.matrix import Injection, Scenario, deployed_definition, retries_for, scenarios
from statemachines import saga_named
from tests.choreography.conftest import CHOREOGRAPHED, ORCHESTRATED, items_of, record_tenant, saga_id, trigger

pytestmark = pytest.mark.e2e

ORCHESTRATED_SAGA = saga_named(ORCHESTRATED)
CHOREOGRAPHED_SAGA = saga_named(CHOREOGRAPHED)
#: Past any saga's deadline and the grace for a running step.
LATER = timedelta(seconds=2 * 3600)


#: The compiled machine, for its retry counts. At collection time it is the ASL snapshot, which a
#: staleness test keeps equal to the synthesized machine; a test below compares the deployed one.
DEFINITION = json.loads(
    (Path(__file__).parents[2] / "statemachines" / "onboard_client.asl.json").read_text(encoding="utf-8")
)
MATRIX = scenarios(ORCHESTRATED_SAGA, DEFINITION)


def choreographed(scenario: Scenario) -> tuple[Injection, ...]:
    """The scenario's faults under Lambda's three asynchronous attempts: a fault the state
    machine's ``Retry`` absorbs is absorbed by Lambda's retries (at most two failures, then
    success); one it gives up on fails every attempt."""
    translated = []
    for injection in scenario.injections:
        if injection.kind is FaultKind.BUSINESS:
            translated.append(injection)  # reported at once, never retried, in both styles
            continue
        absorbed = injection.times <= retries_for(DEFINITION, injection.command, injection.error_name)
        times = min(injection.times, ASYNC_ATTEMPTS - 1) if absorbed else ASYNC_ATTEMPTS
        translated.append(dataclasses.replace(injection, times=times))
    return tuple(translated)


def counts(local: LocalRuntime, client_id: str) -> dict[str, int]:
    return {service: len(found) for service, found in items_of(local, client_id).items()}


@pytest.fixture
def _faults_cleared(local: LocalRuntime) -> Iterator[None]:
    yield
    local.router.clear_faults()


def _inject(local: LocalRuntime, injections: tuple[Injection, ...]) -> None:
    for injection in injections:
        local.fail(injection.command, injection.kind, error=injection.error, times=injection.times)


def run_orchestrated(local: LocalRuntime, scenario: Scenario) -> tuple[SagaRun, dict[str, int]]:
    envelope = trigger("orchestration")
    record_tenant(local, envelope)
    _inject(local, scenario.injections)
    finished = local.run(envelope, via_producer=False)
    local.router.clear_faults()
    return finished, counts(local, envelope["detail"]["clientId"])


def run_choreographed(local: LocalRuntime, scenario: Scenario) -> tuple[SagaRun, dict[str, int]]:
    envelope = trigger()
    record_tenant(local, envelope)
    _inject(local, choreographed(scenario))
    local.put_event(envelope)  # every delivery it leads to runs before this returns
    run = describe(local, CHOREOGRAPHED, saga_id(envelope))
    # An event parked in the dead-letter queue: the deadline sweep gives up on the saga (and,
    # once more, on a compensation that never got through)
    for _ in range(2):
        if run.status != "RUNNING":
            break
        sweep(local, CHOREOGRAPHED, now=datetime.now(UTC) + LATER)
        run = describe(local, CHOREOGRAPHED, saga_id(envelope))
    local.router.clear_faults()
    return run, counts(local, envelope["detail"]["clientId"])


def expected_choreographed_outcome(scenario: Scenario, orchestrated: SagaRun) -> str:
    """The orchestrated outcome, but ``TIMED_OUT`` where the sweep, not a report, compensates."""
    if orchestrated.outcome != "FAILED":
        return orchestrated.outcome
    failed = ORCHESTRATED_SAGA.step(orchestrated.failed_step or "")
    return "FAILED" if orchestrated.error in failed.business_errors else "TIMED_OUT"


@pytest.mark.usefixtures("_faults_cleared")
@pytest.mark.parametrize("scenario", MATRIX, ids=[s.name for s in MATRIX])
def test_the_failure_matrix_ends_the_same_way_in_both_styles(local: LocalRuntime, scenario: Scenario) -> None:
    # Given the same failure injected into each style's run
    orchestrated, left_by_orchestration = run_orchestrated(local, scenario)
    choreographed_run, left_by_choreography = run_choreographed(local, scenario)

    # Then both ran the same compensations in the same order, and left the same resources
    assert choreographed_run.compensations == orchestrated.compensations
    assert left_by_choreography == left_by_orchestration
    # and both ended as the platform's difference says (only where the sweep gives up: TIMED_OUT)
    assert choreographed_run.outcome == expected_choreographed_outcome(scenario, orchestrated)
    if orchestrated.outcome != "COMPLETED":
        assert choreographed_run.failed_step == orchestrated.failed_step
    # and a saga ended with nothing left over, or, where a compensation never got through, with
    # exactly what it could not remove
    if orchestrated.outcome in ("FAILED", "COMPLETED"):
        expected = 1 if orchestrated.outcome == "COMPLETED" else 0
        assert set(left_by_choreography.values()) == {expected}, left_by_choreography


def test_the_matrix_covers_every_command_and_is_the_deployed_machines(local: LocalRuntime) -> None:
    targets = {scenario.target for scenario in MATRIX}
    assert targets == {command.name for command in ORCHESTRATED_SAGA.commands()}
    assert scenarios(ORCHESTRATED_SAGA, deployed_definition(local, ORCHESTRATED_SAGA)) == MATRIX
