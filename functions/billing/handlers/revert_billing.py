"""Lambda entry point of ``RevertBilling`` (the billing step's own undo)."""

from __future__ import annotations

from events.billing import BillingReverted
from functions.billing import SERVICE, logic
from functions.billing.models import RevertBillingCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=RevertBillingCommand)
def handler(command: RevertBillingCommand) -> BillingReverted:
    """Revert the billing profile this saga created, if any."""
    return logic.revert_billing(command)
