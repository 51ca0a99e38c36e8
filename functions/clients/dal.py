"""The clients table (one tenant per client id) and the event bus the service publishes on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from functions.clients.models import ClientsSettings, TenantRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome, SagaRecords, publish
from functions.shared.settings import TableSettings
from sagakit.runtime import load_settings

if TYPE_CHECKING:
    from datetime import datetime

    from events.clients import ClientOnboarded

__all__ = ["OWNER_ATTRIBUTE", "PARTITION_KEY", "create_tenant", "delete_tenant", "publish_client_onboarded"]

#: The table's only key; the CDK stack and the tests build the table from it.
PARTITION_KEY: Final = "clientId"
#: A tenant belongs to its onboarding, not to a saga: the clients service writes it before
#: any saga starts.
OWNER_ATTRIBUTE: Final = "onboardedAt"


def _tenants() -> SagaRecords:
    return SagaRecords(load_settings(TableSettings).TABLE_NAME, key=PARTITION_KEY, owner=OWNER_ATTRIBUTE)


def create_tenant(record: TenantRecord) -> tuple[ClaimOutcome, TenantRecord]:
    """Store ``record`` unless the client id is taken; return the outcome and what is stored."""
    claim = _tenants().claim(record.model_dump(mode="json", by_alias=True))
    return claim.outcome, TenantRecord.model_validate(claim.record)


def delete_tenant(client_id: str, onboarded_at: datetime) -> tuple[ReleaseOutcome, TenantRecord | None]:
    """Delete the tenant if it is the one onboarded at ``onboarded_at``."""
    release = _tenants().release(client_id, TenantRecord.owner_token(onboarded_at))
    return release.outcome, None if release.record is None else TenantRecord.model_validate(release.record)


def publish_client_onboarded(event: ClientOnboarded) -> str:
    """Put ``ClientOnboarded`` on the service's bus; return the EventBridge event id."""
    return publish(event, bus_name=load_settings(ClientsSettings).EVENT_BUS_NAME)
