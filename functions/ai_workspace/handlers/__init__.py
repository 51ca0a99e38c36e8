"""Lambda entry points of the ai-workspace service, one module per command."""

from __future__ import annotations
