"""``saga scaffold saga|step|service``: write a new saga, step or service from the templates.

Every command checks all its arguments and every file first: on any problem it writes nothing,
prints each problem naming its argument, and exits with status 2. ``--dry-run`` lists the files
it would write; ``--force`` lets it overwrite files that exist.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sagakit.scaffold.plan import Action, Plan, ScaffoldError, plan_saga, plan_service, plan_step
from sagakit.scaffold.project import Project, ProjectError

__all__ = ["scaffold_app"]

scaffold_app = typer.Typer(
    help="Write a new saga, step or service from templates, with its events, handlers and tests.",
    no_args_is_help=True,
)
# soft_wrap: a path or a command is printed whole, to be copied, whatever the terminal's width.
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


class Style(StrEnum):
    """How the saga's steps are coordinated."""

    ORCHESTRATION = "orchestration"
    CHOREOGRAPHY = "choreography"


RootOption = Annotated[
    Path,
    typer.Option(
        "--root",
        help="The project to write into (default: the current directory).",
        file_okay=False,
        resolve_path=True,
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="List the files it would write; write nothing.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files that exist (names are still checked).")]


def _fail(*messages: str) -> typer.Exit:
    for message in messages:
        errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _project(root: Path) -> Project:
    try:
        return Project.load(root)
    except ProjectError as error:
        raise _fail(f"--root: {error}") from None


_LABELS = {Action.CREATE: "[green]create[/]", Action.UPDATE: "[yellow]update[/]", Action.OVERWRITE: "[red]overwrite[/]"}


def _run(plan: Plan, *, dry_run: bool) -> None:
    for change in plan.changes:
        note = f"  ({change.note})" if change.note else ""
        console.print(f"  {_LABELS[change.action]:<9} {change.path}{note}")
    for schema in plan.schemas:
        console.print(f"  [green]create[/] {schema}  (python -m events.export)")
    if dry_run:
        console.print(f"dry run: {len(plan.changes)} files would be written; nothing was")
        return
    with console.status("writing, then building every saga and writing the event schemas..."):
        try:
            written = plan.write()
        except ProjectError as error:
            raise _fail(f"the files were written, but {error}") from None
    console.print(f"wrote {len(plan.changes)} files; {written.schemas}")
    if not written.tidied:
        console.print("ruff was not found: run `ruff check --fix . && ruff format .` on the updated modules")
    if plan.next_steps:
        console.print("next:")
        for step in plan.next_steps:
            console.print(f"  {step}", markup=False)


@scaffold_app.command("saga")
def scaffold_saga(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="PascalCase saga name; 'Saga' is added if missing: ShipOrder.")
    ],
    service: Annotated[
        str,
        typer.Option(
            "--service",
            metavar="SERVICE",
            help="The kebab-case service that owns the saga and publishes its trigger event (events/<service>.py).",
        ),
    ],
    step: Annotated[
        list[str] | None,
        typer.Option(
            "--step",
            metavar="Name:service[:Compensation]",
            help=(
                "Name:service[:Compensation], once per step, in order. A step with a compensation is compensatable "
                "(it runs if that step or a later one fails); one without is retriable and must follow them (the "
                "last compensated step becomes the pivot). Each step needs its own new service: a service table "
                "holds one record per client."
            ),
        ),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option(
            metavar="EVENT", help="The trigger event, a new PascalCase detail-type (default: <Name>Requested)."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT", help="One line saying what the saga does.")] = None,
    style: Annotated[
        Style,
        typer.Option(
            help="orchestration: a Step Functions state machine (the only style written). "
            "choreography is not implemented yet in the scaffold, and is refused."
        ),
    ] = Style.ORCHESTRATION,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
    root: RootOption = Path(),
) -> None:
    """A new saga, with its handlers, events and tests.

    It writes the definition (statemachines/), a handler per step and compensation
    (functions/<service>/), the events with samples and schemas (events/), and unit, integration
    and end-to-end tests. The CDK app picks the saga up with no other wiring. Example:

    saga scaffold saga ShipOrder --service orders --step ReserveStock:inventory:ReleaseStock
    --step ShipParcel:shipping
    """
    if style is Style.CHOREOGRAPHY:
        raise _fail(
            "--style: choreography is not implemented yet in `saga scaffold`; "
            "it writes orchestrated sagas (a Step Functions state machine) only"
        )
    project = _project(root)
    try:
        plan = plan_saga(
            project, name=name, service=service, steps=step or [], trigger=trigger, description=description, force=force
        )
    except ScaffoldError as error:
        raise _fail(*(str(problem) for problem in error.problems)) from None
    _run(plan, dry_run=dry_run)


@scaffold_app.command("step")
def scaffold_step(
    saga: Annotated[str, typer.Argument(metavar="SAGA", help="A saga `saga scaffold saga` wrote, e.g. ShipOrderSaga.")],
    step: Annotated[
        str,
        typer.Argument(
            metavar="Name:service[:Compensation]",
            help="Name:service[:Compensation]. With a compensation it must come before any pivot; without one "
            "it is retriable (the saga's last step becomes the pivot if it has none). The service must be new.",
        ),
    ],
    dry_run: DryRunOption = False,
    force: ForceOption = False,
    root: RootOption = Path(),
) -> None:
    """Add a step at the end of a saga that `saga scaffold saga` wrote.

    The saga's module must start with the scaffold's comment (sagas written by hand are refused:
    edit them by hand). The module and the saga's tests are rewritten with the step, and the
    step's handlers, events and tests are written.
    """
    project = _project(root)
    try:
        plan = plan_step(project, saga=saga, step=step, force=force)
    except ScaffoldError as error:
        raise _fail(*(str(problem) for problem in error.problems)) from None
    _run(plan, dry_run=dry_run)


@scaffold_app.command("service")
def scaffold_service(
    name: Annotated[
        str, typer.Argument(help="kebab-case service name; its package is functions/<name_with_underscores>.")
    ],
    description: Annotated[str | None, typer.Option(help="One line saying what the service does.")] = None,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
    root: RootOption = Path(),
) -> None:
    """A new, empty service, for a step to go into.

    It writes functions/<service>/ with its handlers package, and events/<service>.py.
    `saga scaffold saga` and `saga scaffold step` then add a step to it (Name:<service>:...).
    """
    project = _project(root)
    try:
        plan = plan_service(project, name=name, description=description, force=force)
    except ScaffoldError as error:
        raise _fail(*(str(problem) for problem in error.problems)) from None
    _run(plan, dry_run=dry_run)
