"""The event contracts: one pydantic model per EventBridge ``detail-type``, in one registry.

Each producing service has a module (``events.billing``) with its ``SOURCE`` and ``MODELS``;
``EVENTS`` maps every detail-type to its source and model. Every such module in this package is
registered, so a new service's module (one ``saga scaffold`` writes, say) needs no edit here.
Handlers, tests and the CLI all read events through this registry, and every event has a sample
under ``events/samples`` and a JSON Schema under ``events/schemas``.

Examples
--------
>>> contract("ClientOnboarded").source
'clients'
>>> parse_event(load_sample("ClientOnboarded").model_dump(by_alias=True)).client_id
'acme-001'
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from sagakit.runtime import CamelModel
from sagakit.runtime.errors import describe_validation_error

__all__ = [
    "EVENTS",
    "SAMPLES_DIR",
    "SCHEMAS_DIR",
    "EventContract",
    "EventEnvelope",
    "contract",
    "event_exists",
    "load_sample",
    "parse_event",
]

M = TypeVar("M", bound=CamelModel)

#: Where ``<snake_name>.json`` samples live (full EventBridge envelopes).
SAMPLES_DIR = Path(__file__).parent / "samples"
#: Where ``<snake_name>.schema.json`` JSON Schemas live, written by ``python -m events.export``.
SCHEMAS_DIR = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class EventContract:
    """One event: its detail-type (the model's class name), its source and its model."""

    name: str
    source: str
    model: type[CamelModel]

    @property
    def file_stem(self) -> str:
        """``ClientOnboarded`` -> ``client_onboarded``: the stem of its sample and schema."""
        # Imported here, not at module level: a Lambda asset may carry only sagakit.runtime,
        # and handlers import this package without ever needing file names.
        from sagakit.definition import camel_to_snake

        return camel_to_snake(self.name)

    @property
    def sample_path(self) -> Path:
        """The sample envelope's path."""
        return SAMPLES_DIR / f"{self.file_stem}.json"

    @property
    def schema_path(self) -> Path:
        """The JSON Schema's path."""
        return SCHEMAS_DIR / f"{self.file_stem}.schema.json"


def _registry(*producers: tuple[str, tuple[type[CamelModel], ...]]) -> dict[str, EventContract]:
    registry: dict[str, EventContract] = {}
    for source, models in producers:
        for model in models:
            if model.__name__ in registry:
                raise RuntimeError(f"event {model.__name__} is defined twice")
            registry[model.__name__] = EventContract(name=model.__name__, source=source, model=model)
    return registry


#: Modules of this package that are not a producer's contracts (``export`` imports ``EVENTS``).
_NOT_PRODUCERS = frozenset({"export", "fields"})


def _producers() -> list[ModuleType]:
    """Every producer module here (it defines ``SOURCE`` and ``MODELS``), in name order."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in _NOT_PRODUCERS
    ]


#: Every event, keyed by detail-type.
EVENTS: dict[str, EventContract] = _registry(*((module.SOURCE, module.MODELS) for module in _producers()))


def event_exists(name: str) -> bool:
    """Whether ``name`` is a registered detail-type (what ``Saga(event_exists=...)`` expects)."""
    return name in EVENTS


def contract(name: str) -> EventContract:
    """The contract of detail-type ``name``; ``KeyError`` lists the known names."""
    try:
        return EVENTS[name]
    except KeyError:
        raise KeyError(f"unknown event {name!r} (known: {', '.join(sorted(EVENTS))})") from None


class EventEnvelope(BaseModel):
    """A whole EventBridge event, as a rule target receives it.

    Only ``source``, ``detail-type`` and ``detail`` are required, so the same model reads a
    hand-written sample and a delivered event (which adds id, time, account and so on).
    """

    # Unknown top-level keys are AWS's to add (a replayed event carries ``replay-name``), so
    # they are ignored here; the contract that matters, the detail, forbids them.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    source: str = Field(min_length=1)
    detail_type: str = Field(alias="detail-type", min_length=1)
    detail: dict[str, Any]
    id: str | None = None
    time: AwareDatetime | None = None
    account: str | None = None
    region: str | None = None
    resources: list[str] = Field(default_factory=list)
    version: str | None = None

    @classmethod
    def of(cls, event: CamelModel) -> EventEnvelope:
        """The envelope that publishes ``event`` (source and detail-type from the registry)."""
        found = contract(type(event).__name__)
        return cls.model_validate(
            {
                "source": found.source,
                "detail-type": found.name,
                "detail": event.model_dump(mode="json", by_alias=True),
            }
        )

    def parse_detail(self) -> CamelModel:
        """Check source and detail-type against the registry and parse the detail.

        Raises
        ------
        ValueError
            Naming the wrong field and why, e.g. ``source: expected 'clients' for
            ClientOnboarded, got 'billing'`` or ``detail.clientId: Field required``.
        """
        if self.detail_type not in EVENTS:
            raise ValueError(f"detail-type: unknown event {self.detail_type!r} (known: {', '.join(sorted(EVENTS))})")
        found = EVENTS[self.detail_type]
        if self.source != found.source:
            raise ValueError(f"source: expected {found.source!r} for {found.name}, got {self.source!r}")
        try:
            return found.model.model_validate(self.detail)
        except ValidationError as error:
            raise ValueError(describe_validation_error(error, prefix="detail.")) from None

    def parse_detail_as(self, model: type[M]) -> M:
        """Like ``parse_detail``, but insist on one event type and return it typed."""
        if self.detail_type != model.__name__:
            raise ValueError(f"detail-type: expected {model.__name__!r}, got {self.detail_type!r}")
        parsed = self.parse_detail()
        if not isinstance(parsed, model):
            raise TypeError(f"{model.__qualname__} is not the registered {self.detail_type} model")
        return parsed


def parse_event(raw: Mapping[str, Any]) -> CamelModel:
    """Parse a whole EventBridge event into its detail model; ``ValueError`` names the field."""
    try:
        envelope = EventEnvelope.model_validate(raw)
    except ValidationError as error:
        raise ValueError(describe_validation_error(error)) from None
    return envelope.parse_detail()


def load_sample(name: str) -> EventEnvelope:
    """The sample envelope of event ``name`` from ``events/samples``."""
    text = contract(name).sample_path.read_text(encoding="utf-8")
    return EventEnvelope.model_validate(json.loads(text))
