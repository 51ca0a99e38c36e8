"""Business errors of the notifications service.

There are none yet: ``SendWelcomeEmail`` comes after the saga's pivot, is retried until it
succeeds and never refuses. A client that was already welcomed is not an error (see
``logic.send_welcome_email``).
"""

from __future__ import annotations

__all__: list[str] = []
