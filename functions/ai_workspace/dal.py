"""The ai-workspace table: one workspace record per client, owned by the saga that made it."""

from __future__ import annotations

from typing import Final

from functions.ai_workspace.models import WorkspaceRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome, SagaRecords
from functions.shared.settings import TableSettings
from sagakit.runtime import load_settings

__all__ = ["PARTITION_KEY", "create_workspace", "delete_workspace"]

#: The table's only key; the CDK stack and the tests build the table from it.
PARTITION_KEY: Final = "clientId"


def _workspaces() -> SagaRecords:
    return SagaRecords(load_settings(TableSettings).TABLE_NAME, key=PARTITION_KEY)


def create_workspace(record: WorkspaceRecord) -> tuple[ClaimOutcome, WorkspaceRecord]:
    """Store ``record`` unless the client has a workspace; return the outcome and what is stored."""
    claim = _workspaces().claim(record.model_dump(mode="json", by_alias=True))
    return claim.outcome, WorkspaceRecord.model_validate(claim.record)


def delete_workspace(client_id: str, saga_id: str) -> tuple[ReleaseOutcome, WorkspaceRecord | None]:
    """Delete the client's workspace if ``saga_id`` owns it; return the outcome and the record."""
    release = _workspaces().release(client_id, saga_id)
    return release.outcome, None if release.record is None else WorkspaceRecord.model_validate(release.record)
