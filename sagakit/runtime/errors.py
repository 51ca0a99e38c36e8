"""Errors a saga handler raises. Step Functions matches a Catch or Retry on the exception's class
name (the Lambda payload's ``errorType``), so every name here is part of the saga's contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["BusinessError", "InvalidCommand", "TransientError", "describe_validation_error"]


class BusinessError(Exception):
    """A clean refusal: the step wrote nothing. Subclass it with a domain name such as
    ``BillingDeclined``; the saga goes straight to compensation without retrying."""


class TransientError(Exception):
    """A failure worth retrying (throttling, a dependency that is briefly down)."""


class InvalidCommand(BusinessError):
    """The handler's input does not match its model. The message names each bad field."""


def describe_validation_error(error: ValidationError, *, prefix: str = "") -> str:
    """Turn a pydantic error into one line per field: ``detail.clientId: Field required``."""
    lines = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"{prefix}{location}: {item['msg']}")
    return "; ".join(lines)
