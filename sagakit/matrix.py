"""The failure-injection matrix, generated from a saga's definition and its compiled machine.

For every step and every compensation, ``scenarios`` makes one scenario per failure mode:

* a business error (a clean refusal: the handler is not called),
* transient errors, as many as the state's Retry allows, then success,
* a timeout (``Sandbox.Timedout``, as Lambda reports it),
* a crash after the write, before the reply (``Lambda.Unknown``),
* for states that may fail at all, transient errors beyond the Retry ("keeps failing").

A compensation only runs when a step fails, so its scenarios also fail the latest step whose
failure runs it. ``predict`` says what each scenario must end in by walking the *compiled*
state machine (Retry, Catch, Next), not by restating the compiler's rules; ``run_matrix`` runs
every scenario through the offline runtime and ``check`` holds each run to the invariant:

* COMPLETED: every step's service holds the client's record exactly once;
* FAILED: no service holds anything for the client (every completed step compensated);
* COMPENSATION_FAILED: what is left is listed, and only services whose compensation never
  completed hold anything;
* never two records of one client in a table.

The model also tracks which service a step wrote, so it can name the one gap the definition
leaves: a step without ``undo`` whose write landed and which then failed with an uncertain
error (a lost reply after its last retry) leaves its record, because only ``on_failure`` of
earlier steps runs. ``Expectation.orphans`` names such records; ``check`` reports them.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sagakit.definition import ParallelGroup, Saga, StepKind
from sagakit.local.lambda_router import FaultKind

if TYPE_CHECKING:
    from sagakit.local.runtime import LocalRuntime

__all__ = [
    "Expectation",
    "FailureMode",
    "Injection",
    "MatrixReport",
    "Observation",
    "Scenario",
    "ScenarioResult",
    "Violation",
    "check",
    "deployed_definition",
    "markdown",
    "observe",
    "predict",
    "retries_for",
    "run_injections",
    "run_matrix",
    "run_scenario",
    "scenarios",
    "trigger_envelope",
]

#: The transient errors a "transient, then success" scenario injects, at most.
MAX_TRANSIENT = 5
_STATES_ALL = "States.ALL"


class FailureMode(StrEnum):
    """How the command under test fails (the matrix's columns)."""

    BUSINESS = "business error"
    TRANSIENT = "transient, then success"
    TIMEOUT = "timeout"
    CRASH_AFTER_WRITE = "crash after write"
    KEEPS_FAILING = "keeps failing"


#: What each injected fault looks like to Step Functions (``LambdaRouter``'s error payloads).
ERROR_OF = {
    FaultKind.TRANSIENT: "TransientError",
    FaultKind.TIMEOUT: "Sandbox.Timedout",
    FaultKind.CRASH_AFTER_WRITE: "Lambda.Unknown",
}


@dataclass(frozen=True)
class Injection:
    """One fault for the next ``times`` invocations of ``command`` (``LocalRuntime.fail``)."""

    command: str
    kind: FaultKind
    times: int = 1
    error: str = "InjectedFailure"

    @property
    def error_name(self) -> str:
        """The error Step Functions sees."""
        return self.error if self.kind is FaultKind.BUSINESS else ERROR_OF[self.kind]

    @property
    def runs_handler(self) -> bool:
        """Whether the handler runs (its write lands) before the invocation fails."""
        return self.kind is FaultKind.CRASH_AFTER_WRITE


@dataclass(frozen=True)
class Expectation:
    """What a scenario must end in, from walking the compiled machine.

    ``orphans`` are the services whose record the definition cannot remove (see the module's
    docstring); empty in every sound case.
    """

    outcome: str
    failed_step: str | None = None
    error: str | None = None
    compensations: tuple[str, ...] = ()
    failed_compensation: str | None = None
    pending: tuple[str, ...] = ()
    holding: tuple[str, ...] = ()
    """Services that hold a record the saga's steps wrote and nothing removed."""
    orphans: tuple[str, ...] = ()
    """Of ``holding``, what no compensation still to run would remove."""


@dataclass(frozen=True)
class Scenario:
    """One cell of the matrix: ``target`` fails by ``mode``, with ``injections`` (the target's
    fault, plus, for a compensation, the step failure that makes it run)."""

    saga: str
    target: str
    role: str  # "step" or "compensation"
    mode: FailureMode
    injections: tuple[Injection, ...]
    trigger: str = ""
    """For a compensation: the step failure that runs it, e.g. ``SetupBilling: BillingDeclined``."""

    @property
    def name(self) -> str:
        """``SetupBilling / timeout``."""
        return f"{self.target} / {self.mode.value}"


@dataclass(frozen=True)
class Observation:
    """What a run ended in, read from its execution history and the services' tables."""

    outcome: str
    failed_step: str | None
    error: str | None
    compensations: tuple[str, ...]
    failed_compensation: str | None
    leftovers: Mapping[str, int]
    """Records left for the client, per service (only services holding something)."""

    def as_expectation(self) -> Expectation:
        """The comparable part (outcome, failed step, error, compensations, failed one)."""
        return Expectation(
            outcome=self.outcome,
            failed_step=self.failed_step,
            error=self.error,
            compensations=self.compensations,
            failed_compensation=self.failed_compensation,
        )


@dataclass(frozen=True)
class Violation:
    """A broken invariant: ``orphan`` (a record left after FAILED or not explained after
    COMPENSATION_FAILED), ``duplicate`` (two records of one client), ``missing`` (a step's record
    absent after COMPLETED)."""

    kind: str
    service: str
    count: int

    def __str__(self) -> str:
        return f"{self.kind}: {self.service} holds {self.count} record(s) for the client"


@dataclass
class ScenarioResult:
    """A scenario, what the model predicted, what the run did, and what broke."""

    scenario: Scenario
    expected: Expectation | None
    observed: Observation
    violations: list[Violation]
    seconds: float
    execution_arn: str = ""

    @property
    def agrees(self) -> bool:
        """Whether the run did what the compiled machine says (always true when not modelled)."""
        if self.expected is None:
            return True
        expected = self.expected
        return self.observed.as_expectation() == Expectation(
            outcome=expected.outcome,
            failed_step=expected.failed_step,
            error=expected.error,
            compensations=expected.compensations,
            failed_compensation=expected.failed_compensation,
        )

    @property
    def unexplained(self) -> list[Violation]:
        """Violations the model does not name as the definition's known gap."""
        named = set(self.expected.orphans) if self.expected else set()
        return [v for v in self.violations if not (v.kind == "orphan" and v.service in named)]

    @property
    def ok(self) -> bool:
        """Agrees with the model and breaks no invariant."""
        return self.agrees and not self.violations


@dataclass
class MatrixReport:
    """Every scenario's result, with the wall time and the (fast) time the runs slept."""

    saga: str
    results: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0
    slept: float = 0.0

    @property
    def ok(self) -> bool:
        """Every scenario agrees with the model and keeps the invariant."""
        return all(result.ok for result in self.results)


# -- generation ------------------------------------------------------------------------------


def _compensation_names(saga: Saga) -> list[str]:
    names: list[str] = []
    for element in saga.steps:
        for command in element.compensations():
            if command.name not in names:
                names.append(command.name)
    return names


def retries_for(definition: Mapping[str, Any], state: str, error: str) -> int:
    """How many retries the compiled ``state`` gives ``error`` (0 when none matches)."""
    for retrier in definition["States"][state].get("Retry", []):
        if error in retrier["ErrorEquals"] or _STATES_ALL in retrier["ErrorEquals"]:
            return int(retrier.get("MaxAttempts", 3))
    return 0


def _modes(definition: Mapping[str, Any], target: str, business: str) -> list[tuple[FailureMode, Injection]]:
    retries = retries_for(definition, target, "TransientError")
    modes = [
        (FailureMode.BUSINESS, Injection(target, FaultKind.BUSINESS, 1, business)),
        (FailureMode.TRANSIENT, Injection(target, FaultKind.TRANSIENT, max(1, min(retries, MAX_TRANSIENT)))),
        (FailureMode.TIMEOUT, Injection(target, FaultKind.TIMEOUT, 1)),
        (FailureMode.CRASH_AFTER_WRITE, Injection(target, FaultKind.CRASH_AFTER_WRITE, 1)),
    ]
    if retries <= MAX_TRANSIENT:  # a retriable step (retried until the deadline) never gives up
        modes.append((FailureMode.KEEPS_FAILING, Injection(target, FaultKind.TRANSIENT, retries + 1)))
    return modes


def scenarios(saga: Saga, definition: Mapping[str, Any]) -> list[Scenario]:
    """The matrix of ``saga``: every step and every compensation, in every failure mode.

    ``definition`` is the compiled machine (ASL as a dict): the retry counts come from it.
    """
    result: list[Scenario] = []
    for step in saga.all_steps():
        business = step.business_errors[0] if step.business_errors else "InjectedFailure"
        for mode, injection in _modes(definition, step.name, business):
            result.append(Scenario(saga.name, step.name, "step", mode, (injection,)))
    for compensation in _compensation_names(saga):
        trigger = _trigger(saga, compensation)
        if trigger is None:
            continue
        label = f"{trigger.command}: {trigger.error_name}"
        for mode, injection in _modes(definition, compensation, "InjectedFailure"):
            result.append(Scenario(saga.name, compensation, "compensation", mode, (trigger, injection), label))
    return result


def _trigger(saga: Saga, compensation: str) -> Injection | None:
    """The failure of the latest step whose compensations include ``compensation``: a timeout
    (an uncertain outcome) when it is that step's own ``undo``, else a declared business error."""
    for step in reversed(list(saga.all_steps())):
        if step.kind is StepKind.RETRIABLE:
            continue
        if step.undo is not None and step.undo.name == compensation:
            return Injection(step.name, FaultKind.TIMEOUT)
        if compensation in saga.compensation_order(step.name):
            error = step.business_errors[0] if step.business_errors else "InjectedFailure"
            return Injection(step.name, FaultKind.BUSINESS, 1, error)
    return None


# -- the model -------------------------------------------------------------------------------


def _matches(rule: Mapping[str, Any], error: str) -> bool:
    errors = rule["ErrorEquals"]
    return error in errors or _STATES_ALL in errors


def predict(saga: Saga, definition: Mapping[str, Any], injections: Iterable[Injection]) -> Expectation | None:
    """Walk the compiled ``definition`` with ``injections``, as Step Functions would run it.

    Returns ``None`` for machines with states other than Task and Fail (a parallel group's
    Parallel, Choice and Pass states are not modelled; the invariant still holds for them).
    """
    if any(isinstance(element, ParallelGroup) for element in saga.steps):
        return None
    queues: dict[str, deque[list[Any]]] = {}
    for injection in injections:
        queues.setdefault(injection.command, deque()).append([injection, injection.times])
    compensations = set(_compensation_names(saga))
    services = {command.name: command.service for command in saga.commands()}
    holding: dict[str, bool] = {}
    completed: list[str] = []
    failed_step: str | None = None
    error: str | None = None
    states = definition["States"]
    name = definition["StartAt"]
    for _ in range(10_000):
        state = states[name]
        if state["Type"] == "Fail":
            return _ended("FAILED", failed_step, error, completed, holding)
        if state["Type"] != "Task":
            return None
        used = [0] * len(state.get("Retry", []))
        while True:
            fault = _take(queues, name)
            if fault is None or fault.runs_handler:
                # The handler ran: a step's record is written (or replayed), a compensation's removed.
                holding[services[name]] = name not in compensations
            if fault is None:
                outcome = None
                break
            outcome = fault.error_name
            retry = next((i for i, r in enumerate(state.get("Retry", [])) if _matches(r, outcome)), None)
            if retry is not None and used[retry] < int(state["Retry"][retry].get("MaxAttempts", 3)):
                used[retry] += 1
                continue
            break
        if outcome is None:
            if name in compensations:
                completed.append(name)
            if state.get("End"):
                return _ended("COMPLETED", None, None, [], holding)
            name = state["Next"]
            continue
        catcher = next((c for c in state.get("Catch", []) if _matches(c, outcome)), None)
        if catcher is None:
            if name in compensations:
                pending = _chain(states, name)
                held = tuple(sorted(s for s, present in holding.items() if present))
                # What even a redrive (running the pending compensations) would not remove
                unowned = tuple(s for s in held if s not in {services[p] for p in pending})
                return Expectation(
                    outcome="COMPENSATION_FAILED",
                    failed_step=failed_step,
                    error=error,
                    compensations=tuple(completed),
                    failed_compensation=name,
                    pending=pending,
                    holding=held,
                    orphans=unowned,
                )
            return _ended("FAILED", name, outcome, completed, holding)
        if failed_step is None:
            failed_step, error = name, outcome
        name = catcher["Next"]
    raise RuntimeError(f"saga {saga.name}: the model did not reach an end in 10000 states")


def _take(queues: dict[str, deque[list[Any]]], command: str) -> Injection | None:
    queue = queues.get(command)
    if not queue:
        return None
    head = queue[0]
    head[1] -= 1
    if head[1] <= 0:
        queue.popleft()
    return head[0]  # type: ignore[no-any-return]


def _chain(states: Mapping[str, Any], start: str) -> tuple[str, ...]:
    chain: list[str] = []
    name: str | None = start
    while name is not None and states[name]["Type"] == "Task":
        chain.append(name)
        name = states[name].get("Next")
    return tuple(chain)


def _ended(
    outcome: str, failed_step: str | None, error: str | None, completed: list[str], holding: dict[str, bool]
) -> Expectation:
    held = tuple(sorted(service for service, present in holding.items() if present))
    return Expectation(
        outcome=outcome,
        failed_step=failed_step,
        error=error,
        compensations=tuple(completed),
        holding=held,
        orphans=held if outcome == "FAILED" else (),
    )


# -- observing and checking ------------------------------------------------------------------

_SUCCEEDED = ("TaskSucceeded", "LambdaFunctionSucceeded")
_FAILED = (
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
)


def observe(saga: Saga, status: str, history: Sequence[Mapping[str, Any]], leftovers: Mapping[str, int]) -> Observation:
    """Fold a run's history into what happened: a state that failed and was retried into
    success counts as succeeded; a caught failure is the saga's failed step."""
    compensations = set(_compensation_names(saga))
    done: list[str] = []
    failed_step: str | None = None
    error: str | None = None
    failed_compensation: str | None = None
    current: str | None = None
    last_error: str | None = None
    for event in history:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            current, last_error = event["stateEnteredEventDetails"]["name"], None
        elif kind in _SUCCEEDED:
            last_error = None
        elif kind in _FAILED:
            details: Mapping[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            last_error = details.get("error") or kind
        elif kind.endswith("StateExited") and current is not None:
            if last_error is None and current in compensations:
                done.append(current)
            elif last_error is not None and failed_step is None and current not in compensations:
                failed_step, error = current, last_error
        elif kind == "ExecutionFailed" and current is not None:
            if current in compensations:
                failed_compensation = current
            elif failed_step is None and last_error is not None:
                failed_step, error = current, last_error
    if status == "SUCCEEDED":
        outcome = "COMPLETED"
    elif status == "FAILED":
        outcome = "COMPENSATION_FAILED" if failed_compensation else "FAILED"
    else:
        outcome = status
    if outcome == "COMPLETED":
        failed_step = error = None
    return Observation(
        outcome=outcome,
        failed_step=failed_step,
        error=error,
        compensations=tuple(done),
        failed_compensation=failed_compensation,
        leftovers=dict(leftovers),
    )


def check(saga: Saga, observed: Observation, pending: Sequence[str] = ()) -> list[Violation]:
    """The invariant, whatever the model says (see the module's docstring).

    ``pending`` are the compensations a COMPENSATION_FAILED run never completed: only their
    services may keep something.
    """
    services = {command.name: command.service for command in saga.commands()}
    step_services = {step.command.service for step in saga.all_steps()}
    violations = [Violation("duplicate", s, n) for s, n in sorted(observed.leftovers.items()) if n > 1]
    held = {service for service, count in observed.leftovers.items() if count > 0}
    if observed.outcome == "COMPLETED":
        violations += [
            Violation("missing", s, observed.leftovers.get(s, 0))
            for s in sorted(step_services)
            if observed.leftovers.get(s, 0) == 0
        ]
    elif observed.outcome == "FAILED":
        violations += [Violation("orphan", s, observed.leftovers[s]) for s in sorted(held)]
    elif observed.outcome == "COMPENSATION_FAILED":
        allowed = {services[name] for name in pending}
        violations += [Violation("orphan", s, observed.leftovers[s]) for s in sorted(held - allowed)]
    return violations


# -- running ---------------------------------------------------------------------------------


def trigger_envelope(saga: Saga, tag: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The trigger's sample envelope, with fresh values for the fields the saga id is made of
    (so each run is a new saga instance); returns the envelope and those values."""
    from events import contract

    envelope: dict[str, Any] = json.loads(contract(saga.trigger).sample_path.read_text(encoding="utf-8"))
    fields = [f for _, f, _, _ in string.Formatter().parse(saga.saga_id or "") if f]
    values = {name: f"{tag}-{secrets.token_hex(8)}" for name in fields}  # no collision in 1,000s of runs
    envelope["detail"].update(values)
    return envelope, values


def _leftovers(local: LocalRuntime, saga: Saga, identity: Mapping[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for service in sorted({command.service for command in saga.commands()}):
        items = local.table_items(service)
        count = sum(1 for item in items if identity and all(item.get(k) == v for k, v in identity.items()))
        if count:
            counts[service] = count
    return counts


def deployed_definition(local: LocalRuntime, saga: Saga) -> dict[str, Any]:
    """The compiled machine of ``saga`` as deployed in the local runtime."""
    arn = local.deployed.state_machines[saga.name]
    definition: dict[str, Any] = json.loads(
        local.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    )
    return definition


def run_scenario(
    local: LocalRuntime,
    saga: Saga,
    scenario: Scenario,
    definition: Mapping[str, Any],
    *,
    tag: str = "mx",
) -> ScenarioResult:
    """Inject the scenario's faults, run one saga through the producer and the bus, check it."""
    return run_injections(local, saga, scenario.injections, definition, tag=tag, scenario=scenario)


def run_injections(
    local: LocalRuntime,
    saga: Saga,
    injections: Sequence[Injection],
    definition: Mapping[str, Any],
    *,
    tag: str = "mx",
    scenario: Scenario | None = None,
) -> ScenarioResult:
    """Run one saga with ``injections`` (any failure schedule), and check it against the model
    and the invariant."""
    envelope, identity = trigger_envelope(saga, tag)
    expected = predict(saga, definition, injections)
    started = time.monotonic()
    for injection in injections:
        local.fail(injection.command, injection.kind, error=injection.error, times=injection.times)
    try:
        run = local.run(envelope, saga=saga.name)
    finally:
        local.router.clear_faults()
    seconds = time.monotonic() - started
    observed = observe(saga, run.status, run.history, _leftovers(local, saga, identity))
    pending = expected.pending if expected else ()
    if observed.failed_compensation and not pending:
        pending = _chain(definition["States"], observed.failed_compensation)
    return ScenarioResult(
        scenario=scenario or Scenario(saga.name, "schedule", "schedule", FailureMode.KEEPS_FAILING, tuple(injections)),
        expected=expected,
        observed=observed,
        violations=check(saga, observed, pending),
        seconds=seconds,
        execution_arn=run.execution_arn,
    )


def run_matrix(local: LocalRuntime, saga: Saga, only: Sequence[Scenario] | None = None) -> MatrixReport:
    """Run every scenario of ``saga`` (or ``only`` these) through ``local``, one after another."""
    definition = deployed_definition(local, saga)
    report = MatrixReport(saga=saga.name)
    slept = local.clock.slept
    started = time.monotonic()
    for index, scenario in enumerate(only if only is not None else scenarios(saga, definition)):
        report.results.append(run_scenario(local, saga, scenario, definition, tag=f"mx{index:03d}"))
    report.seconds = time.monotonic() - started
    report.slept = local.clock.slept - slept
    return report


# -- the README table ------------------------------------------------------------------------


def _cell(result: ScenarioResult) -> str:
    observed = result.observed
    if observed.outcome == "COMPLETED":
        text = "COMPLETED"
    elif observed.outcome == "FAILED":
        text = "FAILED: " + (" → ".join(observed.compensations) or "nothing to undo")
    elif observed.outcome == "COMPENSATION_FAILED":
        left = ", ".join(sorted(observed.leftovers)) or "nothing"
        text = f"COMPENSATION_FAILED at {observed.failed_compensation}; left: {left}"
    else:
        text = observed.outcome
    if not result.ok:
        text += " ⚠ " + "; ".join(str(v) for v in result.violations) if result.violations else " ⚠ not as modelled"
    return text


def markdown(report: MatrixReport) -> str:
    """The matrix as a Markdown table: one row per step or compensation, one column per mode."""
    modes = list(FailureMode)
    rows: dict[tuple[str, str, str], dict[FailureMode, str]] = {}
    for result in report.results:
        scenario = result.scenario
        key = (scenario.target, scenario.role, scenario.trigger)
        rows.setdefault(key, {})[scenario.mode] = _cell(result)
    header = "| fails | " + " | ".join(mode.value for mode in modes) + " |"
    lines = [header, "|" + "---|" * (len(modes) + 1)]
    for (target, role, trigger), cells in rows.items():
        label = f"{target} (step)" if role == "step" else f"{target} (compensation, after {trigger})"
        never = "n/a: retried until it succeeds or the saga deadline"
        lines.append(f"| {label} | " + " | ".join(cells.get(mode, never) for mode in modes) + " |")
    return "\n".join(lines) + "\n"
