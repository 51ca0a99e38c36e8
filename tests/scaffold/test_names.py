"""The names the scaffold derives from a command's name, and the names it refuses."""

from __future__ import annotations

import pytest

from sagakit.scaffold.names import (
    Wording,
    check_command_name,
    check_saga_name,
    check_service_name,
    saga_name,
)


@pytest.mark.parametrize(
    ("command", "event", "record", "conflict", "id_field"),
    [
        ("ReserveStock", "StockReserved", "StockRecord", "StockConflict", "stock_id"),
        ("SendWelcomeEmail", "WelcomeEmailSent", "WelcomeEmailRecord", "WelcomeEmailConflict", "welcome_email_id"),
        ("ShipParcel", "ParcelShipped", "ParcelRecord", "ParcelConflict", "parcel_id"),
        # A verb the table does not know is not guessed at
        ("SetupBilling", "SetupBillingCompleted", "SetupBillingRecord", "SetupBillingConflict", "setup_billing_id"),
        ("Ship", "ShipCompleted", "ShipRecord", "ShipConflict", "ship_id"),
        # The record's id never takes the name of the key every table has
        ("CreateClient", "ClientCreated", "ClientRecord", "ClientConflict", "record_id"),
    ],
)
def test_a_command_reads_as_a_verb_and_a_noun(
    command: str, event: str, record: str, conflict: str, id_field: str
) -> None:
    wording = Wording.of(command)

    assert (wording.event, wording.record, wording.conflict, wording.id_field) == (event, record, conflict, id_field)


def test_a_compensation_reports_with_its_participle() -> None:
    assert (Wording.of("RefundPayment").event, Wording.of("RefundPayment").done_field) == (
        "PaymentRefunded",
        "refunded",
    )


@pytest.mark.parametrize(("given", "name"), [("ShipOrder", "ShipOrderSaga"), ("ShipOrderSaga", "ShipOrderSaga")])
def test_saga_is_added_to_a_saga_name_once(given: str, name: str) -> None:
    assert saga_name(given) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [("shipOrder", "must be PascalCase"), ("Ship_Order", "must be PascalCase"), ("Saga", "names nothing")],
)
def test_a_saga_name_is_pascal_case_and_says_something(name: str, reason: str) -> None:
    assert reason in (check_saga_name(name) or "")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("reserveStock", "must be PascalCase"),
        ("Reserve-Stock", "must be PascalCase"),
        ("Import", "Python name 'import'"),  # the handler module would be functions/<svc>/handlers/import.py
        ("Logic", "Python name 'logic'"),  # it would shadow the service's logic module
    ],
)
def test_a_command_name_must_make_a_python_module(name: str, reason: str) -> None:
    assert reason in (check_command_name(name) or "")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Orders", "must be kebab-case"),
        ("ai_workspace", "must be kebab-case"),
        ("orders-", "must be kebab-case"),
        ("class", "a Python keyword"),
        ("shared", "is reserved"),
        ("fields", "is reserved"),
    ],
)
def test_a_service_name_is_kebab_case_and_makes_a_python_package(name: str, reason: str) -> None:
    assert reason in (check_service_name(name) or "")


@pytest.mark.parametrize("name", ["orders", "ai-workspace", "customer-notices-2"])
def test_good_service_names_pass(name: str) -> None:
    assert check_service_name(name) is None
