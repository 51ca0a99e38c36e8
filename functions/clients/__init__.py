"""The clients service: onboards a client (publishing ``ClientOnboarded``) and deletes the
tenant when the onboarding saga compensates."""

from __future__ import annotations

from typing import Final

#: The service name: it labels logs, traces and metrics, and is the source of its events.
SERVICE: Final = "clients"
