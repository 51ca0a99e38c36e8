"""The billing table: one billing profile per client, owned by the saga that made it."""

from __future__ import annotations

from typing import Final

from functions.billing.models import BillingProfileRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome, SagaRecords
from functions.shared.settings import TableSettings
from sagakit.runtime import load_settings

__all__ = ["PARTITION_KEY", "create_billing_profile", "delete_billing_profile"]

#: The table's only key; the CDK stack and the tests build the table from it.
PARTITION_KEY: Final = "clientId"


def _profiles() -> SagaRecords:
    return SagaRecords(load_settings(TableSettings).TABLE_NAME, key=PARTITION_KEY)


def create_billing_profile(record: BillingProfileRecord) -> tuple[ClaimOutcome, BillingProfileRecord]:
    """Store ``record`` unless the client has a profile; return the outcome and what is stored."""
    claim = _profiles().claim(record.model_dump(mode="json", by_alias=True))
    return claim.outcome, BillingProfileRecord.model_validate(claim.record)


def delete_billing_profile(client_id: str, saga_id: str) -> tuple[ReleaseOutcome, BillingProfileRecord | None]:
    """Delete the client's profile if ``saga_id`` owns it; return the outcome and the record."""
    release = _profiles().release(client_id, saga_id)
    return release.outcome, None if release.record is None else BillingProfileRecord.model_validate(release.record)
