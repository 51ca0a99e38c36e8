"""Lambda entry point of ``CreateWorkspace``."""

from __future__ import annotations

from events.ai_workspace import WorkspaceCreated
from functions.ai_workspace import SERVICE, logic
from functions.ai_workspace.models import CreateWorkspaceCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=CreateWorkspaceCommand)
def handler(command: CreateWorkspaceCommand) -> WorkspaceCreated:
    """Create the onboarded client's workspace."""
    return logic.create_workspace(command)
