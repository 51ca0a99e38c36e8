"""Sagas built only for the picture tests (no handler files needed: no project checks)."""

from __future__ import annotations

from sagakit.definition import Command, ParallelGroup, RetryPolicy, Saga, SagaStep, StepKind

CreateWorkspace = Command("CreateWorkspace", service="ai-workspace")
DeleteTenant = Command("DeleteTenant", service="clients")
SetupBilling = Command("SetupBilling", service="billing")
RevertBilling = Command("RevertBilling", service="billing")
CreateMailbox = Command("CreateMailbox", service="notifications")
DeleteMailbox = Command("DeleteMailbox", service="notifications")
DeleteWorkspace = Command("DeleteWorkspace", service="ai-workspace")
ReserveDomain = Command("ReserveDomain", service="clients")
ReleaseDomain = Command("ReleaseDomain", service="clients")
SendWelcomeEmail = Command("SendWelcomeEmail", service="notifications")
IndexClient = Command("IndexClient", service="clients")

#: A compensatable step, a compensatable parallel group, a pivot, then a retriable group.
ProvisionSaga = Saga(
    name="ProvisionSaga",
    trigger="ClientOnboarded",
    steps=(
        SagaStep(command=CreateWorkspace, on_success="WorkspaceCreated", on_failure=DeleteTenant),
        ParallelGroup(
            name="ProvisionAccounts",
            on_failure=DeleteWorkspace,
            branches=(
                SagaStep(command=SetupBilling, on_success="BillingProfileCreated", undo=RevertBilling),
                SagaStep(command=CreateMailbox, on_success="MailboxCreated", undo=DeleteMailbox),
            ),
        ),
        SagaStep(
            command=ReserveDomain,
            on_success="DomainReserved",
            undo=ReleaseDomain,
            kind=StepKind.PIVOT,
            business_errors=("DomainTaken",),
        ),
        ParallelGroup(
            name="Announce",
            kind=StepKind.RETRIABLE,
            branches=(
                SagaStep(command=SendWelcomeEmail, on_success="NotificationSent", retry=RetryPolicy.until_success()),
                SagaStep(command=IndexClient, on_success="ClientIndexed", retry=RetryPolicy.until_success()),
            ),
        ),
    ),
)
