"""The notifications service: sends (here: records) the client's welcome e-mail."""

from __future__ import annotations

from typing import Final

#: The service name: it labels logs, traces and metrics, and is the source of its events.
SERVICE: Final = "notifications"
