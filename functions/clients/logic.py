"""What the clients service decides: onboard a client once and announce it, and delete the
tenant when the onboarding saga compensates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from events.clients import ClientOnboarded, TenantDeleted
from functions.clients import SERVICE, dal
from functions.clients.errors import TenantAlreadyExists
from functions.clients.models import OnboardClientResult, TenantRecord
from functions.shared.dal import ClaimOutcome, ReleaseOutcome

if TYPE_CHECKING:
    from functions.clients.models import DeleteTenantCommand

__all__ = ["delete_tenant", "onboard_client"]

logger = Logger(service=SERVICE)


def onboard_client(onboarded: ClientOnboarded) -> OnboardClientResult:
    """Store the tenant, then publish ``ClientOnboarded``, which starts the onboarding saga.

    A retry of the same onboarding (same client and ``onboarded_at``) publishes again: the
    first attempt may have stored the tenant and failed before publishing, and the saga's
    consumers are idempotent.

    Raises
    ------
    TenantAlreadyExists
        The client id belongs to an earlier onboarding.
    """
    record = TenantRecord(
        client_id=onboarded.client_id,
        company_name=onboarded.company_name,
        contact_email=onboarded.contact_email,
        plan=onboarded.plan,
        onboarded_at=onboarded.onboarded_at,
    )
    outcome, stored = dal.create_tenant(record)
    if outcome is ClaimOutcome.CONFLICT:
        raise TenantAlreadyExists(
            f"client {onboarded.client_id} was already onboarded at {stored.onboarded_at.isoformat()}"
        )
    if outcome is ClaimOutcome.REPLAYED:
        logger.info("tenant already stored by this onboarding; publishing again")
    event_id = dal.publish_client_onboarded(onboarded)
    logger.info("client onboarded", extra={"event_id": event_id})
    return OnboardClientResult(client_id=onboarded.client_id, event_id=event_id)


def delete_tenant(command: DeleteTenantCommand) -> TenantDeleted:
    """Delete the tenant of the onboarding this saga compensates; a no-op (``deleted=False``)
    if there is none or a later onboarding owns the client id."""
    detail = command.detail
    outcome, stored = dal.delete_tenant(detail.client_id, detail.onboarded_at)
    if outcome is ReleaseOutcome.KEPT and stored is not None:
        logger.warning(
            "tenant belongs to another onboarding; left in place",
            extra={"onboarded_at": stored.onboarded_at.isoformat()},
        )
    return TenantDeleted(client_id=detail.client_id, deleted=outcome is ReleaseOutcome.DELETED)
