"""Events of the notifications service."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from events.fields import (
    ClientId,
    EmailAddress,
    ErrorName,
    ResourceId,
    SagaId,
    Timestamp,
)
from sagakit.runtime import CamelModel

__all__ = ["MODELS", "SOURCE", "NotificationFailed", "NotificationSent"]

SOURCE: Final = "notifications"


class NotificationSent(CamelModel):
    """A message went out to the client; success event of ``SendWelcomeEmail``."""

    client_id: ClientId
    notification_id: ResourceId
    recipient: EmailAddress
    template: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    sent_at: Timestamp


class NotificationFailed(CamelModel):
    """A notification could not be sent (choreography's failure signal)."""

    client_id: ClientId
    saga_id: SagaId
    error: ErrorName
    reason: str


MODELS: Final[tuple[type[CamelModel], ...]] = (NotificationSent, NotificationFailed)
