"""Saga lifecycle events (source ``sagakit``): what dashboards and alerts are built on.

Every event names the saga, the instance and, where one is concerned, the step; the two failure
events add which step failed and why.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from events.fields import ErrorName, SagaId, Timestamp
from sagakit.runtime import CamelModel

__all__ = [
    "MODELS",
    "SOURCE",
    "SagaCompensating",
    "SagaCompensationFailed",
    "SagaCompleted",
    "SagaFailed",
    "SagaLifecycleEvent",
    "SagaStarted",
    "SagaStepCompensated",
    "SagaStepCompleted",
]

SOURCE: Final = "sagakit"


class SagaLifecycleEvent(CamelModel):
    """Fields common to every lifecycle event.

    Parameters
    ----------
    saga_name:
        The saga definition's name, e.g. ``OnboardClientSaga``.
    saga_id:
        The saga instance id (the execution name).
    step:
        The step concerned, or ``None`` for events about the whole saga.
    timestamp:
        When it happened.
    version:
        The saga definition's version.
    """

    saga_name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    saga_id: SagaId
    step: str | None = None
    timestamp: Timestamp
    version: str = Field(min_length=1)


class SagaStarted(SagaLifecycleEvent):
    """The saga's trigger was accepted and its first step is about to run."""


class SagaStepCompleted(SagaLifecycleEvent):
    """A step returned its success event."""


class SagaCompensating(SagaLifecycleEvent):
    """A step failed; compensation is starting (``step`` is the step that failed)."""


class SagaStepCompensated(SagaLifecycleEvent):
    """One compensation ran (``step`` names the compensation)."""


class SagaCompleted(SagaLifecycleEvent):
    """Every step succeeded: the saga ended COMPLETED."""


class _SagaFailure(SagaLifecycleEvent):
    failed_step: str | None = None
    error: ErrorName
    reason: str


class SagaFailed(_SagaFailure):
    """The saga ended FAILED after compensating; ``error`` and ``reason`` say why."""


class SagaCompensationFailed(_SagaFailure):
    """A compensation itself failed: the saga needs a human (``step`` is the compensation)."""


MODELS: Final[tuple[type[CamelModel], ...]] = (
    SagaStarted,
    SagaStepCompleted,
    SagaCompensating,
    SagaStepCompensated,
    SagaFailed,
    SagaCompleted,
    SagaCompensationFailed,
)
