"""Lambda entry point of ``DeleteTenant`` (a compensation)."""

from __future__ import annotations

from events.clients import TenantDeleted
from functions.clients import SERVICE, logic
from functions.clients.models import DeleteTenantCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=DeleteTenantCommand)
def handler(command: DeleteTenantCommand) -> TenantDeleted:
    """Delete the tenant of the onboarding this saga compensates, if it is still there."""
    return logic.delete_tenant(command)
