"""Lambda entry points of the notifications service, one module per command."""

from __future__ import annotations
