"""Business errors of the clients service."""

from __future__ import annotations

from sagakit.runtime import BusinessError

__all__ = ["TenantAlreadyExists"]


class TenantAlreadyExists(BusinessError):
    """The client id is taken by an earlier onboarding; nothing was written or published."""
