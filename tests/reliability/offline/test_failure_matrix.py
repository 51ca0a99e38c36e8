"""The failure-injection matrix of the onboarding saga, generated from its definition and its
compiled machine, run through the offline stack; then random failure schedules (hypothesis).

Every run must end as the compiled machine says (``sagakit.matrix.predict`` walks its Retry,
Catch and Next) and keep the invariant: COMPLETED with every record once, FAILED with nothing
left, COMPENSATION_FAILED with only what the unfinished compensations would remove. The README's
"Failure semantics" table is this matrix, rendered.

``make stress`` runs the random schedules 1,000 times (``SAGAKIT_SCHEDULES``); ``make test`` a few.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sagakit.local import FaultKind, LocalRuntime
from sagakit.matrix import (
    FailureMode,
    Injection,
    MatrixReport,
    deployed_definition,
    markdown,
    run_injections,
    run_matrix,
    scenarios,
)
from statemachines.onboard_client import OnboardClientSaga

pytestmark = pytest.mark.e2e

SAGA = OnboardClientSaga
README = Path(__file__).resolve().parents[3] / "README.md"
SCHEDULES = int(os.environ.get("SAGAKIT_SCHEDULES", "12"))


@pytest.fixture(scope="module")
def definition(local: LocalRuntime) -> dict[str, Any]:
    return deployed_definition(local, SAGA)


@pytest.fixture(scope="module")
def report(local: LocalRuntime) -> MatrixReport:
    return run_matrix(local, SAGA)


def test_the_matrix_covers_every_step_and_compensation_in_every_mode(definition: dict[str, Any]) -> None:
    cells = {(s.target, s.mode) for s in scenarios(SAGA, definition)}
    steps = [step.name for step in SAGA.all_steps()]
    compensations = {c.name for element in SAGA.steps for c in element.compensations()}
    for target in [*steps, *compensations]:
        for mode in (FailureMode.BUSINESS, FailureMode.TRANSIENT, FailureMode.TIMEOUT, FailureMode.CRASH_AFTER_WRITE):
            assert (target, mode) in cells
    # Failing for good: every state that gives up; a retriable step never does (the deadline stops it)
    gives_up = {target for target, mode in cells if mode is FailureMode.KEEPS_FAILING}
    assert gives_up == {"CreateWorkspace", "SetupBilling", *compensations}
    assert len(cells) >= 20


def test_every_scenario_ends_as_the_compiled_machine_says_and_keeps_the_invariant(
    report: MatrixReport, record_property: Any
) -> None:
    record_property("matrix_scenarios", len(report.results))
    record_property("matrix_seconds", round(report.seconds, 2))
    print(f"\n{len(report.results)} scenarios in {report.seconds:.1f} s wall, {report.slept:.0f} s of fast time slept")
    wrong = {r.scenario.name: (r.expected, r.observed, r.violations) for r in report.results if not r.ok}
    assert wrong == {}
    outcomes = {r.observed.outcome for r in report.results}
    assert outcomes == {"COMPLETED", "FAILED", "COMPENSATION_FAILED"}
    for result in report.results:
        if result.observed.outcome == "COMPENSATION_FAILED":
            assert result.observed.leftovers, result.scenario.name  # what is left is listed


def test_the_readme_failure_semantics_table_is_the_matrix(report: MatrixReport) -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- saga matrix --markdown -->\n(.*?)<!-- /saga matrix -->", text, re.S)
    assert found, "README.md has no <!-- saga matrix --markdown --> block"
    assert found.group(1) == markdown(report), "stale: paste `saga matrix --markdown` into README.md"


def test_an_uncertain_failure_after_a_write_leaves_nothing_behind(
    local: LocalRuntime, definition: dict[str, Any]
) -> None:
    result = run_injections(local, SAGA, [Injection("CreateWorkspace", FaultKind.CRASH_AFTER_WRITE, 4)], definition)
    # CreateWorkspace's write lands, then every attempt's reply is lost: its undo runs first
    assert result.observed.outcome == "FAILED"
    assert result.expected is not None
    assert result.expected.orphans == ()
    assert result.observed.compensations == ("DiscardWorkspace", "DeleteTenant")
    assert result.violations == []


# -- random failure schedules ----------------------------------------------------------------

_ERRORS = {step.name: (step.business_errors or ("InjectedFailure",))[0] for step in SAGA.all_steps()}


@st.composite
def schedules(draw: st.DrawFn) -> list[Injection]:
    """Up to three commands, each failing up to twice, each fault 1-7 times. A business error
    never follows a crash after the write: once a step's write landed, its retry is answered
    from the idempotency record and cannot be refused."""
    commands = draw(st.lists(st.sampled_from([c.name for c in SAGA.commands()]), min_size=1, max_size=3, unique=True))
    injections: list[Injection] = []
    for command in commands:
        wrote = False
        for kind, times in draw(
            st.lists(st.tuples(st.sampled_from(list(FaultKind)), st.integers(1, 7)), min_size=1, max_size=2)
        ):
            if kind is FaultKind.BUSINESS and wrote:
                continue
            wrote = wrote or kind is FaultKind.CRASH_AFTER_WRITE
            injections.append(Injection(command, kind, times, _ERRORS.get(command, "InjectedFailure")))
    return injections


@settings(
    max_examples=SCHEDULES,
    deadline=None,
    derandomize=SCHEDULES <= 50,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(schedule=schedules())
# Found by make stress when CreateWorkspace had no undo: its write landed, then DeleteTenant
# stalled; the workspace was orphaned. DiscardWorkspace now removes it before DeleteTenant runs.
@example(
    schedule=[
        Injection("CreateWorkspace", FaultKind.CRASH_AFTER_WRITE, 4),
        Injection("DeleteTenant", FaultKind.TRANSIENT, 6),
    ]
)
def test_random_failure_schedules_end_as_modelled_and_leave_no_orphans(
    local: LocalRuntime, definition: dict[str, Any], schedule: list[Injection]
) -> None:
    result = run_injections(local, SAGA, schedule, definition, tag="hy")
    assert result.agrees, (schedule, result.expected, result.observed)
    # Nothing is left behind: every step that can fail has an undo for a write that landed
    assert result.unexplained == [], (schedule, result.violations)
    assert result.violations == [], schedule
