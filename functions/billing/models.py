"""Commands the billing service accepts and the record it stores."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from events.clients import ClientOnboarded
from events.fields import ClientId, PaymentMethodId, Plan, ResourceId, SagaId, Timestamp
from sagakit.runtime import CamelModel, SagaCommand

__all__ = ["BillingProfileRecord", "RevertBillingCommand", "SetupBillingCommand"]


class SetupBillingCommand(SagaCommand[ClientOnboarded]):
    """Input of ``SetupBilling``: the onboarded client; ``results`` holds ``WorkspaceCreated``."""


class RevertBillingCommand(SagaCommand[ClientOnboarded]):
    """Input of ``RevertBilling``, the billing step's own undo."""


class BillingProfileRecord(CamelModel):
    """A client's billing profile, as stored in the billing table (one per client)."""

    # A stored item may carry attributes a newer version added; reading it must not fail.
    model_config = ConfigDict(extra="ignore")

    client_id: ClientId
    billing_profile_id: ResourceId
    saga_id: SagaId
    workspace_id: ResourceId
    plan: Plan
    payment_method: PaymentMethodId
    created_at: Timestamp
    status: Literal["ACTIVE"] = "ACTIVE"
