"""The saga definition model: a bad definition is refused when it is built, and the message
names the saga and the step; a good one knows which compensations run when a step fails."""

from __future__ import annotations

from typing import Any

import pytest

from sagakit.definition import (
    Command,
    ParallelGroup,
    Saga,
    SagaDefinitionError,
    SagaStep,
    StepKind,
)
from statemachines import onboard_client
from statemachines._project import ROOT, event_exists, handler_exists
from statemachines.onboard_client import OnboardClientSaga

CreateWorkspace = Command("CreateWorkspace", service="ai-workspace")
DeleteWorkspace = Command("DeleteWorkspace", service="ai-workspace")
SetupBilling = Command("SetupBilling", service="billing")
RevertBilling = Command("RevertBilling", service="billing")
SendWelcomeEmail = Command("SendWelcomeEmail", service="notifications")
DeleteTenant = Command("DeleteTenant", service="clients")
CreateMailbox = Command("CreateMailbox", service="notifications")
DeleteMailbox = Command("DeleteMailbox", service="notifications")

#: The checks the project's own sagas are built with: handler files on disk, models in events/.
PROJECT_CHECKS: dict[str, Any] = {"handler_exists": handler_exists, "event_exists": event_exists}


def create_workspace(**changes: Any) -> SagaStep:
    """The seed's step 1: compensatable, undone by DeleteTenant."""
    return SagaStep(
        **{"command": CreateWorkspace, "on_success": "WorkspaceCreated", "on_failure": DeleteTenant, **changes}
    )


def setup_billing(**changes: Any) -> SagaStep:
    """The seed's step 2, the pivot, undone by DeleteWorkspace."""
    options = {"command": SetupBilling, "on_success": "BillingProfileCreated", "on_failure": DeleteWorkspace}
    return SagaStep(**{**options, "kind": StepKind.PIVOT, **changes})


def send_welcome_email(**changes: Any) -> SagaStep:
    """The seed's step 3: retriable, never compensated."""
    return SagaStep(
        **{"command": SendWelcomeEmail, "on_success": "NotificationSent", "kind": StepKind.RETRIABLE, **changes}
    )


def build(*steps: SagaStep | ParallelGroup, **options: Any) -> Saga:
    """Build (and so validate) a saga called TestSaga."""
    return Saga(**{"name": "TestSaga", "trigger": "ClientOnboarded", "steps": steps, **options})


def refusal(*steps: SagaStep | ParallelGroup, **options: Any) -> str:
    """The message of the ``SagaDefinitionError`` that building the saga raises."""
    with pytest.raises(SagaDefinitionError) as raised:
        build(*steps, **options)
    return str(raised.value)


# -- a well-formed saga ----------------------------------------------------------------------


def test_the_seed_shaped_saga_is_accepted() -> None:
    # Given compensatable -> pivot -> retriable, each step with what it needs
    # When it is built
    saga = build(create_workspace(), setup_billing(), send_welcome_email(), saga_id="onboard-{clientId}")

    # Then it is valid, and its steps keep their order
    assert [step.name for step in saga.all_steps()] == ["CreateWorkspace", "SetupBilling", "SendWelcomeEmail"]


# -- names ----------------------------------------------------------------------------------


def test_a_duplicate_step_name_is_refused() -> None:
    # Given two steps that run the same command
    # When the saga is built
    message = refusal(create_workspace(), create_workspace(on_failure=DeleteWorkspace))

    # Then the second one is named
    assert message.startswith("saga TestSaga: step CreateWorkspace: ")
    assert "duplicate step name 'CreateWorkspace'" in message


def test_a_parallel_group_cannot_share_a_step_name() -> None:
    group = ParallelGroup(
        name="CreateWorkspace",
        branches=(
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        ),
    )

    message = refusal(create_workspace(), group)

    assert message.startswith("saga TestSaga: parallel group CreateWorkspace: ")
    assert "duplicate step name" in message


@pytest.mark.parametrize(
    ("saga_name", "step", "expected"),
    [
        pytest.param(
            "onboardClientSaga",
            create_workspace(),
            "saga onboardClientSaga: name: 'onboardClientSaga' must be PascalCase",
            id="saga name",
        ),
        pytest.param(
            "TestSaga",
            create_workspace(command=Command("create_workspace", service="ai-workspace")),
            "saga TestSaga: step create_workspace: 'create_workspace' must be PascalCase",
            id="step name",
        ),
        pytest.param(
            "TestSaga",
            create_workspace(business_errors=("workspace_conflict",)),
            "saga TestSaga: step CreateWorkspace: business error 'workspace_conflict' must be an exception class name",
            id="business error",
        ),
    ],
)
def test_names_that_are_not_pascal_case_are_refused(saga_name: str, step: SagaStep, expected: str) -> None:
    # Given a saga, step or business error name in another case (Step Functions matches class names)
    # When the saga is built
    message = refusal(step, name=saga_name)

    # Then the message says where, and what is expected
    assert message.startswith(expected)


def test_a_parallel_group_name_that_is_not_pascal_case_is_refused() -> None:
    group = ParallelGroup(
        name="provision_accounts",
        branches=(
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        ),
    )

    message = refusal(create_workspace(), group)

    assert message.startswith("saga TestSaga: parallel group provision_accounts: ")
    assert "must be PascalCase" in message


@pytest.mark.parametrize("service", ["AiWorkspace", "ai_workspace", "ai--workspace", "-billing", "billing-"])
def test_a_service_name_that_is_not_kebab_case_is_refused(service: str) -> None:
    # Given a step whose command belongs to a badly named service
    step = create_workspace(command=Command("CreateWorkspace", service=service))

    # When the saga is built
    message = refusal(step)

    # Then the step and the service are named
    assert message.startswith("saga TestSaga: step CreateWorkspace: ")
    assert f"service {service!r} must be kebab-case" in message


def test_a_compensation_in_a_badly_named_service_is_refused_at_its_step() -> None:
    message = refusal(create_workspace(on_failure=Command("DeleteTenant", service="Clients")))

    assert message.startswith("saga TestSaga: step CreateWorkspace: ")
    assert "service 'Clients' must be kebab-case" in message


def test_a_service_whose_package_would_be_a_python_keyword_is_refused() -> None:
    # functions/<service>/ must be importable: "class" is kebab-case but not a package name
    message = refusal(create_workspace(command=Command("CreateWorkspace", service="class")))

    assert message.startswith("saga TestSaga: step CreateWorkspace: ")
    assert "Python keyword" in message


# -- references to the project (handlers and events) ----------------------------------------


def test_a_handler_that_does_not_exist_is_refused() -> None:
    # Given a project where no handler exists
    # When the saga is built
    message = refusal(create_workspace(), handler_exists=lambda command: False)

    # Then the first command is named, with the file the author must create
    assert message == (
        "saga TestSaga: command CreateWorkspace: handler "
        "functions.ai_workspace.handlers.create_workspace.handler does not exist "
        "(expected functions/ai_workspace/handlers/create_workspace.py)"
    )


def test_a_step_command_missing_from_the_project_is_refused() -> None:
    # Given the project's real checks, and a command nobody has written
    ProvisionGpu = Command("ProvisionGpu", service="ai-workspace")

    # When a saga names it
    message = refusal(create_workspace(command=ProvisionGpu), **PROJECT_CHECKS)

    # Then the missing handler file is named
    assert message.startswith("saga TestSaga: command ProvisionGpu: ")
    assert "expected functions/ai_workspace/handlers/provision_gpu.py" in message


def test_a_compensation_missing_from_the_project_is_refused() -> None:
    message = refusal(create_workspace(on_failure=Command("ArchiveTenant", service="clients")), **PROJECT_CHECKS)

    assert message.startswith("saga TestSaga: command ArchiveTenant: ")
    assert "expected functions/clients/handlers/archive_tenant.py" in message


def test_a_success_event_without_a_model_is_refused() -> None:
    # Given the project's real checks, and a success event that events/ does not define
    # When the saga is built
    message = refusal(create_workspace(on_success="WorkspaceProvisioned"), **PROJECT_CHECKS)

    # Then the step and the event are named
    assert (
        message == "saga TestSaga: step CreateWorkspace: success event 'WorkspaceProvisioned' has no model in events/"
    )


def test_a_trigger_without_a_model_is_refused() -> None:
    message = refusal(create_workspace(), trigger="ClientSignedUp", **PROJECT_CHECKS)

    assert message == "saga TestSaga: trigger: event 'ClientSignedUp' has no model in events/"


def test_the_project_checks_accept_the_seed_saga() -> None:
    # Every command and event of the seed's saga exists in the project, so this must not raise
    saga = build(create_workspace(), setup_billing(undo=RevertBilling), send_welcome_email(), **PROJECT_CHECKS)

    assert len(saga.commands()) == 6


# -- kinds: compensatable, pivot, retriable -------------------------------------------------


def test_a_compensatable_step_without_a_compensation_is_refused() -> None:
    # Given a compensatable step with neither on_failure nor undo
    # When the saga is built
    message = refusal(create_workspace(on_failure=None))

    # Then the step is named, and what it lacks
    assert message == "saga TestSaga: step CreateWorkspace: a compensatable step needs a compensation (on_failure)"


def test_a_pivot_without_a_compensation_is_refused() -> None:
    message = refusal(create_workspace(), setup_billing(on_failure=None))

    assert message == "saga TestSaga: step SetupBilling: a pivot step needs a compensation (on_failure)"


def test_a_retriable_step_before_the_pivot_is_refused() -> None:
    # Given a retriable step while the saga can still be compensated
    # When the saga is built
    message = refusal(create_workspace(), send_welcome_email(), setup_billing())

    # Then the retriable step is named
    assert message == "saga TestSaga: step SendWelcomeEmail: a retriable step cannot come before the pivot"


def test_a_saga_that_is_only_a_retriable_step_is_refused() -> None:
    message = refusal(send_welcome_email())

    assert message.startswith("saga TestSaga: step SendWelcomeEmail: ")
    assert "before the pivot" in message


def test_a_retriable_step_with_a_compensation_is_refused() -> None:
    message = refusal(create_workspace(), setup_billing(), send_welcome_email(on_failure=DeleteTenant))

    assert message.startswith("saga TestSaga: step SendWelcomeEmail: ")
    assert "never compensated" in message


def test_a_compensatable_step_after_the_pivot_is_refused() -> None:
    # Given a compensatable step after the go/no-go point
    late = SagaStep(command=CreateMailbox, on_success="MailboxCreated", on_failure=DeleteMailbox)

    # When the saga is built
    message = refusal(create_workspace(), setup_billing(), late)

    # Then that step is named
    assert message.startswith("saga TestSaga: step CreateMailbox: ")
    assert "steps after the pivot must be retriable" in message


def test_a_second_pivot_is_refused() -> None:
    # Given two pivots
    second = SagaStep(command=CreateMailbox, on_success="MailboxCreated", on_failure=DeleteMailbox, kind=StepKind.PIVOT)

    # When the saga is built
    message = refusal(create_workspace(), setup_billing(), second)

    # Then the second pivot is named
    assert message == "saga TestSaga: step CreateMailbox: a saga has at most one pivot"


def provision_accounts(kind: StepKind = StepKind.COMPENSATABLE) -> ParallelGroup:
    """Billing and a mailbox at the same time, each with its own undo."""
    return ParallelGroup(
        name="ProvisionAccounts",
        kind=kind,
        branches=(
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        ),
    )


#: A pivot that does not clash with the branches of ``provision_accounts``.
RESERVE_WORKSPACE = SagaStep(
    command=Command("ReserveWorkspace", service="ai-workspace"),
    on_success="WorkspaceReserved",
    on_failure=DeleteWorkspace,
    kind=StepKind.PIVOT,
)


def test_a_compensatable_parallel_group_after_the_pivot_is_refused() -> None:
    message = refusal(create_workspace(), RESERVE_WORKSPACE, provision_accounts(StepKind.COMPENSATABLE))

    assert message.startswith("saga TestSaga: parallel group ProvisionAccounts: ")
    assert "must be retriable" in message


def test_a_parallel_pivot_after_a_pivot_step_is_refused() -> None:
    message = refusal(create_workspace(), RESERVE_WORKSPACE, provision_accounts(StepKind.PIVOT))

    assert message.startswith("saga TestSaga: parallel group ProvisionAccounts: ")
    assert "at most one pivot" in message


def test_a_parallel_pivot_after_a_parallel_pivot_is_refused() -> None:
    second = ParallelGroup(
        name="ReserveDomains",
        kind=StepKind.PIVOT,
        branches=(
            SagaStep(
                command=Command("ReserveDomain", service="clients"), on_success="DomainReserved", undo=DeleteTenant
            ),
            SagaStep(
                command=SendWelcomeEmail, on_success="NotificationSent", undo=Command("Unsend", service="notifications")
            ),
        ),
    )

    message = refusal(create_workspace(), provision_accounts(StepKind.PIVOT), second)

    assert message == "saga TestSaga: parallel group ReserveDomains: a saga has at most one pivot"


def test_a_pivot_step_after_a_parallel_pivot_is_refused() -> None:
    message = refusal(create_workspace(), provision_accounts(StepKind.PIVOT), RESERVE_WORKSPACE)

    assert message == "saga TestSaga: step ReserveWorkspace: a saga has at most one pivot"


def test_a_compensatable_step_after_a_parallel_pivot_is_refused() -> None:
    late = SagaStep(
        command=Command("ReserveWorkspace", service="ai-workspace"),
        on_success="WorkspaceReserved",
        on_failure=DeleteWorkspace,
    )

    message = refusal(create_workspace(), provision_accounts(StepKind.PIVOT), late)

    assert message.startswith("saga TestSaga: step ReserveWorkspace: steps after the pivot must be retriable")


# -- parallel groups ------------------------------------------------------------------------


def welcome_pack(**changes: Any) -> ParallelGroup:
    """A retriable group: the welcome email and a mailbox, after the pivot, never compensated."""
    options: dict[str, Any] = {
        "name": "WelcomePack",
        "kind": StepKind.RETRIABLE,
        "branches": (
            send_welcome_email(),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated"),
        ),
    }
    return ParallelGroup(**{**options, **changes})


def test_a_retriable_parallel_group_after_the_pivot_is_accepted() -> None:
    # Given a retriable group whose branches leave their kind to the group (or repeat it)
    # When the saga is built
    saga = build(create_workspace(), setup_billing(), welcome_pack())

    # Then it is valid, and its branches count as steps
    assert [step.name for step in saga.all_steps()][-2:] == ["SendWelcomeEmail", "CreateMailbox"]


def test_a_retriable_parallel_group_before_the_pivot_is_refused() -> None:
    message = refusal(create_workspace(), welcome_pack(), setup_billing())

    assert message == "saga TestSaga: parallel group WelcomePack: a retriable group cannot come before the pivot"


def test_a_retriable_parallel_group_with_a_compensation_is_refused() -> None:
    message = refusal(create_workspace(), setup_billing(), welcome_pack(on_failure=DeleteMailbox))

    assert (
        message
        == "saga TestSaga: parallel group WelcomePack: a retriable group is never compensated; remove on_failure"
    )


def test_a_branch_of_a_retriable_group_with_an_undo_is_refused() -> None:
    group = welcome_pack(
        branches=(
            send_welcome_email(),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        )
    )

    message = refusal(create_workspace(), setup_billing(), group)

    assert message.startswith("saga TestSaga: step CreateMailbox: ")
    assert "never compensated" in message


def test_a_branch_cannot_have_a_kind_of_its_own() -> None:
    # Given a pivot branch inside a compensatable group: the group, not the branch, has the kind
    group = ParallelGroup(
        name="ProvisionAccounts",
        branches=(
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling, kind=StepKind.PIVOT),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        ),
    )

    message = refusal(create_workspace(), group)

    assert message.startswith(
        "saga TestSaga: step SetupBilling: a branch takes the kind of parallel group ProvisionAccounts"
    )


def test_a_parallel_branch_with_an_on_failure_of_its_own_is_refused() -> None:
    # The group's on_failure runs after the branches' undos; a branch's own would never run
    group = ParallelGroup(
        name="ProvisionAccounts",
        branches=(
            SagaStep(
                command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling, on_failure=DeleteWorkspace
            ),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
        ),
    )

    message = refusal(create_workspace(), group)

    assert message.startswith("saga TestSaga: step SetupBilling: a branch of parallel group ProvisionAccounts ")
    assert "set on_failure on the group" in message


def test_a_parallel_branch_without_an_undo_is_refused() -> None:
    # Given a branch that can only be compensated by the group's on_failure
    group = ParallelGroup(
        name="ProvisionAccounts",
        branches=(
            SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),
            SagaStep(command=CreateMailbox, on_success="MailboxCreated", on_failure=DeleteMailbox),
        ),
    )

    # When the saga is built
    message = refusal(create_workspace(), group)

    # Then the branch is named: it could not be undone when its sibling fails
    assert message.startswith("saga TestSaga: step CreateMailbox: ")
    assert "a branch of parallel group ProvisionAccounts needs an undo" in message


def test_a_parallel_group_of_one_branch_is_refused() -> None:
    group = ParallelGroup(
        name="ProvisionAccounts",
        branches=(SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),),
    )

    message = refusal(create_workspace(), group)

    assert message == "saga TestSaga: parallel group ProvisionAccounts: needs at least two branches"


# -- compensations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "where"),
    [
        pytest.param(
            (create_workspace(on_failure=Command("delete_tenant", service="clients")),),
            "step CreateWorkspace",
            id="on_failure",
        ),
        pytest.param(
            (create_workspace(), setup_billing(undo=Command("revertBilling", service="billing"))),
            "step SetupBilling",
            id="undo",
        ),
        pytest.param(
            (
                create_workspace(),
                ParallelGroup(
                    name="ProvisionAccounts",
                    on_failure=Command("delete-accounts", service="billing"),
                    branches=provision_accounts().branches,
                ),
            ),
            "parallel group ProvisionAccounts",
            id="group on_failure",
        ),
    ],
)
def test_a_compensation_name_that_is_not_pascal_case_is_refused(steps: tuple[Any, ...], where: str) -> None:
    # A compensation is a state and a handler module, like a step: its name is PascalCase
    message = refusal(*steps)

    assert message.startswith(f"saga TestSaga: {where}: compensation ")
    assert "must be PascalCase" in message


def test_a_group_compensation_in_a_badly_named_service_is_refused() -> None:
    group = ParallelGroup(
        name="ProvisionAccounts",
        on_failure=Command("DeleteAccounts", service="Billing"),
        branches=provision_accounts().branches,
    )

    message = refusal(create_workspace(), group)

    assert message.startswith("saga TestSaga: parallel group ProvisionAccounts: ")
    assert "service 'Billing' must be kebab-case" in message


def test_one_compensation_for_two_steps_is_refused_naming_both() -> None:
    # Given two steps that both name DeleteTenant: it would be one state with two successors
    message = refusal(create_workspace(), setup_billing(on_failure=DeleteTenant))

    # Then the second step is named, and the first
    assert message == (
        "saga TestSaga: step SetupBilling: compensation DeleteTenant is also used by step CreateWorkspace; "
        "each on_failure/undo must be a distinct command"
    )


def test_one_compensation_for_a_branch_and_its_group_is_refused() -> None:
    group = ParallelGroup(name="ProvisionAccounts", on_failure=DeleteMailbox, branches=provision_accounts().branches)

    message = refusal(create_workspace(), group)

    assert message.startswith("saga TestSaga: parallel group ProvisionAccounts: compensation DeleteMailbox ")
    assert "also used by step CreateMailbox" in message


def test_one_compensation_as_undo_and_on_failure_of_a_step_is_refused() -> None:
    message = refusal(create_workspace(undo=DeleteTenant))

    assert (
        message == "saga TestSaga: step CreateWorkspace: compensation DeleteTenant is both the undo and the on_failure"
    )


def test_a_compensation_named_like_a_step_is_refused() -> None:
    message = refusal(create_workspace(), setup_billing(undo=CreateWorkspace))

    assert message.startswith("saga TestSaga: step SetupBilling: compensation CreateWorkspace has the name of a step")


def test_the_same_compensation_object_used_once_is_accepted() -> None:
    # The onboarding saga's RevertTenant is DeleteTenant under another name: one use, one state
    saga = build(create_workspace(on_failure=onboard_client.RevertTenant), setup_billing())

    assert saga.compensation_order("SetupBilling") == ["DeleteWorkspace", "DeleteTenant"]


# -- saga id --------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["onboard", "onboard-{}", "onboard-{client-id}", "onboard-{0}"])
def test_a_saga_id_template_that_names_no_detail_field_is_refused(template: str) -> None:
    # Given a saga id that would be the same for every client (or cannot be filled in)
    # When the saga is built
    message = refusal(create_workspace(), saga_id=template)

    # Then the saga and the saga_id option are named
    assert message.startswith("saga TestSaga: saga_id: ")
    assert "must name detail fields" in message


# -- compensation order (the seed's table) --------------------------------------------------


def test_a_failure_at_the_first_step_discards_the_workspace_then_deletes_the_tenant() -> None:
    # An uncertain failure: the workspace may have been written, so the step's own undo runs first
    assert OnboardClientSaga.compensation_order("CreateWorkspace") == ["DiscardWorkspace", "DeleteTenant"]


def test_an_uncertain_failure_at_billing_reverts_billing_then_unwinds_every_earlier_step() -> None:
    # Given SetupBilling timed out, so its write may have landed
    # When the saga compensates
    order = OnboardClientSaga.compensation_order("SetupBilling")

    # Then billing is reverted first, then the seed's onFailure of steps 2 and 1, latest first
    assert order == ["RevertBilling", "DeleteWorkspace", "DeleteTenant"]


def test_compensation_order_of_an_unknown_step_names_the_saga() -> None:
    with pytest.raises(KeyError, match="saga OnboardClientSaga has no step 'SetupBiling'"):
        OnboardClientSaga.compensation_order("SetupBiling")


def test_a_failed_parallel_branch_undoes_every_branch_before_the_earlier_steps() -> None:
    saga = build(create_workspace(), provision_accounts(StepKind.PIVOT))

    order = saga.compensation_order("CreateMailbox")

    assert sorted(order[:2]) == ["DeleteMailbox", "RevertBilling"]
    assert order[2:] == ["DeleteTenant"]


@pytest.mark.parametrize("failed", ["SetupBilling", "CreateMailbox"])
def test_a_failed_branch_undoes_the_last_branch_first_then_the_group_then_the_earlier_steps(failed: str) -> None:
    # Given a group with its own on_failure, after a compensatable step
    group = ParallelGroup(
        name="ProvisionAccounts",
        kind=StepKind.PIVOT,
        on_failure=Command("DeleteAccounts", service="billing"),
        branches=provision_accounts().branches,
    )
    saga = build(create_workspace(), group, send_welcome_email())

    # When either branch fails, whatever the error
    order = saga.compensation_order(failed)

    # Then every branch's undo runs, the last branch's first, then the group's, then the earlier ones'
    assert order == ["DeleteMailbox", "RevertBilling", "DeleteAccounts", "DeleteTenant"]


def test_a_retriable_step_is_never_compensated() -> None:
    # SendWelcomeEmail comes after the pivot: it is retried until it succeeds, never compensated
    assert OnboardClientSaga.compensation_order("SendWelcomeEmail") == []


def test_a_branch_of_a_retriable_group_is_never_compensated() -> None:
    saga = build(create_workspace(), setup_billing(), welcome_pack())

    assert saga.compensation_order("CreateMailbox") == []
    assert saga.compensation_order("SendWelcomeEmail") == []


# -- commands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "handler"),
    [
        (onboard_client.CreateWorkspace, "functions.ai_workspace.handlers.create_workspace.handler"),
        (onboard_client.SetupBilling, "functions.billing.handlers.setup_billing.handler"),
        (onboard_client.SendWelcomeEmail, "functions.notifications.handlers.send_welcome_email.handler"),
        (onboard_client.DeleteTenant, "functions.clients.handlers.delete_tenant.handler"),
        (onboard_client.DeleteWorkspace, "functions.ai_workspace.handlers.delete_workspace.handler"),
        (onboard_client.RevertBilling, "functions.billing.handlers.revert_billing.handler"),
    ],
    ids=lambda value: value.name if isinstance(value, Command) else "",
)
def test_a_command_is_handled_by_its_services_snake_case_module(command: Command, handler: str) -> None:
    # The Lambda Handler string; a kebab-case service becomes a package with underscores
    assert command.handler == handler


@pytest.mark.parametrize("command", OnboardClientSaga.commands(), ids=lambda command: command.name)
def test_every_command_of_the_onboarding_saga_has_a_handler_file(command: Command) -> None:
    assert command.source_file(ROOT).is_file(), f"{command.name}: {command.source_file(ROOT)} is missing"


def test_revert_tenant_is_the_seeds_other_name_for_delete_tenant() -> None:
    # The seed's skeleton says RevertTenant, its table DeleteTenant: both name one compensation
    assert onboard_client.RevertTenant is onboard_client.DeleteTenant
    assert OnboardClientSaga.step("CreateWorkspace").on_failure is onboard_client.RevertTenant
    assert "RevertTenant" not in {command.name for command in OnboardClientSaga.commands()}
