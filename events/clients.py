"""Events of the clients service: the onboarding trigger and the tenant compensation."""

from __future__ import annotations

from typing import Final

from events.fields import (
    ClientId,
    CompanyName,
    EmailAddress,
    PaymentMethodId,
    Plan,
    Timestamp,
)
from sagakit.runtime import CamelModel

__all__ = ["MODELS", "SOURCE", "ClientOnboarded", "ClientOnboardedChoreography", "TenantDeleted"]

SOURCE: Final = "clients"


class ClientOnboarded(CamelModel):
    """A client signed up; the trigger of ``OnboardClientSaga``."""

    client_id: ClientId
    company_name: CompanyName
    contact_email: EmailAddress
    plan: Plan
    payment_method: PaymentMethodId
    onboarded_at: Timestamp


class ClientOnboardedChoreography(ClientOnboarded):
    """The same onboarding, for the choreographed saga (``OnboardClientChoreographySaga``).

    Its own detail-type, so that one event never starts both styles of the onboarding saga:
    the orchestrated saga's rule matches ``ClientOnboarded`` only, this saga's rule this name only.
    """


class TenantDeleted(CamelModel):
    """The tenant record was removed (``deleted`` is false when there was nothing to remove)."""

    client_id: ClientId
    deleted: bool


MODELS: Final[tuple[type[CamelModel], ...]] = (ClientOnboarded, ClientOnboardedChoreography, TenantDeleted)
