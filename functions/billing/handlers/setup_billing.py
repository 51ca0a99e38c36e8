"""Lambda entry point of ``SetupBilling``."""

from __future__ import annotations

from events.billing import BillingProfileCreated
from functions.billing import SERVICE, logic
from functions.billing.models import SetupBillingCommand
from sagakit.runtime import saga_handler

__all__ = ["handler"]


@saga_handler(service=SERVICE, command=SetupBillingCommand)
def handler(command: SetupBillingCommand) -> BillingProfileCreated:
    """Set up the onboarded client's billing profile."""
    return logic.setup_billing(command)
