"""Lambda entry point of ``DiscardWorkspace`` (the workspace step's own undo)."""

from __future__ import annotations

from events.ai_workspace import WorkspaceDiscarded
from functions.ai_workspace import SERVICE, logic
from functions.ai_workspace.models import DiscardWorkspaceCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=DiscardWorkspaceCommand)
def handler(command: DiscardWorkspaceCommand) -> WorkspaceDiscarded:
    """Discard the workspace this saga created, if any."""
    return logic.discard_workspace(command)
