"""What the notifications service decides: welcome each client exactly once.

No mail leaves the system yet: sending *is* recording the message in the notifications table,
which is what a mail provider adapter would do after its call succeeds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools import Logger

from events.notifications import NotificationSent
from functions.notifications import SERVICE, dal
from functions.notifications.models import NotificationRecord, NotificationsSettings
from functions.shared.dal import ClaimOutcome
from functions.shared.ids import derive_id
from sagakit.runtime import load_settings

if TYPE_CHECKING:
    from functions.notifications.models import SendWelcomeEmailCommand

__all__ = ["WELCOME_TEMPLATE", "send_welcome_email"]

#: The template of the welcome e-mail.
WELCOME_TEMPLATE: Final = "welcome"

logger = Logger(service=SERVICE)


def send_welcome_email(command: SendWelcomeEmailCommand) -> NotificationSent:
    """Send the welcome e-mail to the client's contact; a replay returns the stored one.

    A client is welcomed once. If another saga already welcomed it, that e-mail is returned
    rather than an error: this step is retried until it succeeds, so a refusal would only
    stall the saga, and a second welcome would be worse than none.
    """
    detail = command.detail
    record = NotificationRecord(
        client_id=detail.client_id,
        notification_id=derive_id("ntf", command.saga_id, WELCOME_TEMPLATE),
        saga_id=command.saga_id,
        template=WELCOME_TEMPLATE,
        sender=load_settings(NotificationsSettings).SENDER_ADDRESS,
        recipient=detail.contact_email,
        subject=f"Welcome aboard, {detail.company_name}",
        sent_at=datetime.now(UTC),
    )
    outcome, stored = dal.record_notification(record)
    if outcome is ClaimOutcome.REPLAYED:
        logger.info("welcome e-mail already sent by this saga", extra={"notification_id": stored.notification_id})
    elif outcome is ClaimOutcome.CONFLICT:
        logger.warning(
            "client already welcomed by another saga; not sending again",
            extra={"notification_id": stored.notification_id, "owner": stored.saga_id},
        )
    return NotificationSent(
        client_id=stored.client_id,
        notification_id=stored.notification_id,
        recipient=stored.recipient,
        template=stored.template,
        sent_at=stored.sent_at,
    )
