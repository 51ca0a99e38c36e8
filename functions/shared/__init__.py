"""What every service shares: saga-owned DynamoDB records, event publishing, settings and ids.

Only ``functions.shared.dal`` and the services' ``dal`` modules talk to AWS.
"""

from __future__ import annotations
