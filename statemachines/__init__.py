"""Saga definitions. Every module here that defines a ``Saga`` is picked up by the CDK app:
adding a saga is adding a module, with no other wiring."""

from __future__ import annotations

import importlib
import pkgutil

from sagakit.definition import Saga, validate_all

__all__ = ["all_sagas", "saga_named"]


def all_sagas() -> list[Saga]:
    """Every saga defined in ``statemachines/*.py``, sorted by name."""
    found: dict[str, Saga] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Saga):
                found[value.name] = value
    sagas = sorted(found.values(), key=lambda s: s.name)
    validate_all(sagas)
    return sagas


def saga_named(name: str) -> Saga:
    """The saga called ``name``; ``KeyError`` lists the known ones."""
    for saga in all_sagas():
        if saga.name == name:
            return saga
    known = ", ".join(s.name for s in all_sagas())
    raise KeyError(f"no saga named {name!r} (known: {known})")
