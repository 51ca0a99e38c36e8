"""Business errors of the billing service; Step Functions matches on these class names."""

from __future__ import annotations

from sagakit.runtime import BusinessError

__all__ = ["BillingConflict", "BillingDeclined"]


class BillingDeclined(BusinessError):
    """The payment method was declined; no billing profile was written."""


class BillingConflict(BusinessError):
    """The client already has a billing profile that another saga created; nothing was written."""
