"""Lambda entry point of ``DeleteWorkspace`` (a compensation)."""

from __future__ import annotations

from events.ai_workspace import WorkspaceDeleted
from functions.ai_workspace import SERVICE, logic
from functions.ai_workspace.models import DeleteWorkspaceCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=DeleteWorkspaceCommand)
def handler(command: DeleteWorkspaceCommand) -> WorkspaceDeleted:
    """Delete the workspace this saga created, if any."""
    return logic.delete_workspace(command)
