"""Handler settings from environment variables, as pydantic models validated on first use.

A missing table name fails loudly at the first invocation, naming the variable. The value is
cached per environment snapshot, so a process that hosts several deployments (the offline
runtime, tests) never serves a stale table name.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from sagakit.runtime.errors import describe_validation_error

__all__ = ["SettingsError", "load_settings"]

S = TypeVar("S", bound=BaseModel)

_cache: dict[tuple[type[BaseModel], tuple[str | None, ...]], BaseModel] = {}


class SettingsError(RuntimeError):
    """An environment variable the handler needs is missing or malformed."""


def load_settings(model: type[S]) -> S:
    """Build ``model`` from ``os.environ``; field names are the upper-case variable names.

    Examples
    --------
    >>> class Env(BaseModel):
    ...     TABLE_NAME: str
    >>> os.environ["TABLE_NAME"] = "t"; load_settings(Env).TABLE_NAME
    't'
    """
    names = tuple(model.model_fields)
    key = (model, tuple(os.environ.get(name) for name in names))
    cached = _cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        value = model.model_validate({n: os.environ[n] for n in names if n in os.environ})
    except ValidationError as error:
        raise SettingsError(f"environment: {describe_validation_error(error)}") from None
    _cache[key] = value
    return value
