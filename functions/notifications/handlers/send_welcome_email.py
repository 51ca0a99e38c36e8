"""Lambda entry point of ``SendWelcomeEmail``."""

from __future__ import annotations

from events.notifications import NotificationSent
from functions.notifications import SERVICE, logic
from functions.notifications.models import SendWelcomeEmailCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=SendWelcomeEmailCommand)
def handler(command: SendWelcomeEmailCommand) -> NotificationSent:
    """Send the onboarded client's welcome e-mail."""
    return logic.send_welcome_email(command)
