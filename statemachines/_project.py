"""What a saga definition in this project is checked against when it is built: the handler
files under ``functions/`` and the event models under ``events/``."""

from __future__ import annotations

from pathlib import Path

from sagakit.definition import Command

ROOT = Path(__file__).resolve().parent.parent


def handler_exists(command: Command) -> bool:
    """True when ``functions/<service>/handlers/<command>.py`` exists."""
    return command.source_file(ROOT).is_file()


def event_exists(name: str) -> bool:
    """True when ``events`` has a model for the detail-type ``name``."""
    from events import event_exists as registered

    return registered(name)
