"""The envelope every saga task receives: which saga, which step, the trigger's detail and the
success events of the steps that already ran."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from sagakit.runtime.errors import InvalidCommand, describe_validation_error

__all__ = ["ROUTE_KEY", "SAGA_ID_PATTERN", "CamelModel", "SagaCommand", "SagaError", "is_choreographed"]

#: Step Functions execution names allow 1-80 of these characters; the saga id is the name.
SAGA_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
#: The key of a choreography rule's target input that holds its ``Route``.
ROUTE_KEY = "choreography"

D = TypeVar("D", bound=BaseModel)
E = TypeVar("E", bound=BaseModel)


class CamelModel(BaseModel):
    """Base for every contract: camelCase on the wire, snake_case in Python, unknown fields
    rejected so that a typo in a producer is caught at the boundary."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )


class SagaError(BaseModel):
    """What a Catch stores at ``$.error``: the error name and its cause (a JSON string)."""

    model_config = ConfigDict(extra="allow")

    Error: str
    Cause: str | None = None


class SagaCommand(CamelModel, Generic[D]):
    """Input of a step or compensation handler.

    Parameters
    ----------
    saga_id:
        The saga instance id; also the Step Functions execution name and the log correlation id.
    kind:
        ``step``, ``compensation``, or ``late-undo`` (a step's undo run again because the step
        succeeded after its saga ended, choreography only): which lifecycle event the wrapper
        publishes on success, and part of the idempotency key.
    detail:
        The trigger event's detail, parsed by the step's model.
    results:
        Success events of completed steps, keyed by event name (``WorkspaceCreated``).
    error:
        For compensations: the failure that started compensation.
    """

    saga_id: str = Field(pattern=SAGA_ID_PATTERN)
    saga_name: str = Field(min_length=1)
    saga_version: str = Field(default="1", min_length=1)
    step: str = Field(min_length=1)
    kind: Literal["step", "compensation", "late-undo"] = "step"
    detail: D
    results: dict[str, dict[str, Any]] = Field(default_factory=dict)
    error: SagaError | None = None

    def event(self, model: type[E]) -> E | None:
        """The success event ``model`` of an earlier step, or ``None`` if it did not run."""
        raw = self.results.get(model.__name__)
        if raw is None:
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            raise InvalidCommand(f"results.{model.__name__}: {describe_validation_error(error)}") from None


def is_choreographed(event: Any) -> bool:
    """Whether a function's input came from a choreography rule (rather than a state machine or
    another event): it carries a ``Route``.

    It lives here, not in ``sagakit.runtime.choreography``, so that a step handler tells the two
    inputs apart without importing the choreography adapter (and compiling and building its
    models) on an orchestrated cold start.
    """
    return isinstance(event, dict) and isinstance(event.get(ROUTE_KEY), dict)
