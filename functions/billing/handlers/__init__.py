"""Lambda entry points of the billing service, one module per command."""

from __future__ import annotations
