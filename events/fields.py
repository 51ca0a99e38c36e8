"""Field types shared by the event contracts, so one rule (what a client id looks like) is
written once and every model that carries the field enforces it the same way."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, WithJsonSchema

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

#: What a name a person reads (in a welcome e-mail's subject, a log line) must not contain: C0 and
#: C1 control characters (NUL, CR and LF among them: header injection), the Unicode line and
#: paragraph separators, and the bidirectional embeddings, overrides and isolates that make text
#: display in another order than it is stored (CVE-2021-42574, "Trojan Source").
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _printable(value: str) -> str:
    found = _UNPRINTABLE.search(value)
    if found:
        character = found.group()
        raise ValueError(
            f"contains the control or bidirectional character U+{ord(character):04X} "
            f"({unicodedata.name(character, 'unnamed')}) at position {found.start()}"
        )
    return value


CompanyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": f"^[^{_UNPRINTABLE.pattern[1:-1]}]+$"}
    ),
]
"""A company name; surrounding blanks are stripped, so an all-blank name is rejected, and control
and bidirectional-override characters are refused, naming the character and where it is."""

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
