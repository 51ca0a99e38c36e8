"""Lambda entry points of the clients service, one module per command."""

from __future__ import annotations
