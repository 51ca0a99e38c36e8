"""Deterministic ids, so that a retried or replayed command writes the very same record."""

from __future__ import annotations

import hashlib

__all__ = ["derive_id"]


def derive_id(prefix: str, *parts: str) -> str:
    """``prefix-`` and the first 12 hex digits of the SHA-256 of ``parts``.

    Examples
    --------
    >>> derive_id("ws", "onboard-acme-001")
    'ws-6dc0474ff9bc'
    """
    digest = hashlib.sha256(":".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:12]}"
