"""The choreography plan: the rules compiled from a definition route every failure to exactly the
compensations ``Saga.compensation_order`` names, in that order, and every success to the next step.

The plan is walked here as EventBridge would walk it (match an event against each rule's pattern,
follow the one that matches), without deploying anything."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sagakit.choreography import LIFECYCLE, Routing, plan, sweep_route
from sagakit.definition import Command, ParallelGroup, SagaDefinitionError, SagaStep, SagaStyle
from sagakit.runtime.choreography import SOURCE, STEP_FAILED
from statemachines import saga_named

SAGA = saga_named("OnboardClientChoreographySaga")
RULES = plan(SAGA, trigger_source="clients")


def _matches(pattern: Any, value: Any) -> bool:
    """EventBridge matching, for the pattern shapes the plan uses (values, anything-but)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches(p, value.get(k)) for k, p in pattern.items())
    for option in pattern:
        if isinstance(option, dict) and "anything-but" in option:
            if value not in option["anything-but"]:
                return True
        elif option == value:
            return True
    return False


def routed(event: dict[str, Any]) -> list[Routing]:
    """The rules ``event`` matches."""
    return [rule for rule in RULES if _matches(rule.pattern, event)]


def failure(step: str, error: str) -> dict[str, Any]:
    detail = {"saga": {"name": SAGA.name}, "step": step, "late": False, "error": {"Error": error}}
    return {"source": SOURCE, "detail-type": STEP_FAILED, "detail": detail}


def walk(event: dict[str, Any]) -> list[str]:
    """Follow ``event`` through the rules to the end; the commands that run, in order."""
    ran: list[str] = []
    while True:
        (rule,) = routed(event)  # exactly one rule takes each event: no fan-out, no dead end
        if rule.target == LIFECYCLE:
            return [*ran, f"{LIFECYCLE}:{rule.route.kind}"]
        ran.append(rule.target)
        detail = {"saga": {"name": SAGA.name}, "step": rule.target}
        event = {"source": SOURCE, "detail-type": rule.route.emits, "detail": detail}


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("CreateWorkspace", "WorkspaceConflict"),
        ("CreateWorkspace", "Sandbox.Timedout"),
        ("SetupBilling", "BillingDeclined"),
        ("SetupBilling", "BillingConflict"),
        ("SetupBilling", "Sandbox.Timedout"),
        ("SetupBilling", "States.TimedOut"),
    ],
)
def test_a_failure_runs_exactly_the_compensation_order_then_ends(step: str, error: str) -> None:
    # Given the compensations the definition says a failure of that step runs
    expected = SAGA.compensation_order(step)
    if error in SAGA.step(step).business_errors and SAGA.step(step).undo is not None:
        expected = expected[1:]  # a clean refusal wrote nothing: the step's own undo is skipped
    # When its SagaStepFailed goes through the rules
    # Then those compensations run in that order, and the last one's event ends the saga
    assert walk(failure(step, error)) == [*expected, "lifecycle:failed"]


def test_the_happy_path_runs_every_step_then_ends() -> None:
    trigger = {"source": "clients", "detail-type": SAGA.trigger, "detail": {"clientId": "acme-001"}}
    assert walk(trigger) == ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail", "lifecycle:completed"]


def test_a_retriable_step_that_fails_has_nothing_to_compensate() -> None:
    # Only the deadline sweep reports it: the adapter lets the platform retry it instead
    assert walk(failure("SendWelcomeEmail", "States.TimedOut")) == ["lifecycle:failed"]


@pytest.mark.parametrize(("step", "undo"), [("CreateWorkspace", "DiscardWorkspace"), ("SetupBilling", "RevertBilling")])
def test_a_late_success_is_undone_by_the_steps_undo_and_recorded(step: str, undo: str) -> None:
    # Given a step's success that came after its saga ended (reported as a late failure)
    late = failure(step, "SagaAlreadyEnded")
    late["detail"]["late"] = True
    # Then two rules take it: the step's own undo, run as a late undo (nothing follows it), and
    # the lifecycle, which records it and raises no alarm for a step that has an undo
    to_undo, to_lifecycle = routed(late)
    assert (to_undo.target, to_undo.route.kind, to_undo.route.undoes, to_undo.route.emits) == (
        undo,
        "compensation",
        step,
        None,
    )
    assert (to_lifecycle.target, to_lifecycle.route.kind) == (LIFECYCLE, "late")
    assert to_lifecycle.route.undone == ("CreateWorkspace", "SetupBilling")


def test_a_late_success_of_a_step_with_no_undo_is_recorded_for_a_human() -> None:
    # A retriable step has no undo by design (the deadline sweep is the only way it ends late)
    late = failure("SendWelcomeEmail", "SagaAlreadyEnded")
    late["detail"]["late"] = True
    assert walk(late) == ["lifecycle:late"]
    (rule,) = routed(late)
    assert "SendWelcomeEmail" not in rule.route.undone


def test_only_the_first_step_starts_the_saga_and_knows_how_to_name_it() -> None:
    first = [rule for rule in RULES if rule.route.first]
    assert [rule.target for rule in first] == ["CreateWorkspace"]
    assert first[0].route.saga_id == "choreo-onboard-{clientId}"
    assert first[0].pattern == {"source": ["clients"], "detail-type": ["ClientOnboardedChoreography"]}


def test_the_sweep_knows_the_steps_in_order_and_waits_out_a_running_step() -> None:
    route = sweep_route(SAGA)
    assert route.steps == ("CreateWorkspace", "SetupBilling", "SendWelcomeEmail")
    assert route.deadline_seconds == 3600
    assert route.grace_seconds >= 2 * 30  # a started step's timeout, retried once


def test_a_choreographed_saga_has_no_parallel_group() -> None:
    group = ParallelGroup(
        name="Provision",
        branches=(
            SagaStep(command=Command("A", "svc"), on_success="ADone", undo=Command("UndoA", "svc")),
            SagaStep(command=Command("B", "svc"), on_success="BDone", undo=Command("UndoB", "svc")),
        ),
    )
    with pytest.raises(SagaDefinitionError, match="parallel group Provision: a choreographed saga has no parallel"):
        dataclasses.replace(SAGA, steps=(group,), handler_exists=None, event_exists=None)


def test_an_unknown_style_is_refused_naming_the_styles() -> None:
    with pytest.raises(SagaDefinitionError, match="style: 'event-driven' is not a saga style"):
        dataclasses.replace(SAGA, style="event-driven")


def test_the_choreographed_saga_is_the_orchestrated_definition() -> None:
    orchestrated = saga_named("OnboardClientSaga")
    assert SAGA.style is SagaStyle.CHOREOGRAPHY and orchestrated.style is SagaStyle.ORCHESTRATION
    assert SAGA.steps == orchestrated.steps
    assert SAGA.trigger != orchestrated.trigger  # one event never starts both
