"""OnboardClientChoreographySaga: the onboarding saga, choreographed.

The same steps, commands, compensations and error semantics as ``OnboardClientSaga`` (it *is*
that definition, copied with ``dataclasses.replace``), deployed as EventBridge rules between the
same Lambda functions instead of a state machine (``sagakit.choreography``)::

    ClientOnboardedChoreography -> CreateWorkspace -> WorkspaceCreated -> SetupBilling
      -> BillingProfileCreated -> SendWelcomeEmail -> NotificationSent -> SagaCompleted

Two things differ, and only these:

* The trigger is ``ClientOnboardedChoreography``, not ``ClientOnboarded``: one event must never
  start both sagas, and a distinct detail-type keeps the orchestrated saga's rule untouched.
* The saga id is ``choreo-onboard-{clientId}``: an id names one instance record and one
  idempotency key per step, so the two styles never share them for the same client.
"""

from __future__ import annotations

import dataclasses

from sagakit.definition import SagaStyle
from statemachines.onboard_client import OnboardClientSaga

OnboardClientChoreographySaga = dataclasses.replace(
    OnboardClientSaga,
    name="OnboardClientChoreographySaga",
    trigger="ClientOnboardedChoreography",
    saga_id="choreo-onboard-{clientId}",
    description="Onboard a new client, choreographed: workspace, billing profile, welcome email.",
    style=SagaStyle.CHOREOGRAPHY,
)
