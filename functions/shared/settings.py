"""Environment settings shared by the services' handlers."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["TableSettings"]


class TableSettings(BaseModel):
    """A handler that owns one DynamoDB table; ``TABLE_NAME`` is read at every call, because
    the offline runtime and the tests point one process at many tables."""

    TABLE_NAME: str = Field(min_length=3, max_length=255)
