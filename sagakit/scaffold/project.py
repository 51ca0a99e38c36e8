"""What the scaffold knows of a project: its sagas, its events and its services' files.

The sagas and events are read by importing the project's ``statemachines`` and ``events``
packages in a child Python process whose working directory is the project root. A process of
its own reads exactly the tree being scaffolded (``--root`` may be a copy of the project), and
never a module this process imported before it wrote new files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sagakit.definition import Command, ParallelGroup, RetryPolicy, Saga, SagaStep, StepKind, service_package

__all__ = ["EventEntry", "Project", "ProjectError", "SagaEntry", "run_in_project", "saga_from_dict", "saga_to_dict"]


class ProjectError(RuntimeError):
    """The project could not be read (it does not import, or is not a sagakit project)."""


@dataclass(frozen=True)
class SagaEntry:
    """A saga of the project and the module that defines it."""

    saga: Saga
    module: str
    """``statemachines.onboard_client``."""
    style: str = "orchestration"
    """How the saga is deployed: ``orchestration`` (a state machine) or ``choreography``."""

    @property
    def path(self) -> Path:
        """The module's file, relative to the project root."""
        return Path(*self.module.split(".")).with_suffix(".py")


@dataclass(frozen=True)
class EventEntry:
    """A registered event: its detail-type, its source and the module of its model."""

    name: str
    source: str
    module: str
    """``events.clients``."""


@dataclass(frozen=True)
class Project:
    """A snapshot of the project at ``root``."""

    root: Path
    sagas: dict[str, SagaEntry]
    events: dict[str, EventEntry]

    @classmethod
    def load(cls, root: Path) -> Project:
        """Read the project at ``root``.

        Raises
        ------
        ProjectError
            ``root`` is not a sagakit project, or its sagas or events do not import.
        """
        root = root.resolve()
        for package in ("statemachines", "events", "functions"):
            if not (root / package / "__init__.py").is_file():
                raise ProjectError(f"{root} is not a sagakit project: it has no {package}/__init__.py")
        raw = run_in_project(root, "snapshot")
        return cls(
            root=root,
            sagas={
                entry["definition"]["name"]: SagaEntry(
                    saga=saga_from_dict(entry["definition"]), module=entry["module"], style=entry["style"]
                )
                for entry in raw["sagas"]
            },
            events={name: EventEntry(name=name, **entry) for name, entry in raw["events"].items()},
        )

    def commands(self) -> dict[str, Command]:
        """Every command of every saga, by name."""
        return {command.name: command for entry in self.sagas.values() for command in entry.saga.commands()}

    def handler_modules(self) -> dict[str, str]:
        """Every handler module on disk (``onboard_client``), with the folder of its service."""
        found: dict[str, str] = {}
        for path in sorted((self.root / "functions").glob("*/handlers/*.py")):
            if path.stem != "__init__":
                found.setdefault(path.stem, path.parent.parent.name)
        return found

    def service_code(self, service: str) -> list[Path]:
        """The step code a service already has (``logic.py``, ``models.py``, ``dal.py``)."""
        folder = self.root / "functions" / service_package(service)
        return [folder / name for name in ("dal.py", "logic.py", "models.py") if (folder / name).exists()]


def run_in_project(root: Path, command: str) -> dict[str, Any]:
    """Run ``command`` (``snapshot`` or ``finish``) in a Python process rooted at ``root``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", f"from sagakit.scaffold.project import _child; _child({command!r})"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise ProjectError(f"the project at {root} does not import: {lines[-1] if lines else 'no output'}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _child(command: str) -> None:
    """In the project's process: print what ``command`` asks for, as one line of JSON."""
    import importlib
    import pkgutil

    import statemachines
    from events import EVENTS

    found: dict[str, tuple[str, Saga]] = {}  # saga name -> (module, saga)
    for info in pkgutil.iter_modules(statemachines.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"statemachines.{info.name}")
        for value in vars(module).values():
            # A module may import another's saga (to derive its own from it): a saga belongs to
            # the module named after it, or else to the first module that has it.
            if isinstance(value, Saga) and (value.name not in found or info.name == value.file_stem):
                found[value.name] = (module.__name__, value)
    sagas: list[dict[str, Any]] = [
        # ``style`` is read where the kit has it (choreography is newer than the scaffold).
        {"module": module_name, "definition": saga_to_dict(saga), "style": str(getattr(saga, "style", ""))}
        for module_name, saga in found.values()
    ]
    answer: dict[str, Any] = {}
    if command == "snapshot":
        answer = {
            "sagas": sagas,
            "events": {
                name: {"source": found.source, "module": found.model.__module__} for name, found in EVENTS.items()
            },
        }
    elif command == "finish":
        import contextlib
        import io

        from events.export import main as export_schemas

        statemachines.all_sagas()  # builds and validates every saga against the files on disk
        report = io.StringIO()
        with contextlib.redirect_stdout(report):
            export_schemas([])
        answer = {"sagas": sorted(found), "schemas": report.getvalue().strip()}
    print(json.dumps(answer), file=sys.stdout)


def _command(raw: list[str] | None) -> Command | None:
    return None if raw is None else Command(raw[0], service=raw[1])


def _step_to_dict(step: SagaStep) -> dict[str, Any]:
    return {
        "command": [step.command.name, step.command.service],
        "on_success": step.on_success,
        "on_failure": None if step.on_failure is None else [step.on_failure.name, step.on_failure.service],
        "undo": None if step.undo is None else [step.undo.name, step.undo.service],
        "kind": step.kind.value,
        "business_errors": list(step.business_errors),
        "retry": {**asdict(step.retry), "errors": list(step.retry.errors)},
        "timeout_seconds": step.timeout_seconds,
    }


def _step_from_dict(raw: dict[str, Any]) -> SagaStep:
    command = _command(raw["command"])
    assert command is not None
    return SagaStep(
        command=command,
        on_success=raw["on_success"],
        on_failure=_command(raw["on_failure"]),
        undo=_command(raw["undo"]),
        kind=StepKind(raw["kind"]),
        business_errors=tuple(raw["business_errors"]),
        retry=RetryPolicy(**{**raw["retry"], "errors": tuple(raw["retry"]["errors"])}),
        timeout_seconds=raw["timeout_seconds"],
    )


def saga_to_dict(saga: Saga) -> dict[str, Any]:
    """A saga definition as JSON values (``saga_from_dict`` reads it back)."""
    steps: list[dict[str, Any]] = []
    for element in saga.steps:
        if isinstance(element, ParallelGroup):
            steps.append(
                {
                    "group": element.name,
                    "kind": element.kind.value,
                    "branches": [_step_to_dict(branch) for branch in element.branches],
                    "on_failure": None
                    if element.on_failure is None
                    else [element.on_failure.name, element.on_failure.service],
                }
            )
        else:
            steps.append(_step_to_dict(element))
    return {
        "name": saga.name,
        "trigger": saga.trigger,
        "saga_id": saga.saga_id,
        "version": saga.version,
        "deadline_seconds": saga.deadline_seconds,
        "description": saga.description,
        "steps": steps,
    }


def saga_from_dict(raw: dict[str, Any]) -> Saga:
    """The saga ``saga_to_dict`` wrote (without the project's file and event checks)."""
    steps: list[SagaStep | ParallelGroup] = []
    for element in raw["steps"]:
        if "group" in element:
            steps.append(
                ParallelGroup(
                    name=element["group"],
                    branches=tuple(_step_from_dict(branch) for branch in element["branches"]),
                    on_failure=_command(element["on_failure"]),
                    kind=StepKind(element["kind"]),
                )
            )
        else:
            steps.append(_step_from_dict(element))
    return Saga(
        name=raw["name"],
        trigger=raw["trigger"],
        steps=tuple(steps),
        saga_id=raw["saga_id"],
        version=raw["version"],
        deadline_seconds=raw["deadline_seconds"],
        description=raw["description"],
    )
