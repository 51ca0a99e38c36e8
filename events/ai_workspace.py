"""Events of the ai-workspace service."""

from __future__ import annotations

from typing import Final

from events.fields import ClientId, ErrorName, ResourceId, SagaId, Timestamp
from sagakit.runtime import CamelModel

__all__ = [
    "MODELS",
    "SOURCE",
    "WorkspaceCreated",
    "WorkspaceCreationFailed",
    "WorkspaceDeleted",
    "WorkspaceDiscarded",
]

SOURCE: Final = "ai-workspace"


class WorkspaceCreated(CamelModel):
    """The client's workspace exists; success event of ``CreateWorkspace``."""

    client_id: ClientId
    workspace_id: ResourceId
    created_at: Timestamp


class WorkspaceDeleted(CamelModel):
    """Result of ``DeleteWorkspace``; ``deleted`` is false when this saga owned no workspace."""

    client_id: ClientId
    workspace_id: ResourceId | None = None
    deleted: bool


class WorkspaceDiscarded(CamelModel):
    """Result of ``DiscardWorkspace``, the workspace step's own undo; ``discarded`` is false when
    this saga owned no workspace (the step never wrote, or its write was already undone)."""

    client_id: ClientId
    workspace_id: ResourceId | None = None
    discarded: bool


class WorkspaceCreationFailed(CamelModel):
    """``CreateWorkspace`` refused or failed (choreography's failure signal)."""

    client_id: ClientId
    saga_id: SagaId
    error: ErrorName
    reason: str


MODELS: Final[tuple[type[CamelModel], ...]] = (
    WorkspaceCreated,
    WorkspaceDeleted,
    WorkspaceDiscarded,
    WorkspaceCreationFailed,
)
