"""The billing service: sets up a client's billing profile, and reverts it."""

from __future__ import annotations

from typing import Final

#: The service name: it labels logs, traces and metrics, and is the source of its events.
SERVICE: Final = "billing"
