"""What the ai-workspace service decides: create a client's workspace once, delete it only
for the saga that created it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from events.ai_workspace import WorkspaceCreated, WorkspaceDeleted, WorkspaceDiscarded
from functions.ai_workspace import SERVICE, dal
from functions.ai_workspace.errors import WorkspaceConflict
from functions.ai_workspace.models import WorkspaceRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome
from functions.shared.ids import derive_id

if TYPE_CHECKING:
    from functions.ai_workspace.models import (
        CreateWorkspaceCommand,
        DeleteWorkspaceCommand,
        DiscardWorkspaceCommand,
    )

__all__ = ["create_workspace", "delete_workspace", "discard_workspace"]

logger = Logger(service=SERVICE)


def create_workspace(command: CreateWorkspaceCommand) -> WorkspaceCreated:
    """Create the client's workspace; a replay of the same saga returns the stored one.

    Raises
    ------
    WorkspaceConflict
        The client already has a workspace created by another saga.
    """
    client_id = command.detail.client_id
    record = WorkspaceRecord(
        client_id=client_id,
        workspace_id=derive_id("ws", command.saga_id),
        saga_id=command.saga_id,
        created_at=datetime.now(UTC),
    )
    outcome, stored = dal.create_workspace(record)
    if outcome is ClaimOutcome.CONFLICT:
        raise WorkspaceConflict(
            f"client {client_id} already has workspace {stored.workspace_id} owned by saga {stored.saga_id}"
        )
    if outcome is ClaimOutcome.REPLAYED:
        logger.info("workspace already created by this saga", extra={"workspace_id": stored.workspace_id})
    return WorkspaceCreated(client_id=stored.client_id, workspace_id=stored.workspace_id, created_at=stored.created_at)


def _release(client_id: str, saga_id: str) -> tuple[bool, str | None]:
    """Delete the workspace ``saga_id`` created, if any: (deleted, its id)."""
    outcome, stored = dal.delete_workspace(client_id, saga_id)
    if outcome is ReleaseOutcome.KEPT and stored is not None:
        logger.warning(
            "workspace belongs to another saga; left in place",
            extra={"workspace_id": stored.workspace_id, "owner": stored.saga_id},
        )
    deleted = outcome is ReleaseOutcome.DELETED
    return deleted, stored.workspace_id if deleted and stored else None


def delete_workspace(command: DeleteWorkspaceCommand) -> WorkspaceDeleted:
    """Delete the workspace this saga created; a no-op (``deleted=False``) if there is none or
    another saga owns it."""
    deleted, workspace_id = _release(command.detail.client_id, command.saga_id)
    return WorkspaceDeleted(client_id=command.detail.client_id, workspace_id=workspace_id, deleted=deleted)


def discard_workspace(command: DiscardWorkspaceCommand) -> WorkspaceDiscarded:
    """Undo ``CreateWorkspace`` after it failed with an uncertain outcome (its write may have
    landed): the same conditional delete as ``delete_workspace``, under the step's own name."""
    discarded, workspace_id = _release(command.detail.client_id, command.saga_id)
    return WorkspaceDiscarded(client_id=command.detail.client_id, workspace_id=workspace_id, discarded=discarded)
