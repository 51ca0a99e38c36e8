"""Business errors of the ai-workspace service; Step Functions matches on these class names."""

from __future__ import annotations

from sagakit.runtime import BusinessError

__all__ = ["WorkspaceConflict"]


class WorkspaceConflict(BusinessError):
    """The client already has a workspace that another saga created; nothing was written."""
