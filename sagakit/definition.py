"""The saga definition model: ``Saga``, ``SagaStep``, ``ParallelGroup``, ``Command``.

A definition is plain, typed Python that mirrors the seed's skeleton::

    Saga(
        name="OnboardClientSaga",
        trigger="ClientOnboarded",
        steps=[
            SagaStep(command=CreateWorkspace, on_success="WorkspaceCreated", on_failure=DeleteTenant),
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", on_failure=DeleteWorkspace),
            SagaStep(command=SendWelcomeEmail, on_success="NotificationSent", kind=StepKind.RETRIABLE),
        ],
    )

Semantics follow the seed's table: ``on_failure`` of a step is the compensation that runs when
*that step or any later step* fails, and a failure at step k runs ``on_failure`` of steps
k, k-1, ..., 1 in that order. ``undo`` is a step's own compensation. It runs first when the step
itself fails with an outcome that is uncertain (a timeout or a crash: the write may have landed),
and it compensates a branch of a parallel group whose sibling failed. A declared business error
is a clean, atomic refusal, so ``undo`` is skipped for it.

A ``ParallelGroup`` carries the kind (compensatable, pivot or retriable) for all its branches.
When any branch of a compensatable or pivot group fails, every branch's ``undo`` runs (a no-op
for a branch that wrote nothing), then the group's ``on_failure``, then the earlier elements'.

Definitions are validated when they are built; every error names the saga and the step.
"""

from __future__ import annotations

import keyword
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

__all__ = [
    "Command",
    "ParallelGroup",
    "RetryPolicy",
    "Saga",
    "SagaDefinitionError",
    "SagaStep",
    "SagaStyle",
    "StepKind",
    "camel_to_snake",
    "service_package",
]

_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SERVICE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: Errors that a Lambda task retries by default. ``Lambda.TooManyRequestsException`` is not in
#: CDK's default LambdaInvoke retry (see ENVIRONMENT.md), so it is listed here explicitly.
TRANSIENT_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "TransientError",
)


class SagaDefinitionError(ValueError):
    """A saga definition is invalid. The message names the saga, the step and the reason."""


class StepKind(StrEnum):
    """Where a step stands in the saga (Garcia-Molina's compensatable / pivot / retriable)."""

    COMPENSATABLE = "compensatable"
    """Can be undone; a later failure runs its compensation."""
    PIVOT = "pivot"
    """The go/no-go step: once it succeeds, the saga runs to completion."""
    RETRIABLE = "retriable"
    """Comes after the pivot; is retried until it succeeds and is never compensated."""


class SagaStyle(StrEnum):
    """How a saga is deployed (``Saga(style=...)``); the definition is the same either way."""

    ORCHESTRATION = "orchestration"
    """A Step Functions state machine runs the steps and the compensations (``sagakit.compiler``)."""
    CHOREOGRAPHY = "choreography"
    """EventBridge rules route each step's success or failure event to the next handler
    (``sagakit.choreography``); no central coordinator."""


def camel_to_snake(name: str) -> str:
    """``SetupBilling`` -> ``setup_billing``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service_package(service: str) -> str:
    """The Python package of a service: ``ai-workspace`` -> ``ai_workspace``."""
    return service.replace("-", "_")


@dataclass(frozen=True)
class Command:
    """A command handler: one Lambda function in ``functions/<service>/handlers/<snake>.py``.

    Parameters
    ----------
    name:
        PascalCase command name, e.g. ``CreateWorkspace``. It is also the state name.
    service:
        The owning service, e.g. ``ai-workspace``. Its code lives in ``functions/ai_workspace``.
    """

    name: str
    service: str

    @property
    def module(self) -> str:
        """Dotted module path of the handler, e.g. ``functions.billing.handlers.setup_billing``."""
        return f"functions.{service_package(self.service)}.handlers.{camel_to_snake(self.name)}"

    @property
    def handler(self) -> str:
        """The Lambda ``Handler`` string."""
        return f"{self.module}.handler"

    def source_file(self, root: Path) -> Path:
        """Where the handler module lives below the project ``root``."""
        return root.joinpath(*self.module.split(".")).with_suffix(".py")


@dataclass(frozen=True)
class RetryPolicy:
    """How a task is retried on transient errors: exponential backoff with full jitter.

    ``max_attempts`` counts retries after the first try, as Step Functions does. A retriable
    step uses ``RetryPolicy.until_success()``, which retries for as long as the saga deadline
    allows.
    """

    max_attempts: int = 3
    interval_seconds: int = 1
    backoff_rate: float = 2.0
    max_delay_seconds: int = 30
    errors: tuple[str, ...] = TRANSIENT_ERRORS

    @classmethod
    def until_success(cls, *, interval_seconds: int = 2, max_delay_seconds: int = 60) -> RetryPolicy:
        """Retry on every error (``States.ALL``), as often as Step Functions allows (99)."""
        return cls(
            max_attempts=99,
            interval_seconds=interval_seconds,
            backoff_rate=2.0,
            max_delay_seconds=max_delay_seconds,
            errors=("States.ALL",),
        )


@dataclass(frozen=True)
class SagaStep:
    """One local transaction of a saga.

    Parameters
    ----------
    command:
        The Lambda handler that performs the step.
    on_success:
        The success event the handler returns, e.g. ``WorkspaceCreated``.
    on_failure:
        The seed's compensation: runs when this step, or any later one, fails.
    undo:
        The step's own undo, for uncertain failures and for parallel branches.
    kind:
        Compensatable, pivot or retriable.
    business_errors:
        Exception class names the handler raises for a clean refusal (nothing written).
        They skip the retries and go straight to compensation.
    retry:
        Retry policy for transient errors.
    timeout_seconds:
        Task timeout; a timeout is a failure like any other.
    """

    command: Command
    on_success: str
    on_failure: Command | None = None
    undo: Command | None = None
    kind: StepKind = StepKind.COMPENSATABLE
    business_errors: tuple[str, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: int = 30

    @property
    def name(self) -> str:
        """The step (and state) name: the command's name."""
        return self.command.name

    def compensations(self) -> Iterator[Command]:
        """Every compensation command this step refers to."""
        if self.undo is not None:
            yield self.undo
        if self.on_failure is not None:
            yield self.on_failure


@dataclass(frozen=True)
class ParallelGroup:
    """Steps that run at the same time. If one branch fails, every branch is compensated with
    its ``undo`` (the last branch first), then the group's ``on_failure`` chain runs.

    The group's ``kind`` applies to every branch: leave a branch's own ``kind`` at its default
    (or set it to the group's). Branches of a compensatable or pivot group each need an
    ``undo`` and have no ``on_failure`` of their own (that is the group's). Branches of a
    retriable group are retried until they succeed and have no compensation at all.
    """

    name: str
    branches: tuple[SagaStep, ...]
    on_failure: Command | None = None
    kind: StepKind = StepKind.COMPENSATABLE

    def compensations(self) -> Iterator[Command]:
        """Every compensation command this group refers to."""
        for branch in self.branches:
            yield from branch.compensations()
        if self.on_failure is not None:
            yield self.on_failure


Element = SagaStep | ParallelGroup


@dataclass(frozen=True)
class Saga:
    """A saga: a trigger event and an ordered list of steps (or parallel groups).

    ``saga_id`` is a template over the trigger's detail, such as ``"onboard-{clientId}"``. It
    becomes the execution name, so a duplicate trigger cannot start a second saga. Without it,
    the EventBridge event id is used, which only folds exact redeliveries.

    ``style`` picks how the same definition is deployed: ``"orchestration"`` (the default, a
    Step Functions state machine) or ``"choreography"`` (EventBridge rules between the same
    handlers; see ``sagakit.choreography``).

    Building a ``Saga`` validates it. ``handler_exists`` and ``event_exists`` let the caller
    check references against the project (the default checks the files on disk and the
    event registry in ``events``).
    """

    name: str
    trigger: str
    steps: tuple[Element, ...]
    saga_id: str | None = None
    version: str = "1"
    deadline_seconds: int = 3600
    description: str = ""
    style: SagaStyle | str = SagaStyle.ORCHESTRATION
    handler_exists: Callable[[Command], bool] | None = field(default=None, compare=False, repr=False)
    event_exists: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if self.style not in tuple(SagaStyle):
            styles = ", ".join(style.value for style in SagaStyle)
            raise _fail(self, "style", f"{self.style!r} is not a saga style (use one of: {styles})")
        object.__setattr__(self, "style", SagaStyle(self.style))
        _validate(self)

    @property
    def file_stem(self) -> str:
        """``OnboardClientSaga`` -> ``onboard_client`` (the ASL snapshot's name)."""
        stem = self.name[:-4] if self.name.endswith("Saga") else self.name
        return camel_to_snake(stem)

    def all_steps(self) -> Iterator[SagaStep]:
        """Every step, with parallel branches flattened in order."""
        for element in self.steps:
            if isinstance(element, ParallelGroup):
                yield from element.branches
            else:
                yield element

    def commands(self) -> list[Command]:
        """Every command (step and compensation) once, in definition order."""
        seen: dict[tuple[str, str], Command] = {}
        for element in self.steps:
            if isinstance(element, ParallelGroup):
                for branch in element.branches:
                    seen.setdefault((branch.command.service, branch.name), branch.command)
            else:
                seen.setdefault((element.command.service, element.name), element.command)
            for compensation in element.compensations():
                seen.setdefault((compensation.service, compensation.name), compensation)
        return list(seen.values())

    def step(self, name: str) -> SagaStep:
        """The step called ``name``; ``KeyError`` names the known steps."""
        for step in self.all_steps():
            if step.name == name:
                return step
        known = ", ".join(s.name for s in self.all_steps())
        raise KeyError(f"saga {self.name} has no step {name!r} (steps: {known})")

    def compensation_order(self, failed_step: str) -> list[str]:
        """The compensations that run, in order, when ``failed_step`` fails with an uncertain
        error, exactly as the compiled state machine runs them:

        * a plain step: its ``undo`` first, then ``on_failure`` of it and of every earlier
          element, latest first. For a declared business error, drop the failed step's
          ``undo`` (the refusal wrote nothing).
        * a branch of a parallel group: the ``undo`` of *every* branch, last branch first
          (whatever the error: the group waits for all branches, then undoes them all), then
          the group's ``on_failure``, then ``on_failure`` of every earlier element.
        * a retriable step, or a branch of a retriable group (after the pivot): ``[]``.
          Such a step is retried until it succeeds and is never compensated.

        ``KeyError`` names the saga when it has no step ``failed_step``.
        """
        elements = self._elements_through(failed_step)
        failed = elements[-1]
        if failed.kind is StepKind.RETRIABLE:
            return []
        order: list[str] = []
        if isinstance(failed, ParallelGroup):
            order.extend(branch.undo.name for branch in reversed(failed.branches) if branch.undo is not None)
        elif failed.undo is not None:
            order.append(failed.undo.name)
        order.extend(element.on_failure.name for element in reversed(elements) if element.on_failure is not None)
        return order

    def _elements_through(self, step_name: str) -> list[Element]:
        for index, element in enumerate(self.steps):
            names = [b.name for b in element.branches] if isinstance(element, ParallelGroup) else [element.name]
            if step_name in names:
                return list(self.steps[: index + 1])
        raise KeyError(f"saga {self.name} has no step {step_name!r}")


def _fail(saga: Saga, where: str, reason: str) -> SagaDefinitionError:
    return SagaDefinitionError(f"saga {saga.name}: {where}: {reason}")


def _validate(saga: Saga) -> None:
    if not _PASCAL.match(saga.name):
        raise _fail(saga, "name", f"{saga.name!r} must be PascalCase, like OnboardClientSaga")
    if not saga.steps:
        raise _fail(saga, "steps", "a saga needs at least one step")
    if saga.deadline_seconds <= 0:
        raise _fail(saga, "deadline_seconds", "must be positive")
    if saga.style is SagaStyle.CHOREOGRAPHY:
        for element in saga.steps:
            if isinstance(element, ParallelGroup):
                raise _fail(
                    saga,
                    f"parallel group {element.name}",
                    "a choreographed saga has no parallel groups yet (a join needs a coordinator); "
                    'use style="orchestration"',
                )
    if saga.saga_id is not None:
        fields = [f for _, f, _, _ in string.Formatter().parse(saga.saga_id) if f is not None]
        if not fields or any(not f.isidentifier() for f in fields):
            raise _fail(saga, "saga_id", f"{saga.saga_id!r} must name detail fields, like 'onboard-{{clientId}}'")
    if saga.event_exists is not None and not saga.event_exists(saga.trigger):
        raise _fail(saga, "trigger", f"event {saga.trigger!r} has no model in events/")

    seen: set[str] = set()
    pivot_seen = False
    for element in saga.steps:
        if isinstance(element, ParallelGroup):
            _check_group(saga, seen, element, pivot_seen=pivot_seen)
        else:
            _check_step(saga, seen, element, kind=element.kind, pivot_seen=pivot_seen)
            _check_place(saga, f"step {element.name}", element.kind, pivot_seen=pivot_seen)
        if element.kind is StepKind.PIVOT:
            pivot_seen = True
    _check_compensations(saga, seen)

    for command in saga.commands():
        if saga.handler_exists is not None and not saga.handler_exists(command):
            raise _fail(
                saga,
                f"command {command.name}",
                f"handler {command.handler} does not exist (expected {command.module.replace('.', '/')}.py)",
            )


def _check_name(saga: Saga, seen: set[str], name: str, where: str) -> None:
    if not _PASCAL.match(name):
        raise _fail(saga, where, f"{name!r} must be PascalCase")
    if name in seen:
        raise _fail(saga, where, f"duplicate step name {name!r}")
    seen.add(name)


def _check_place(saga: Saga, where: str, kind: StepKind, *, pivot_seen: bool) -> None:
    """The rules of the pivot: at most one, and only retriable elements after it."""
    if not pivot_seen:
        return
    if kind is StepKind.PIVOT:
        raise _fail(saga, where, "a saga has at most one pivot")
    if kind is StepKind.COMPENSATABLE:
        raise _fail(saga, where, "steps after the pivot must be retriable: the saga can no longer be compensated")


def _check_command(saga: Saga, where: str, command: Command, *, role: str) -> None:
    if role != "command" and not _PASCAL.match(command.name):
        raise _fail(saga, where, f"{role} {command.name!r} must be PascalCase, like DeleteWorkspace")
    if not _SERVICE.match(command.service):
        raise _fail(saga, where, f"service {command.service!r} must be kebab-case, like ai-workspace")
    if keyword.iskeyword(service_package(command.service)):
        raise _fail(saga, where, f"service {command.service!r} is a Python keyword")


def _check_group(saga: Saga, seen: set[str], group: ParallelGroup, *, pivot_seen: bool) -> None:
    where = f"parallel group {group.name}"
    _check_name(saga, seen, group.name, where)
    if len(group.branches) < 2:
        raise _fail(saga, where, "needs at least two branches")
    _check_place(saga, where, group.kind, pivot_seen=pivot_seen)
    if group.kind is StepKind.RETRIABLE:
        if not pivot_seen:
            raise _fail(saga, where, "a retriable group cannot come before the pivot")
        if group.on_failure is not None:
            raise _fail(saga, where, "a retriable group is never compensated; remove on_failure")
    if group.on_failure is not None:
        _check_command(saga, where, group.on_failure, role="compensation")
    for branch in group.branches:
        if branch.kind not in (StepKind.COMPENSATABLE, group.kind):
            raise _fail(
                saga,
                f"step {branch.name}",
                f"a branch takes the kind of parallel group {group.name} ({group.kind.value}); "
                f"remove kind={branch.kind.value} from the branch",
            )
        _check_step(saga, seen, branch, kind=group.kind, pivot_seen=pivot_seen, group=group)


def _check_step(
    saga: Saga,
    seen: set[str],
    step: SagaStep,
    *,
    kind: StepKind,
    pivot_seen: bool,
    group: ParallelGroup | None = None,
) -> None:
    """Check one step; ``kind`` is the step's own, or its group's for a parallel branch."""
    where = f"step {step.name}"
    _check_name(saga, seen, step.name, where)
    _check_command(saga, where, step.command, role="command")
    for compensation in step.compensations():
        _check_command(saga, where, compensation, role="compensation")
    if saga.event_exists is not None and not saga.event_exists(step.on_success):
        raise _fail(saga, where, f"success event {step.on_success!r} has no model in events/")
    if kind is StepKind.RETRIABLE:
        if not pivot_seen:
            raise _fail(saga, where, "a retriable step cannot come before the pivot")
        if step.on_failure is not None or step.undo is not None:
            raise _fail(saga, where, "a retriable step is never compensated; remove on_failure/undo")
    elif group is not None:
        if step.undo is None:
            raise _fail(
                saga,
                where,
                f"a branch of parallel group {group.name} needs an undo, so it can be compensated when a sibling fails",
            )
        if step.on_failure is not None:
            raise _fail(
                saga,
                where,
                f"a branch of parallel group {group.name} has no on_failure of its own; set on_failure on the group",
            )
    elif step.on_failure is None and step.undo is None:
        raise _fail(saga, where, f"a {kind.value} step needs a compensation (on_failure)")
    if step.timeout_seconds <= 0:
        raise _fail(saga, where, "timeout_seconds must be positive")
    if step.retry.max_attempts < 0 or step.retry.max_attempts > 99:
        raise _fail(saga, where, "retry.max_attempts must be between 0 and 99")
    for error in step.business_errors:
        if not _PASCAL.match(error):
            raise _fail(saga, where, f"business error {error!r} must be an exception class name")


def _check_compensations(saga: Saga, step_names: set[str]) -> None:
    """Each compensation is its own state, so one command compensates one element only, and
    never has the name of a step."""
    used_by: dict[str, str] = {}

    def claim(where: str, command: Command) -> None:
        if command.name in step_names:
            raise _fail(saga, where, f"compensation {command.name} has the name of a step; rename one of them")
        other = used_by.get(command.name)
        if other == where:
            raise _fail(saga, where, f"compensation {command.name} is both the undo and the on_failure")
        if other is not None:
            raise _fail(
                saga,
                where,
                f"compensation {command.name} is also used by {other}; each on_failure/undo must be a distinct command",
            )
        used_by[command.name] = where

    for element in saga.steps:
        if isinstance(element, ParallelGroup):
            for branch in element.branches:
                for command in branch.compensations():
                    claim(f"step {branch.name}", command)
            if element.on_failure is not None:
                claim(f"parallel group {element.name}", element.on_failure)
        else:
            for command in element.compensations():
                claim(f"step {element.name}", command)


def validate_all(sagas: Sequence[Saga]) -> None:
    """Check that saga names are unique across the project."""
    names = [s.name for s in sagas]
    for name in names:
        if names.count(name) > 1:
            raise SagaDefinitionError(f"saga {name}: defined more than once")
