"""The notifications table: the welcome e-mail sent to each client."""

from __future__ import annotations

from typing import Final

from functions.notifications.models import NotificationRecord, NotificationsSettings
from functions.shared.dal import ClaimOutcome, SagaRecords
from sagakit.runtime import load_settings

__all__ = ["PARTITION_KEY", "record_notification"]

#: The table's only key; the CDK stack and the tests build the table from it.
PARTITION_KEY: Final = "clientId"


def record_notification(record: NotificationRecord) -> tuple[ClaimOutcome, NotificationRecord]:
    """Store ``record`` unless the client was already sent one; return the outcome and what
    is stored."""
    table = SagaRecords(load_settings(NotificationsSettings).TABLE_NAME, key=PARTITION_KEY)
    claim = table.claim(record.model_dump(mode="json", by_alias=True))
    return claim.outcome, NotificationRecord.model_validate(claim.record)
