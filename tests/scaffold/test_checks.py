"""What the scaffold refuses, before writing anything: each problem names its argument and says
why. Checked against a copy of this project (its sagas, events and services)."""

from __future__ import annotations

import re

import pytest

from sagakit.scaffold import Project, ScaffoldError, plan_saga, plan_service, plan_step
from sagakit.scaffold.plan import MARKER

STEPS = ["ReserveStock:inventory:ReleaseStock", "ChargePayment:payments:RefundPayment", "ShipParcel:shipping"]


def problems_of(project: Project, **arguments: object) -> list[str]:
    """The problems ``plan_saga`` finds, as printed (``argument: reason``)."""
    given: dict[str, object] = {"name": "ShipOrder", "service": "orders", "steps": STEPS, **arguments}
    with pytest.raises(ScaffoldError) as refused:
        plan_saga(project, **given)  # type: ignore[arg-type]
    return [str(problem) for problem in refused.value.problems]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"name": "shipOrder"}, "NAME: 'shipOrder' must be PascalCase"),
        ({"name": "OnboardClient"}, "NAME: saga OnboardClientSaga exists (statemachines/onboard_client.py)"),
        ({"service": "Orders"}, "--service: 'Orders' must be kebab-case"),
        ({"service": "class"}, "--service: 'class' would be the Python package 'class', a Python keyword"),
        ({"steps": []}, "--step: a saga needs at least one step"),
        ({"steps": ["ReserveStock"]}, "--step ReserveStock: expected Name:service or Name:service:Compensation"),
        ({"steps": ["ReserveStock:inventory:"]}, "--step ReserveStock:inventory:: expected Name:service"),
        ({"steps": ["reserveStock:inventory:ReleaseStock"]}, "'reserveStock' must be PascalCase"),
        ({"steps": ["ReserveStock:Inventory:ReleaseStock"]}, "service 'Inventory' must be kebab-case"),
        ({"steps": ["Import:inventory:ReleaseStock"]}, "'Import' would be the Python name 'import'"),
        (
            {"steps": ["CreateWorkspace:inventory:ReleaseStock"]},
            "--step CreateWorkspace:inventory:ReleaseStock: CreateWorkspace is already a command of the "
            "ai-workspace service",
        ),
        (
            {"steps": ["OnboardClient:inventory:ReleaseStock"]},
            "OnboardClient: functions/clients/handlers/onboard_client.py exists",
        ),
        (
            {"steps": ["ReserveStock:billing:ReleaseStock"]},
            "--step ReserveStock:billing:ReleaseStock: service billing already runs SetupBilling of OnboardClientSaga",
        ),
        (
            {"steps": ["ReserveStock:inventory:ReleaseStock", "PickStock:inventory:ReturnStock"]},
            "service inventory already has step ReserveStock in ShipOrderSaga",
        ),
        (
            {"steps": ["ReserveStock:inventory:ReleaseStock", "ChargePayment:payments:ReleaseStock"]},
            "ReleaseStock is named twice",
        ),
        ({"steps": ["ShipParcel:shipping"]}, "the first step needs a compensation"),
        (
            {"steps": ["ReserveStock:inventory:ReleaseStock", "ShipParcel:shipping", "ChargePayment:payments:Refund"]},
            "a compensated step cannot follow the retriable step ShipParcel",
        ),
        ({"trigger": "ClientOnboarded"}, "--trigger: event ClientOnboarded exists (events/clients.py)"),
        ({"trigger": "shipIt"}, "--trigger: 'shipIt' must be PascalCase"),
        (
            {"steps": ["CreateBillingProfile:billing-profiles:DropBillingProfile"]},
            "event BillingProfileCreated exists (events/billing.py)",
        ),
        ({"description": 'Ship "it"'}, "--description: one printable line of at most 80 characters"),
        ({"service": "lifecycle"}, "events/lifecycle.py cannot take ShipOrderRequested: its SOURCE is not 'lifecycle'"),
    ],
    ids=lambda value: None if isinstance(value, dict) else value[:40],
)
def test_a_bad_argument_is_refused_naming_it_and_why(
    project: Project, arguments: dict[str, object], expected: str
) -> None:
    assert any(expected in problem for problem in problems_of(project, **arguments)), problems_of(project, **arguments)


def test_every_problem_is_reported_at_once(project: Project) -> None:
    problems = problems_of(project, steps=["reserveStock:inventory:ReleaseStock", "ChargePayment:Payments:Refund"])

    assert len(problems) == 2
    assert problems[0].startswith("--step reserveStock:inventory:ReleaseStock: ")
    assert problems[1].startswith("--step ChargePayment:Payments:Refund: service ")


def test_a_good_saga_plans_its_files_without_writing_them(project: Project) -> None:
    plan = plan_saga(project, name="ShipOrder", service="orders", steps=STEPS)

    paths = {str(change.path) for change in plan.changes}
    assert {
        "statemachines/ship_order.py",
        "functions/inventory/handlers/reserve_stock.py",
        "functions/inventory/handlers/release_stock.py",
        "functions/shipping/handlers/ship_parcel.py",
        "events/orders.py",
        "events/samples/ship_order_requested.json",
        "tests/e2e/test_ship_order_saga.py",
    } <= paths
    assert "functions/shipping/errors.py" not in paths  # a retriable step refuses nothing
    assert not (project.root / "statemachines" / "ship_order.py").exists()
    saga = next(change.text for change in plan.changes if str(change.path) == "statemachines/ship_order.py")
    assert saga.startswith(MARKER)
    assert "kind=StepKind.PIVOT" in saga  # ChargePayment: the last compensated step before a retriable one


def test_a_hand_written_saga_gets_no_scaffolded_step(project: Project) -> None:
    with pytest.raises(
        ScaffoldError, match=r"statemachines/onboard_client\.py was not written by `saga scaffold saga`"
    ):
        plan_step(project, saga="OnboardClientSaga", step="NotifyCustomer:customer-notices")


def test_a_step_needs_a_saga_that_exists(project: Project) -> None:
    with pytest.raises(ScaffoldError, match=r"SAGA: no saga named NopeSaga \(known: .*OnboardClientSaga"):
        plan_step(project, saga="Nope", step="NotifyCustomer:customer-notices")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("billing", "NAME: service billing exists (functions/billing/)"), ("Warehouse", "must be kebab-case")],
)
def test_a_service_must_be_new_and_kebab_case(project: Project, name: str, expected: str) -> None:
    with pytest.raises(ScaffoldError, match=re.escape(expected)):
        plan_service(project, name=name)
