"""Events of the billing service."""

from __future__ import annotations

from typing import Final

from events.fields import ClientId, ErrorName, Plan, ResourceId, SagaId, Timestamp
from sagakit.runtime import CamelModel

__all__ = ["MODELS", "SOURCE", "BillingProfileCreated", "BillingReverted", "BillingSetupFailed"]

SOURCE: Final = "billing"


class BillingProfileCreated(CamelModel):
    """The client has a billing profile on its plan; success event of ``SetupBilling``."""

    client_id: ClientId
    billing_profile_id: ResourceId
    plan: Plan
    created_at: Timestamp


class BillingReverted(CamelModel):
    """Result of ``RevertBilling``; ``reverted`` is false when this saga owned no profile."""

    client_id: ClientId
    billing_profile_id: ResourceId | None = None
    reverted: bool


class BillingSetupFailed(CamelModel):
    """``SetupBilling`` refused (``BillingDeclined``) or failed (choreography's failure signal)."""

    client_id: ClientId
    saga_id: SagaId
    error: ErrorName
    reason: str


MODELS: Final[tuple[type[CamelModel], ...]] = (BillingProfileCreated, BillingReverted, BillingSetupFailed)
