"""Commands the clients service accepts, the record it stores and its settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, field_validator

from events.clients import ClientOnboarded
from events.fields import ClientId, CompanyName, EmailAddress, Plan, Timestamp
from functions.shared.settings import TableSettings
from sagakit.runtime import CamelModel, SagaCommand

__all__ = ["ClientsSettings", "DeleteTenantCommand", "OnboardClientResult", "TenantRecord"]

_TIMESTAMP = TypeAdapter(AwareDatetime)


class DeleteTenantCommand(SagaCommand[ClientOnboarded]):
    """Input of ``DeleteTenant``, the compensation of the saga's first step."""


class OnboardClientResult(CamelModel):
    """What ``OnboardClient`` returns: the client and the id of the published event."""

    client_id: ClientId
    event_id: str


class TenantRecord(CamelModel):
    """A client (tenant), as stored in the clients table (one per client id).

    The tenant is owned by its onboarding, identified by ``onboarded_at``: the saga that
    compensates that onboarding may delete it, a later onboarding's record is left alone.
    """

    # A stored item may carry attributes a newer version added; reading it must not fail.
    model_config = ConfigDict(extra="ignore")

    client_id: ClientId
    company_name: CompanyName
    contact_email: EmailAddress
    plan: Plan
    onboarded_at: Timestamp = Field(description="In UTC, so the stored text is canonical.")
    status: Literal["ACTIVE"] = "ACTIVE"

    @field_validator("onboarded_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # The owner check compares stored text, and one instant has many offset spellings.
        return value.astimezone(UTC)

    @staticmethod
    def owner_token(onboarded_at: datetime) -> str:
        """The stored ``onboardedAt`` text of the onboarding at ``onboarded_at``."""
        return str(_TIMESTAMP.dump_python(onboarded_at.astimezone(UTC), mode="json"))


class ClientsSettings(TableSettings):
    """The clients table and the bus ``ClientOnboarded`` is published on."""

    EVENT_BUS_NAME: str = Field(min_length=1, max_length=256)
