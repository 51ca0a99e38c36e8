"""OnboardClientSaga: the seed's client-onboarding saga (section 5).

| Step | Command          | Service       | Success event         | onFailure       |
|------|------------------|---------------|-----------------------|-----------------|
| 1    | CreateWorkspace  | ai-workspace  | WorkspaceCreated      | DeleteTenant    |
| 2    | SetupBilling     | billing       | BillingProfileCreated | DeleteWorkspace |
| 3    | SendWelcomeEmail | notifications | NotificationSent      | N/A (retriable) |

The seed's skeleton names step 1's compensation ``RevertTenant``; its table says
``DeleteTenant``. We use ``DeleteTenant``; ``RevertTenant`` is an alias for it below.

The table is what a *business* failure (a clean refusal) runs. A step that fails with an
uncertain outcome (a timeout, a lost reply: its write may have landed) runs its own ``undo``
first: ``DiscardWorkspace`` for step 1, ``RevertBilling`` for step 2. In choreography the same
undo also removes what a step wrote when it finished after its saga had already ended.
"""

from __future__ import annotations

from sagakit.definition import Command, RetryPolicy, Saga, SagaStep, StepKind
from statemachines._project import event_exists, handler_exists

CreateWorkspace = Command("CreateWorkspace", service="ai-workspace")
SetupBilling = Command("SetupBilling", service="billing")
SendWelcomeEmail = Command("SendWelcomeEmail", service="notifications")

DeleteTenant = Command("DeleteTenant", service="clients")
RevertTenant = DeleteTenant  # the seed skeleton's name for the same compensation
DeleteWorkspace = Command("DeleteWorkspace", service="ai-workspace")
RevertBilling = Command("RevertBilling", service="billing")
DiscardWorkspace = Command("DiscardWorkspace", service="ai-workspace")

OnboardClientSaga = Saga(
    name="OnboardClientSaga",
    trigger="ClientOnboarded",
    saga_id="onboard-{clientId}",
    description="Onboard a new client: workspace, billing profile, welcome email.",
    version="1",
    deadline_seconds=3600,
    steps=(
        SagaStep(
            command=CreateWorkspace,
            on_success="WorkspaceCreated",
            on_failure=DeleteTenant,
            undo=DiscardWorkspace,
            business_errors=("WorkspaceConflict",),
            timeout_seconds=30,
        ),
        SagaStep(
            command=SetupBilling,
            on_success="BillingProfileCreated",
            on_failure=DeleteWorkspace,
            undo=RevertBilling,
            kind=StepKind.PIVOT,
            business_errors=("BillingDeclined", "BillingConflict"),
            timeout_seconds=30,
        ),
        SagaStep(
            command=SendWelcomeEmail,
            on_success="NotificationSent",
            kind=StepKind.RETRIABLE,
            retry=RetryPolicy.until_success(interval_seconds=2, max_delay_seconds=300),
            timeout_seconds=30,
        ),
    ),
    handler_exists=handler_exists,
    event_exists=event_exists,
)
