"""Field types shared by the event contracts, so one rule (what a client id looks like) is
written once and every model that carries the field enforces it the same way."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from sagakit.runtime.command import SAGA_ID_PATTERN

__all__ = [
    "ClientId",
    "CompanyName",
    "EmailAddress",
    "ErrorName",
    "PaymentMethodId",
    "Plan",
    "ResourceId",
    "SagaId",
    "Timestamp",
]

ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The client (tenant) id.")]
"""A client id: 1-64 letters, digits, ``_`` or ``-``; it is the key of every service table."""

SagaId = Annotated[str, Field(pattern=SAGA_ID_PATTERN, description="The saga instance id.")]
"""A saga id: also the Step Functions execution name, hence that name's alphabet and length."""

ResourceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
"""An id a service hands out (``ws-6dc0474ff9bc``)."""

CompanyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A company name; surrounding blanks are stripped, so an all-blank name is rejected."""

# The WHATWG HTML "valid e-mail address" pattern, with at least one dot in the domain: strict
# enough to catch typos, loose enough not to refuse real addresses. 254 is the SMTP path limit
# (RFC 5321 errata 1690).
EmailAddress = Annotated[
    str,
    Field(
        max_length=254,
        pattern=(
            r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
        ),
    ),
]
"""An e-mail address."""

PaymentMethodId = Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,64}$")]
"""A payment-method token from the payment provider (``pm_card_visa``)."""

Plan = Literal["starter", "growth", "enterprise"]
"""The subscription plan a client signed up for."""

ErrorName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")]
"""An error name as Step Functions reports it: an exception class name (``BillingDeclined``) or a
``States.*`` / ``Lambda.*`` error."""

Timestamp = AwareDatetime
"""A point in time with its UTC offset; a naive datetime is rejected, as it is ambiguous."""
