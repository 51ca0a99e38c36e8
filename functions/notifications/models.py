"""Commands the notifications service accepts, the record it stores and its settings."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from events.clients import ClientOnboarded
from events.fields import ClientId, EmailAddress, ResourceId, SagaId, Timestamp
from functions.shared.settings import TableSettings
from sagakit.runtime import CamelModel, SagaCommand

__all__ = ["NotificationRecord", "NotificationsSettings", "SendWelcomeEmailCommand"]


class SendWelcomeEmailCommand(SagaCommand[ClientOnboarded]):
    """Input of ``SendWelcomeEmail``: the onboarded client."""


class NotificationRecord(CamelModel):
    """An e-mail sent to a client, as stored in the notifications table (one per client)."""

    # A stored item may carry attributes a newer version added; reading it must not fail.
    model_config = ConfigDict(extra="ignore")

    client_id: ClientId
    notification_id: ResourceId
    saga_id: SagaId
    template: str
    sender: EmailAddress
    recipient: EmailAddress
    subject: str
    sent_at: Timestamp
    status: Literal["SENT"] = "SENT"


class NotificationsSettings(TableSettings):
    """The notifications table and the address e-mails are sent from."""

    SENDER_ADDRESS: EmailAddress
