"""What the billing service decides: refuse a declined card before writing anything, create a
client's billing profile once, and revert it only for the saga that created it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools import Logger

from events.ai_workspace import WorkspaceCreated
from events.billing import BillingProfileCreated, BillingReverted
from functions.billing import SERVICE, dal
from functions.billing.errors import BillingConflict, BillingDeclined
from functions.billing.models import BillingProfileRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome
from functions.shared.ids import derive_id
from sagakit.runtime import InvalidCommand

if TYPE_CHECKING:
    from functions.billing.models import RevertBillingCommand, SetupBillingCommand

__all__ = ["DECLINED_PAYMENT_METHOD", "revert_billing", "setup_billing"]

#: The payment provider's test token that is always declined (as Stripe's ``pm_card_declined``);
#: it stands in for the provider's answer until a real one is wired in.
DECLINED_PAYMENT_METHOD: Final = "pm_card_declined"

logger = Logger(service=SERVICE)


def setup_billing(command: SetupBillingCommand) -> BillingProfileCreated:
    """Create the client's billing profile on its plan; a replay returns the stored one.

    Raises
    ------
    InvalidCommand
        ``results`` has no ``WorkspaceCreated``: billing needs the workspace it bills for.
    BillingDeclined
        The payment method was declined (nothing is written).
    BillingConflict
        The client already has a billing profile created by another saga.
    """
    detail = command.detail
    workspace = command.event(WorkspaceCreated)
    if workspace is None:
        raise InvalidCommand("results.WorkspaceCreated: missing; SetupBilling runs after CreateWorkspace")
    if detail.payment_method == DECLINED_PAYMENT_METHOD:
        raise BillingDeclined(f"payment method {detail.payment_method} was declined for client {detail.client_id}")
    record = BillingProfileRecord(
        client_id=detail.client_id,
        billing_profile_id=derive_id("bp", command.saga_id),
        saga_id=command.saga_id,
        workspace_id=workspace.workspace_id,
        plan=detail.plan,
        payment_method=detail.payment_method,
        created_at=datetime.now(UTC),
    )
    outcome, stored = dal.create_billing_profile(record)
    if outcome is ClaimOutcome.CONFLICT:
        raise BillingConflict(
            f"client {detail.client_id} already has billing profile {stored.billing_profile_id} "
            f"owned by saga {stored.saga_id}"
        )
    if outcome is ClaimOutcome.REPLAYED:
        logger.info(
            "billing profile already created by this saga", extra={"billing_profile_id": stored.billing_profile_id}
        )
    return BillingProfileCreated(
        client_id=stored.client_id,
        billing_profile_id=stored.billing_profile_id,
        plan=stored.plan,
        created_at=stored.created_at,
    )


def revert_billing(command: RevertBillingCommand) -> BillingReverted:
    """Delete the billing profile this saga created; a no-op (``reverted=False``) if there is
    none or another saga owns it."""
    client_id = command.detail.client_id
    outcome, stored = dal.delete_billing_profile(client_id, command.saga_id)
    if outcome is ReleaseOutcome.KEPT and stored is not None:
        logger.warning(
            "billing profile belongs to another saga; left in place",
            extra={"billing_profile_id": stored.billing_profile_id, "owner": stored.saga_id},
        )
    reverted = outcome is ReleaseOutcome.DELETED
    return BillingReverted(
        client_id=client_id,
        billing_profile_id=stored.billing_profile_id if reverted and stored else None,
        reverted=reverted,
    )
