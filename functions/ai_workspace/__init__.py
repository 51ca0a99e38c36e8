"""The ai-workspace service: creates and deletes a client's AI workspace."""

from __future__ import annotations

from typing import Final

#: The service name: it labels logs, traces and metrics, and is the source of its events.
SERVICE: Final = "ai-workspace"
