"""``saga scaffold``: what a user sees. Problems exit with status 2 and write nothing, ``--dry-run``
writes nothing, an existing file is overwritten only with ``--force``, and a scaffolded saga
takes a new step."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sagakit.cli import app
from sagakit.scaffold.plan import MARKER
from tests.scaffold.conftest import SHIP_ORDER

runner = CliRunner()


def scaffold(root: Path, *arguments: str) -> Result:
    """``saga scaffold <arguments> --root <root>``."""
    return runner.invoke(app, ["scaffold", *arguments, "--root", str(root)])


def written(root: Path) -> set[str]:
    """Every file of the project, relative to its root."""
    return {
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("command", [[], ["saga"], ["step"], ["service"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, ["scaffold", *command, "--help"])

    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "--dry-run" in result.stdout or command == []


def test_the_saga_help_says_choreography_is_not_implemented() -> None:
    result = runner.invoke(app, ["scaffold", "saga", "--help"], env={"COLUMNS": "200"})

    assert "choreography is not implemented yet" in " ".join(result.stdout.split())


def test_choreography_is_refused_with_status_2(pristine: Path) -> None:
    result = scaffold(pristine, *SHIP_ORDER, "--style", "choreography")

    assert result.exit_code == 2
    assert "error: --style: choreography is not implemented yet in `saga scaffold`" in " ".join(result.stderr.split())


def test_a_bad_name_exits_2_naming_the_argument_and_writes_nothing(pristine: Path) -> None:
    before = written(pristine)

    result = scaffold(pristine, "saga", "ship-order", "--service", "orders", "--step", "ReserveStock:Inventory:Release")

    assert result.exit_code == 2
    assert "error: NAME: 'ship-order' must be PascalCase" in result.stderr
    assert written(pristine) == before


def test_a_root_that_is_no_project_is_refused(tmp_path: Path) -> None:
    result = scaffold(tmp_path, "service", "warehouse")

    assert result.exit_code == 2
    assert "is not a sagakit project: it has no statemachines/__init__.py" in result.stderr


def test_dry_run_lists_the_files_and_writes_nothing(pristine: Path) -> None:
    before = written(pristine)

    result = scaffold(pristine, *SHIP_ORDER, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert "create statemachines/ship_order.py" in result.stdout
    assert "create functions/inventory/handlers/release_stock.py" in result.stdout
    assert "create events/schemas/stock_reserved.schema.json" in result.stdout
    assert "dry run: 38 files would be written; nothing was" in result.stdout
    assert written(pristine) == before


def test_an_existing_file_is_kept_without_force_and_overwritten_with_it(scratch: Path) -> None:
    # Given a file where the saga's module would go
    module = scratch / "statemachines" / "ship_order.py"
    module.write_text('"""Someone else\'s work."""\n')
    before = written(scratch)

    # When the saga is scaffolded without --force, then nothing at all is written
    refused = scaffold(scratch, *SHIP_ORDER)
    assert refused.exit_code == 2
    assert "error: statemachines/ship_order.py: exists; pass --force to overwrite it" in refused.stderr
    assert written(scratch) == before

    # When it is scaffolded with --force, then the file is overwritten, and the others written
    forced = scaffold(scratch, *SHIP_ORDER, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "overwrite statemachines/ship_order.py" in forced.stdout
    assert module.read_text().startswith(MARKER)
    assert (scratch / "events" / "schemas" / "ship_order_requested.schema.json").is_file()


def test_a_scaffolded_saga_takes_a_step_and_keeps_hand_edits_safe(scratch: Path) -> None:
    # Given a scaffolded saga, whose first step was given a longer timeout by hand
    assert scaffold(scratch, *SHIP_ORDER).exit_code == 0
    module = scratch / "statemachines" / "ship_order.py"
    module.write_text(module.read_text().replace("timeout_seconds=30", "timeout_seconds=60", 1))

    # When a retriable step is added, then the saga module and its tests are rewritten with it,
    # and the edit, being part of the Saga, is kept
    added = scaffold(scratch, "step", "ShipOrder", "NotifyCustomer:customer-notices")
    assert added.exit_code == 0, added.stderr
    assert "update statemachines/ship_order.py  (with NotifyCustomer)" in added.stdout
    assert "update tests/e2e/test_ship_order_saga.py  (with NotifyCustomer)" in added.stdout
    assert "create functions/customer_notices/handlers/notify_customer.py" in added.stdout
    assert "command=NotifyCustomer," in module.read_text()
    assert module.read_text().count("timeout_seconds=60") == 1

    # And when the module holds an edit the Saga cannot say (a comment), another step is refused
    # without --force, and nothing is written
    module.write_text(module.read_text().replace("    steps=(", "    # why these steps\n    steps=(", 1))
    edited = scaffold(scratch, "step", "ShipOrder", "ArchiveOrder:archive")
    assert edited.exit_code == 2
    assert "statemachines/ship_order.py: was edited since `saga scaffold` wrote it; pass --force" in edited.stderr
    assert not (scratch / "functions" / "archive").exists()


def test_a_step_goes_into_a_service_scaffolded_for_it(scratch: Path) -> None:
    # Given an empty service
    service = scaffold(scratch, "service", "warehouse")
    assert service.exit_code == 0, service.stderr
    assert {"functions/warehouse/__init__.py", "events/warehouse.py"} <= written(scratch)

    # When a saga it owns puts its step there, then its events module gains the models
    saga = scaffold(scratch, "saga", "Restock", "--service", "warehouse", "--step", "PickItems:warehouse:ReturnItems")
    assert saga.exit_code == 0, saga.stderr
    assert "update events/warehouse.py  (adds RestockRequested, ItemsPicked, ItemsReturned)" in saga.stdout
    events = (scratch / "events" / "warehouse.py").read_text()
    assert "MODELS: Final[tuple[type[CamelModel], ...]] = (RestockRequested, ItemsPicked, ItemsReturned)" in events
