"""Commands the ai-workspace service accepts and the record it stores."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from events.clients import ClientOnboarded
from events.fields import ClientId, ResourceId, SagaId, Timestamp
from sagakit.runtime import CamelModel, SagaCommand

__all__ = ["CreateWorkspaceCommand", "DeleteWorkspaceCommand", "DiscardWorkspaceCommand", "WorkspaceRecord"]


class CreateWorkspaceCommand(SagaCommand[ClientOnboarded]):
    """Input of ``CreateWorkspace``: the onboarded client."""


class DeleteWorkspaceCommand(SagaCommand[ClientOnboarded]):
    """Input of ``DeleteWorkspace``, the compensation of this and later steps."""


class DiscardWorkspaceCommand(SagaCommand[ClientOnboarded]):
    """Input of ``DiscardWorkspace``, the undo of ``CreateWorkspace`` after an uncertain failure."""


class WorkspaceRecord(CamelModel):
    """A client's workspace, as stored in the ai-workspace table (one per client)."""

    # A stored item may carry attributes a newer version added; reading it must not fail.
    model_config = ConfigDict(extra="ignore")

    client_id: ClientId
    workspace_id: ResourceId
    saga_id: SagaId
    created_at: Timestamp
    status: Literal["ACTIVE"] = "ACTIVE"
