"""Lambda handlers, one package per service (``functions/<service>``).

Each service is laid out as ``handlers/`` (thin Lambda entry points) -> ``logic.py`` (the
decisions) -> ``dal.py`` (DynamoDB and EventBridge). ``functions.shared`` is not a service: it
holds the record and id helpers that every service uses the same way.
"""

from __future__ import annotations

# Lambda imports this package before a handler module: the kit's runtime comes first, so that on
# Lambda the garbage collector is held back for the whole cold start (sagakit.runtime.coldstart).
import sagakit.runtime  # noqa: F401
