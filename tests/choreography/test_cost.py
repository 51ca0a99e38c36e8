"""What one happy onboarding costs in each style, counted in the offline runtime: the figures of
the README's "Orchestration or choreography?" section. If this test fails, the README is stale.

Both runs start at the trigger on the bus (no producer call, the same in both styles) and include
the lifecycle machinery (instance record, lifecycle events), which both styles share."""

from __future__ import annotations

import pytest

from sagakit.local import LocalRuntime
from sagakit.local.choreography import Cost, counting
from tests.choreography.conftest import trigger

pytestmark = pytest.mark.e2e


def happy_run(local: LocalRuntime, style: str) -> Cost:
    with counting(local) as cost:
        run = local.run(trigger(style), via_producer=False)
    assert run.outcome == "COMPLETED"
    cost.transitions = run.transitions
    return cost


def test_one_happy_run_of_each_style_costs_what_the_readme_says(local: LocalRuntime) -> None:
    orchestrated, choreographed = happy_run(local, "orchestration"), happy_run(local, "choreography")

    # Orchestration: one transition per task; the trigger, SagaStarted, 3 SagaStepCompleted and
    # SagaCompleted; 2 Step Functions status changes (free); the starter, 3 steps and 5 lifecycle
    # calls (2 status changes, 3 step events)
    assert (orchestrated.transitions, orchestrated.custom_events, orchestrated.service_events) == (3, 6, 2)
    assert orchestrated.invocations == {
        "starter": 1,
        "CreateWorkspace": 1,
        "SetupBilling": 1,
        "SendWelcomeEmail": 1,
        "lifecycle": 5,
    }

    # Choreography: no transition; the same 6 events plus the 3 success events that carry the saga
    # from step to step; 3 steps and 4 lifecycle calls (3 step events and the end)
    assert (choreographed.transitions, choreographed.custom_events, choreographed.service_events) == (0, 9, 0)
    assert choreographed.events["sagakit.choreography/WorkspaceCreated"] == 1
    # The saga's state: the lifecycle's updates (started, 3 steps, ended) in both styles; in
    # choreography, the adapter's conditional claim and result record for each step on top
    assert (orchestrated.instance_writes, choreographed.instance_writes) == (5, 10)
    assert choreographed.invocations == {"CreateWorkspace": 1, "SetupBilling": 1, "SendWelcomeEmail": 1, "lifecycle": 4}
