"""Plans: every file a scaffold command would write, checked in full before one is written.

``plan_saga``, ``plan_step`` and ``plan_service`` read the project, check the names they are
given, and return a ``Plan`` (or raise ``ScaffoldError`` listing every problem, each naming its
argument). ``Plan.write`` writes the files, tidies them with ruff, and lets the project write
its event schemas (``python -m events.export``) and build every saga once.

What a new step brings to its service, in the project's shape (``functions/ai_workspace``):

* ``handlers/<command>.py``, thin: ``saga_handler`` around one logic function;
* ``logic.py``: the step stores one record per client, owned by the saga (``SagaRecords.claim``),
  and its compensation deletes that record only for the saga that made it (``release``);
* ``dal.py`` (the only module that talks to AWS, through ``functions.shared.dal``), ``models.py``
  (the commands and the record) and ``errors.py`` (the business error Step Functions matches);
* its events in ``events/<service>.py``, with samples and schemas.

A service table holds one record per client, so a step needs a service with no step code yet:
a new one, or one ``saga scaffold service`` made.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_camel

from sagakit.definition import (
    Command,
    ParallelGroup,
    RetryPolicy,
    Saga,
    SagaDefinitionError,
    SagaStep,
    StepKind,
    service_package,
)
from sagakit.scaffold.edit import add_event_models
from sagakit.scaffold.names import (
    Wording,
    check_command_name,
    check_event_name,
    check_saga_name,
    check_service_name,
    kebab,
    saga_name,
    words,
)
from sagakit.scaffold.project import EventEntry, Project, run_in_project
from sagakit.scaffold.render import from_imports, isort_key, render

__all__ = [
    "MARKER",
    "Action",
    "FileChange",
    "Plan",
    "Problem",
    "ScaffoldError",
    "plan_saga",
    "plan_service",
    "plan_step",
    "tidy",
]

#: The first line of every module ``saga scaffold saga`` writes for a saga (definition and tests):
#: ``saga scaffold step`` only rewrites a saga whose module starts with it.
MARKER = "# Scaffolded by `saga scaffold saga`"
SAMPLE_CLIENT = "acme-001"
SAMPLE_REQUESTED_AT = "2026-11-29T09:15:00Z"
SAMPLE_DONE_AT = "2026-11-29T09:15:01Z"
MAX_DESCRIPTION = 80


@dataclass(frozen=True)
class Problem:
    """Why an argument cannot be scaffolded: ``--step Foo:bar: ...``."""

    argument: str
    reason: str

    def __str__(self) -> str:
        return f"{self.argument}: {self.reason}"


class ScaffoldError(ValueError):
    """Nothing was written: every problem found, each naming its argument."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class Action(StrEnum):
    """What writing a file does."""

    CREATE = "create"
    UPDATE = "update"
    """An existing module gains code (events), or a scaffolded saga is rewritten with a new step."""
    OVERWRITE = "overwrite"
    """``--force``: an existing file is replaced."""


@dataclass(frozen=True)
class FileChange:
    """One file a plan writes, relative to the project root."""

    path: Path
    text: str
    action: Action
    note: str = ""


@dataclass(frozen=True)
class Written:
    """What ``Plan.write`` did after writing the files."""

    tidied: bool
    schemas: str
    sagas: list[str]


@dataclass(frozen=True)
class Plan:
    """The files a scaffold command writes, and what to do next."""

    root: Path
    changes: tuple[FileChange, ...]
    schemas: tuple[str, ...] = ()
    """Schema files ``python -m events.export`` writes for the new events."""
    next_steps: tuple[str, ...] = ()

    def write(self) -> Written:
        """Write every file, tidy the Python ones with ruff, then write the event schemas and
        build every saga in a process of the project (a file that does not import fails here)."""
        for change in self.changes:
            target = self.root / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(change.text, encoding="utf-8")
        tidied = tidy(self.root, [change.path for change in self.changes if change.path.suffix == ".py"])
        finished = run_in_project(self.root, "finish")
        return Written(tidied=tidied, schemas=str(finished.get("schemas", "")), sagas=list(finished["sagas"]))


def tidy(root: Path, paths: list[Path]) -> bool:
    """Sort imports and format ``paths`` with the project's ruff settings; ``False`` when ruff is
    not installed or fails (the templates are already formatted; an edited module may need it)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None or not paths:
        return False
    names = [str(path) for path in paths]
    try:
        for command in (["check", "--quiet", "--select", "I", "--fix"], ["format", "--quiet"]):
            subprocess.run([ruff, *command, *names], cwd=root, check=False, timeout=120, capture_output=True)
    except (OSError, subprocess.SubprocessError):
        return False  # the files are written either way; the caller says to run ruff by hand
    return True


# -- collecting files -------------------------------------------------------------------------


@dataclass
class _Files:
    """The files of a plan, and the problems found on the way."""

    root: Path
    force: bool
    changes: dict[Path, FileChange] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def exists(self, path: Path) -> bool:
        return (self.root / path).exists()

    def new(self, path: Path, text: str, note: str = "") -> None:
        """A file the plan creates; an existing one is overwritten only with ``--force``."""
        if not self.exists(path):
            self.changes[path] = FileChange(path, text, Action.CREATE, note)
        elif self.force:
            self.changes[path] = FileChange(path, text, Action.OVERWRITE, note)
        else:
            self.problems.append(Problem(str(path), "exists; pass --force to overwrite it"))

    def keep(self, path: Path, text: str) -> None:
        """A file the plan needs, written only if it is missing (a package's ``__init__.py``)."""
        if not self.exists(path):
            self.changes[path] = FileChange(path, text, Action.CREATE)

    def regenerate(self, path: Path, text: str, *, previous: str, note: str) -> None:
        """A scaffolded file rewritten from its definition: an update when it is as the scaffold
        wrote it (``previous``), an overwrite with ``--force`` when it was edited since."""
        if not self.exists(path):
            self.changes[path] = FileChange(path, text, Action.CREATE, note)
        elif (self.root / path).read_text(encoding="utf-8") == previous:
            self.changes[path] = FileChange(path, text, Action.UPDATE, note)
        elif self.force:
            self.changes[path] = FileChange(path, text, Action.OVERWRITE, note)
        else:
            self.problems.append(
                Problem(
                    str(path), "was edited since `saga scaffold` wrote it; pass --force to rewrite it (edits are lost)"
                )
            )

    def update(self, path: Path, text: str, note: str) -> None:
        """An existing module that gains code."""
        self.changes[path] = FileChange(path, text, Action.UPDATE, note)


# -- what a new step is made of ---------------------------------------------------------------


@dataclass(frozen=True)
class _StepArgument:
    """``--step ReserveStock:inventory:ReleaseStock``, checked."""

    raw: str
    name: str
    service: str
    compensation: str | None

    @property
    def argument(self) -> str:
        return f"--step {self.raw}"


def _parse_step(raw: str, problems: list[Problem], *, label: str = "--step") -> _StepArgument | None:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        problems.append(Problem(f"{label} {raw}", "expected Name:service or Name:service:Compensation"))
        return None
    argument = _StepArgument(raw, parts[0], parts[1], parts[2] if len(parts) == 3 else None)
    where = f"{label} {raw}"
    for name in filter(None, (argument.name, argument.compensation)):
        reason = check_command_name(name)
        if reason:
            problems.append(Problem(where, reason))
    reason = check_service_name(argument.service)
    if reason:
        problems.append(Problem(where, f"service {reason}"))
    return argument


@dataclass(frozen=True)
class _EventSpec:
    """An event the plan adds: a saga's trigger, a step's success event or a compensation's result."""

    kind: str  # "trigger", "success" or "compensation"
    name: str
    service: str
    saga: str
    command: str = ""
    id_field: str = ""
    id_prefix: str = ""
    done: str = ""
    noun_text: str = ""

    @property
    def fields(self) -> set[str]:
        """The ``events.fields`` types its model uses."""
        return {"trigger": {"ClientId", "Timestamp"}, "success": {"ClientId", "ResourceId", "Timestamp"}}.get(
            self.kind, {"ClientId", "ResourceId"}
        )

    def sample(self, saga_id: str) -> dict[str, Any]:
        """Its sample envelope, for the sample saga ``saga_id`` of client ``acme-001``."""
        detail: dict[str, Any] = {"clientId": SAMPLE_CLIENT}
        if self.kind == "trigger":
            detail["requestedAt"] = SAMPLE_REQUESTED_AT
        elif self.kind == "success":
            detail[to_camel(self.id_field)] = _derived_id(self.id_prefix, saga_id)
            detail[to_camel(f"{self.done}_at")] = SAMPLE_DONE_AT
        else:
            detail[to_camel(self.id_field)] = _derived_id(self.id_prefix, saga_id)
            detail[to_camel(self.done)] = True
        return {"source": self.service, "detail-type": self.name, "detail": detail}


def _derived_id(prefix: str, saga_id: str) -> str:
    # The id ``functions.shared.ids.derive_id`` gives the sample saga; the kit does not import the
    # project's code, so the two lines are repeated here, for sample data only.
    return f"{prefix}-{hashlib.sha256(saga_id.encode('utf-8')).hexdigest()[:12]}"


@dataclass(frozen=True)
class _NewStep:
    """A step whose code the plan writes, with its compensation (``on_failure``)."""

    step: SagaStep
    argument: str

    @property
    def wording(self) -> Wording:
        return Wording.of(self.step.name)

    @property
    def compensation(self) -> Wording | None:
        return None if self.step.on_failure is None else Wording.of(self.step.on_failure.name)

    @property
    def service(self) -> str:
        return self.step.command.service

    @property
    def package(self) -> str:
        return service_package(self.service)

    @property
    def retriable(self) -> bool:
        return self.step.kind is StepKind.RETRIABLE

    def events(self, saga: str) -> list[_EventSpec]:
        wording = self.wording
        found = [
            _EventSpec(
                "success",
                wording.event,
                self.service,
                saga,
                command=self.step.name,
                id_field=wording.id_field,
                id_prefix=wording.id_prefix,
                done=wording.done_field,
                noun_text=wording.noun_text,
            )
        ]
        if self.compensation is not None:
            found.append(
                _EventSpec(
                    "compensation",
                    self.compensation.event,
                    self.service,
                    saga,
                    command=self.compensation.command,
                    id_field=wording.id_field,
                    id_prefix=wording.id_prefix,
                    done=self.compensation.done_field,
                    noun_text=wording.noun_text,
                )
            )
        return found


def _new_step_definition(argument: _StepArgument, kind: StepKind) -> SagaStep:
    wording = Wording.of(argument.name)
    compensation = None if argument.compensation is None else Command(argument.compensation, argument.service)
    retriable = kind is StepKind.RETRIABLE
    return SagaStep(
        command=Command(argument.name, service=argument.service),
        on_success=wording.event,
        on_failure=compensation,
        kind=kind,
        business_errors=() if retriable else (wording.conflict,),
        retry=RetryPolicy.until_success() if retriable else RetryPolicy(),
    )


def _check_new_steps(project: Project, saga: str, arguments: list[_StepArgument], problems: list[Problem]) -> None:
    """Names that already exist, in the project or among the new steps themselves."""
    taken = project.commands()
    handler_modules = project.handler_modules()
    seen: dict[str, str] = {}
    services: dict[str, str] = {}
    saga_services: dict[str, str] = {}  # service -> its first command, "SetupBilling of OnboardClientSaga"
    for entry in project.sagas.values():
        for command in entry.saga.commands():
            saga_services.setdefault(command.service, f"{command.name} of {entry.saga.name}")
    for argument in arguments:
        where = argument.argument
        for name in filter(None, (argument.name, argument.compensation)):
            if name in taken:
                problems.append(Problem(where, f"{name} is already a command of the {taken[name].service} service"))
            elif name in seen:
                problems.append(Problem(where, f"{name} is named twice ({seen[name]})"))
            module = Wording.of(name).snake
            if module in handler_modules and handler_modules[module] != service_package(argument.service):
                problems.append(
                    Problem(where, f"{name}: functions/{handler_modules[module]}/handlers/{module}.py exists")
                )
            seen[name] = where
        if argument.service in services:
            problems.append(
                Problem(
                    where,
                    f"service {argument.service} already has step {services[argument.service]} in {saga}: a service "
                    "table holds one record per client, so each step needs a service of its own",
                )
            )
        services[argument.service] = argument.name
        if argument.service in saga_services:
            problems.append(
                Problem(
                    where,
                    f"service {argument.service} already runs {saga_services[argument.service]}: its table holds "
                    "one record per client, so a new step needs a new service (or one `saga scaffold service` made)",
                )
            )
        else:
            package = service_package(argument.service)
            planned = {Wording.of(name).snake for name in filter(None, (argument.name, argument.compensation))}
            others = sorted(
                path.stem
                for path in (project.root / "functions" / package / "handlers").glob("*.py")
                if path.stem != "__init__" and path.stem not in planned
            )
            if others:
                problems.append(
                    Problem(
                        where,
                        f"service {argument.service} has other handlers ({', '.join(others)}): its table holds one "
                        "record per client, so a new step needs a new service (or one `saga scaffold service` made)",
                    )
                )


def _check_events(project: Project, events: list[_EventSpec], where: dict[str, str], problems: list[Problem]) -> None:
    seen: set[str] = set()
    for event in events:
        reason = check_event_name(event.name)
        if reason:
            problems.append(Problem(where[event.name], reason))
        elif event.name in project.events:
            found = project.events[event.name]
            problems.append(
                Problem(where[event.name], f"event {event.name} exists ({found.module.replace('.', '/')}.py)")
            )
        elif event.name in seen:
            problems.append(Problem(where[event.name], f"event {event.name} would be defined twice"))
        seen.add(event.name)


# -- writing ----------------------------------------------------------------------------------


def _event_files(
    files: _Files, project: Project, events: list[_EventSpec], saga_id: str, where: dict[str, str]
) -> None:
    """Each service's events module (new, or with the models added), and a sample per event."""
    by_service: dict[str, list[_EventSpec]] = {}
    for event in events:
        by_service.setdefault(event.service, []).append(event)
    for service, found in by_service.items():
        path = Path("events") / f"{service_package(service)}.py"
        fields = set().union(*(event.fields for event in found))
        names = [event.name for event in found]
        block = render("events/models.py.j2", events=found)
        if files.exists(path):
            edit = add_event_models(
                (files.root / path).read_text(encoding="utf-8"), source=service, block=block, names=names, fields=fields
            )
            if edit.text is None:
                reason = f"{path} cannot take {', '.join(names)}: {edit.problem}"
                files.problems.append(Problem(where[found[0].name], reason))
            else:
                files.update(path, edit.text, note=f"adds {', '.join(names)}")
        else:
            imports = from_imports({"events.fields": fields, "sagakit.runtime": {"CamelModel"}})
            exported = sorted(["MODELS", "SOURCE", *names], key=isort_key)
            files.new(
                path, render("events/module.py.j2", service=service, events=found, imports=imports, exported=exported)
            )
    for event in events:
        files.new(
            Path("events") / "samples" / f"{_snake(event.name)}.json",
            render("sample.json.j2", sample=event.sample(saga_id)),
        )


def _snake(name: str) -> str:
    return Wording.of(name).snake


def _service_init(service: str, description: str) -> str:
    return render("service/init.py.j2", service=service, description=description)


def _step_files(files: _Files, new: _NewStep, *, saga: str, trigger: EventEntry, saga_id: str) -> None:
    """A new step's code in its service, and the tests of its handlers."""
    package = new.package
    base = Path("functions") / package
    wording, compensation = new.wording, new.compensation
    summary = wording.command if compensation is None else f"{wording.command} and {compensation.command}"
    files.keep(base / "__init__.py", _service_init(new.service, f"The {new.service} service: {summary}."))
    files.keep(base / "handlers" / "__init__.py", render("service/handlers_init.py.j2", service=new.service))
    context: dict[str, Any] = {
        "new": new,
        "step": new.step,
        "wording": wording,
        "compensation": compensation,
        "service": new.service,
        "package": package,
        "saga": saga,
        "trigger": trigger,
        "saga_id": saga_id,
        "client": SAMPLE_CLIENT,
        "events_module": f"events.{package}",
    }
    event_names = [wording.event] + ([compensation.event] if compensation else [])
    commands = [f"{name}Command" for name in filter(None, (wording.command, compensation and compensation.command))]
    context["commands"] = sorted(commands, key=isort_key)
    context["exported"] = {
        "models": sorted([*commands, wording.record], key=isort_key),
        "logic": sorted(filter(None, (wording.snake, compensation and compensation.snake)), key=isort_key),
        "dal": sorted(
            ["PARTITION_KEY", f"claim_{wording.noun_snake}"]
            + ([f"release_{wording.noun_snake}"] if compensation else []),
            key=isort_key,
        ),
    }
    context["imports"] = {
        "models": from_imports(
            {
                "events.fields": {"ClientId", "ResourceId", "SagaId", "Timestamp"},
                trigger.module: {trigger.name},
                "sagakit.runtime": {"CamelModel", "SagaCommand"},
            }
        ),
        "logic": from_imports(
            {
                f"events.{package}": set(event_names),
                f"functions.{package}": {"SERVICE", "dal"},
                f"functions.{package}.errors": set() if new.retriable else {wording.conflict},
                f"functions.{package}.models": {wording.record},
                "functions.shared.dal": {"ClaimOutcome"} | ({"ReleaseOutcome"} if compensation else set()),
                "functions.shared.ids": {"derive_id"},
            }
        ),
        "dal": from_imports(
            {
                f"functions.{package}.models": {wording.record},
                "functions.shared.dal": {"ClaimOutcome", "SagaRecords"}
                | ({"ReleaseOutcome"} if compensation else set()),
                "functions.shared.settings": {"TableSettings"},
                "sagakit.runtime": {"load_settings"},
            }
        ),
        "tests": from_imports(
            {
                "events": {"load_sample"},
                f"events.{package}": set(event_names),
                f"functions.{package}": {"dal"},
                f"functions.{package}.errors": set() if new.retriable else {wording.conflict},
                f"functions.{package}.handlers": {wording.snake} | ({compensation.snake} if compensation else set()),
                "functions.shared.ids": {"derive_id"},
                "sagakit.runtime": {"InvalidCommand"},
            }
        ),
    }
    files.new(base / "handlers" / f"{wording.snake}.py", render("service/handler.py.j2", **context, role="step"))
    if compensation is not None:
        files.new(
            base / "handlers" / f"{compensation.snake}.py",
            render("service/handler.py.j2", **context, role="compensation"),
        )
    files.new(base / "models.py", render("service/models.py.j2", **context))
    files.new(base / "logic.py", render("service/logic.py.j2", **context))
    files.new(base / "dal.py", render("service/dal.py.j2", **context))
    if not new.retriable:
        files.new(base / "errors.py", render("service/errors.py.j2", **context))
    files.new(Path("tests") / "integration" / f"test_{package}_handlers.py", render("tests/handlers.py.j2", **context))


def _retry(policy: RetryPolicy) -> dict[str, Any] | None:
    """How a step's retry policy is written: ``None`` for the default."""
    if policy == RetryPolicy():
        return None
    until = RetryPolicy.until_success()
    if replace(policy, interval_seconds=until.interval_seconds, max_delay_seconds=until.max_delay_seconds) == until:
        args = {
            name: getattr(policy, name)
            for name in ("interval_seconds", "max_delay_seconds")
            if getattr(policy, name) != getattr(until, name)
        }
        return {"factory": "RetryPolicy.until_success", "args": args}
    default = RetryPolicy()
    args = {
        name: getattr(policy, name)
        for name in ("max_attempts", "interval_seconds", "backoff_rate", "max_delay_seconds", "errors")
        if getattr(policy, name) != getattr(default, name)
    }
    return {"factory": "RetryPolicy", "args": args}


def _saga_context(saga: Saga, trigger: EventEntry) -> dict[str, Any]:
    """What the saga module and the saga's tests are written from."""
    steps = [step for step in saga.steps if isinstance(step, SagaStep)]
    views = []
    for step in steps:
        error = step.business_errors[0] if step.business_errors else "InjectedFailure"
        order = saga.compensation_order(step.name)
        if step.business_errors and step.undo is not None:
            order = order[1:]  # a declared business error wrote nothing, so the step's own undo is skipped
        views.append(
            {
                "step": step,
                "retry": _retry(step.retry),
                "error": error,
                "order": saga.compensation_order(step.name),
                "compensations": order,
            }
        )
    header = ("Step", "Command", "Service", "Success event", "onFailure")
    rows = [header] + [
        (
            str(number),
            step.name,
            step.command.service,
            step.on_success,
            step.on_failure.name if step.on_failure else ("N/A (retriable)" if step.kind is StepKind.RETRIABLE else ""),
        )
        for number, step in enumerate(steps, start=1)
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    definition_names = {"Command", "Saga", "SagaStep"}
    if any(step.kind is not StepKind.COMPENSATABLE for step in steps):
        definition_names.add("StepKind")
    if any(view["retry"] for view in views):
        definition_names.add("RetryPolicy")
    services = list(dict.fromkeys(step.command.service for step in steps))
    stem = saga.file_stem
    return {
        "saga": saga,
        "stem": stem,
        "trigger": trigger,
        "commands": saga.commands(),
        "steps": views,
        "services": tuple(services),
        "sample_saga_id": saga.saga_id.format(clientId=SAMPLE_CLIENT) if saga.saga_id else "",
        "table": [[cell.ljust(width) for cell, width in zip(row, widths, strict=True)] for row in rows],
        "rule": ["-" * width for width in widths],
        "definition_imports": from_imports({"sagakit.definition": definition_names}),
        "client_prefix": kebab(stem),
        "summary": textwrap.wrap(f"{saga.name}: {saga.description}".rstrip(": "), 96) or [saga.name],
        "marker": MARKER,
        "e2e_imports": from_imports({"events": {"load_sample"}, "sagakit.local": {"FaultKind", "LocalRuntime"}}),
        "unit_imports": from_imports(
            {
                "events": {"load_sample"},
                trigger.module: {trigger.name},
                "sagakit.definition": {"StepKind"},
                "sagakit.runtime.starter": {"saga_id_for"},
                "statemachines": {"saga_named"},
                f"statemachines.{stem}": {saga.name},
            }
        ),
    }


def _saga_texts(saga: Saga, trigger: EventEntry) -> dict[Path, str]:
    context = _saga_context(saga, trigger)
    stem = context["stem"]
    return {
        Path("statemachines") / f"{stem}.py": render("saga/saga.py.j2", **context),
        Path("tests") / "unit" / f"test_{stem}_definition.py": render("tests/definition.py.j2", **context),
        Path("tests") / "e2e" / f"test_{stem}_saga.py": render("tests/e2e.py.j2", **context),
    }


def _next_steps(saga: Saga, trigger: str, services: Iterable[str]) -> tuple[str, ...]:
    stem = saga.file_stem
    tests = [f"tests/unit/test_{stem}_definition.py"]
    tests += [f"tests/integration/test_{service_package(service)}_handlers.py" for service in services]
    tests.append(f"tests/e2e/test_{stem}_saga.py")
    return (
        f".venv/bin/pytest -q {' '.join(tests)}",
        f"saga local run --event events/samples/{_snake(trigger)}.json",
        "saga asl   # writes the new ASL snapshot, which tests/infra compares with a fresh synth",
    )


def _finish(files: _Files, *, schemas: Iterable[str] = (), next_steps: tuple[str, ...] = ()) -> Plan:
    if files.problems:
        raise ScaffoldError(files.problems)
    return Plan(
        root=files.root,
        changes=tuple(sorted(files.changes.values(), key=lambda change: str(change.path))),
        schemas=tuple(f"events/schemas/{_snake(name)}.schema.json" for name in schemas),
        next_steps=next_steps,
    )


# -- the commands -----------------------------------------------------------------------------


def _kinds(arguments: list[_StepArgument], problems: list[Problem]) -> list[StepKind]:
    """Compensated steps first, the last of them the pivot if uncompensated (retriable) steps follow."""
    compensated = [argument.compensation is not None for argument in arguments]
    if arguments and not compensated[0]:
        problems.append(
            Problem(
                arguments[0].argument,
                "the first step needs a compensation (Name:service:Compensation): a step without one is retriable, "
                "and retriable steps come after a compensated step, the pivot",
            )
        )
        return []
    first_retriable = compensated.index(False) if False in compensated else len(arguments)
    for argument in arguments[first_retriable:]:
        if argument.compensation is not None:
            problems.append(
                Problem(
                    argument.argument,
                    f"a compensated step cannot follow the retriable step {arguments[first_retriable].name}: "
                    "after the pivot the saga can no longer be compensated; put compensated steps first",
                )
            )
    kinds = [StepKind.COMPENSATABLE] * first_retriable + [StepKind.RETRIABLE] * (len(arguments) - first_retriable)
    if first_retriable < len(arguments):
        kinds[first_retriable - 1] = StepKind.PIVOT
    return kinds


def _description(stem: str, steps: list[str]) -> str:
    """``Reserve stock, charge payment, ship parcel.``, or ``Ship order in 9 steps.`` if that is long."""
    detailed = f"{', '.join(' '.join(words(step)).lower() for step in steps)}.".capitalize()
    return (
        detailed if len(detailed) <= MAX_DESCRIPTION else f"{' '.join(words(stem)).capitalize()} in {len(steps)} steps."
    )


def _check_description(description: str | None, problems: list[Problem]) -> None:
    if description is None:
        return
    if len(description) > MAX_DESCRIPTION or not description.isprintable() or any(c in description for c in '"\\'):
        problems.append(
            Problem(
                "--description",
                f"one printable line of at most {MAX_DESCRIPTION} characters, without double quotes or backslashes",
            )
        )


def _check_owner(service: str, argument: str, problems: list[Problem]) -> None:
    reason = check_service_name(service)
    if reason:
        problems.append(Problem(argument, reason))


def plan_saga(
    project: Project,
    *,
    name: str,
    service: str,
    steps: list[str],
    trigger: str | None = None,
    description: str | None = None,
    force: bool = False,
) -> Plan:
    """The files of a new saga ``name`` owned by ``service`` (the source of its trigger), with a
    step per ``Name:service[:Compensation]`` of ``steps``.

    A step with a compensation is compensatable (the compensation is its ``on_failure``, so it
    runs when the step or any later one fails). A step without one is retriable: it comes after
    the compensated steps, and the last compensated step becomes the pivot.

    Raises
    ------
    ScaffoldError
        Every problem with the arguments or with files that exist, each naming its argument.
    """
    problems: list[Problem] = []
    reason = check_saga_name(name)
    if reason:
        raise ScaffoldError([Problem("NAME", reason)])
    full_name = saga_name(name)
    if full_name in project.sagas:
        problems.append(
            Problem(
                "NAME",
                f"saga {full_name} exists ({project.sagas[full_name].path}); "
                f"`saga scaffold step {full_name} Name:service[:Compensation]` adds a step to it",
            )
        )
    _check_owner(service, "--service", problems)
    stem_name = full_name.removesuffix("Saga")
    trigger_name = trigger or f"{stem_name}Requested"
    trigger_argument = "--trigger" if trigger else f"--trigger (default {trigger_name})"
    _check_description(description, problems)
    if not steps:
        problems.append(Problem("--step", "a saga needs at least one step: --step Name:service[:Compensation]"))
    arguments = [argument for raw in steps if (argument := _parse_step(raw, problems)) is not None]
    if problems:
        raise ScaffoldError(problems)

    _check_new_steps(project, full_name, arguments, problems)
    kinds = _kinds(arguments, problems)
    if problems:
        raise ScaffoldError(problems)
    new_steps = [
        _NewStep(_new_step_definition(argument, kind), argument.argument)
        for argument, kind in zip(arguments, kinds, strict=True)
    ]
    try:
        saga = Saga(
            name=full_name,
            trigger=trigger_name,
            saga_id=f"{kebab(stem_name)}-{{clientId}}",
            description=description or _description(stem_name, [argument.name for argument in arguments]),
            steps=tuple(new.step for new in new_steps),
        )
    except SagaDefinitionError as error:
        raise ScaffoldError([Problem("--step", str(error))]) from None

    trigger_entry = EventEntry(name=trigger_name, source=service, module=f"events.{service_package(service)}")
    events = [_EventSpec("trigger", trigger_name, service, full_name)]
    where = {trigger_name: trigger_argument}
    for new in new_steps:
        for event in new.events(full_name):
            events.append(event)
            where[event.name] = new.argument
    _check_events(project, events, where, problems)
    if problems:
        raise ScaffoldError(problems)

    files = _Files(project.root, force)
    saga_id = saga.saga_id.format(clientId=SAMPLE_CLIENT) if saga.saga_id else SAMPLE_CLIENT
    for path, text in _saga_texts(saga, trigger_entry).items():
        files.new(path, text)
    _event_files(files, project, events, saga_id, where)
    for new in new_steps:
        _step_files(files, new, saga=full_name, trigger=trigger_entry, saga_id=saga_id)
    return _finish(
        files,
        schemas=[event.name for event in events],
        next_steps=_next_steps(saga, trigger_name, [new.service for new in new_steps]),
    )


def plan_step(project: Project, *, saga: str, step: str, force: bool = False) -> Plan:
    """The files that add ``step`` (``Name:service[:Compensation]``) at the end of ``saga``, a
    saga that ``saga scaffold saga`` wrote. Its module and tests are rewritten from the saga's
    definition plus the new step; they must be as the scaffold left them (or ``--force``).

    A compensated step cannot follow the pivot; an uncompensated one is retriable, and makes
    the saga's last step its pivot if it has none.
    """
    problems: list[Problem] = []
    full_name = saga_name(saga)
    entry = project.sagas.get(full_name)
    if entry is None:
        known = ", ".join(sorted(project.sagas)) or "none"
        raise ScaffoldError([Problem("SAGA", f"no saga named {full_name} (known: {known})")])
    text = (project.root / entry.path).read_text(encoding="utf-8")
    if not text.startswith(MARKER):
        problems.append(
            Problem(
                "SAGA",
                f"{entry.path} was not written by `saga scaffold saga` (its first line is not {MARKER!r}); "
                "add the step by hand",
            )
        )
    if any(isinstance(element, ParallelGroup) for element in entry.saga.steps):
        problems.append(Problem("SAGA", f"{full_name} has a parallel group; add the step by hand"))
    if entry.style not in ("", "orchestration"):
        problems.append(Problem("SAGA", f"{full_name} is a {entry.style} saga; the scaffold writes orchestration only"))
    trigger = project.events.get(entry.saga.trigger)
    if trigger is None:
        problems.append(Problem("SAGA", f"its trigger {entry.saga.trigger} has no model in events/"))
    argument = _parse_step(step, problems, label="STEP")
    if problems or argument is None or trigger is None:
        raise ScaffoldError(problems)

    _check_new_steps(project, full_name, [argument], problems)
    old = entry.saga
    last = old.steps[-1]
    assert isinstance(last, SagaStep)  # no parallel group, checked above
    has_pivot = any(isinstance(s, SagaStep) and s.kind is not StepKind.COMPENSATABLE for s in old.steps)
    previous_steps = list(old.steps)
    if argument.compensation is not None:
        kind = StepKind.COMPENSATABLE
        if has_pivot:
            problems.append(
                Problem(
                    f"STEP {step}",
                    f"{full_name} has a pivot: a compensated step cannot come after it (the saga can no longer be "
                    "compensated there); leave out the compensation to add a retriable step",
                )
            )
    else:
        kind = StepKind.RETRIABLE
        if not has_pivot:
            previous_steps[-1] = replace(last, kind=StepKind.PIVOT)
    if problems:
        raise ScaffoldError(problems)
    new = _NewStep(_new_step_definition(argument, kind), f"STEP {step}")
    try:
        updated = replace(old, steps=(*previous_steps, new.step))
    except SagaDefinitionError as error:
        raise ScaffoldError([Problem(f"STEP {step}", str(error))]) from None
    events = new.events(full_name)
    where = {event.name: new.argument for event in events}
    _check_events(project, events, where, problems)
    if problems:
        raise ScaffoldError(problems)

    files = _Files(project.root, force)
    before = _saga_texts(old, trigger)
    for path, text in _saga_texts(updated, trigger).items():
        files.regenerate(path, text, previous=before[path], note=f"with {argument.name}")
    saga_id = updated.saga_id.format(clientId=SAMPLE_CLIENT) if updated.saga_id else SAMPLE_CLIENT
    _event_files(files, project, events, saga_id, where)
    _step_files(files, new, saga=full_name, trigger=trigger, saga_id=saga_id)
    services = list(dict.fromkeys(s.command.service for s in updated.all_steps()))
    return _finish(files, schemas=where, next_steps=_next_steps(updated, updated.trigger, services))


def plan_service(project: Project, *, name: str, description: str | None = None, force: bool = False) -> Plan:
    """The files of an empty service ``name``: its package, its handlers package and its events
    module. ``saga scaffold saga`` and ``saga scaffold step`` add a step to it."""
    problems: list[Problem] = []
    _check_owner(name, "NAME", problems)
    _check_description(description, problems)
    if problems:
        raise ScaffoldError(problems)
    package = service_package(name)
    files = _Files(project.root, force)
    base = Path("functions") / package
    if (project.root / base).exists() and not force:
        raise ScaffoldError([Problem("NAME", f"service {name} exists ({base}/)")])
    files.new(base / "__init__.py", _service_init(name, description or f"The {name} service."))
    files.new(base / "handlers" / "__init__.py", render("service/handlers_init.py.j2", service=name))
    events = Path("events") / f"{package}.py"
    if not files.exists(events):
        imports = from_imports({"sagakit.runtime": {"CamelModel"}})
        exported = ["MODELS", "SOURCE"]
        files.new(events, render("events/module.py.j2", service=name, events=[], imports=imports, exported=exported))
    return _finish(
        files,
        next_steps=(f"saga scaffold saga <Name> --service <owner> --step <Step>:{name}:<Compensation>",),
    )
