"""Reliability fixtures: the CDK app synthesized once, and helpers for the offline tests (a fresh
client per saga, so that tests never see each other's records; a task's payload as Step
Functions builds it)."""

from __future__ import annotations

import copy
import itertools
from typing import TYPE_CHECKING, Any

from sagakit.local.runtime import sample_event

if TYPE_CHECKING:
    from sagakit.local import LocalRuntime

_clients = itertools.count(1)


def fresh_client(prefix: str = "rel") -> str:
    """A client id no other test uses (sagas are named by client)."""
    return f"{prefix}-{next(_clients):05d}"


def onboarding(**detail: Any) -> dict[str, Any]:
    """The sample ClientOnboarded for a fresh client, with ``detail`` overrides (camelCase)."""
    envelope = copy.deepcopy(sample_event())
    envelope["detail"]["clientId"] = fresh_client()
    envelope["detail"].update(detail)
    return envelope


def task_payload(
    local: LocalRuntime, state: str, *, saga_id: str, detail: Any, error: dict[str, str] | None = None
) -> dict[str, Any]:
    """What Step Functions hands ``state``'s function: its compiled ``Parameters``, resolved
    against a saga input (the starter's shape) for ``saga_id`` and ``detail``."""
    from sagakit.matrix import deployed_definition
    from statemachines import all_sagas

    saga = next(s for s in all_sagas() if s.style == "orchestration" and state in {c.name for c in s.commands()})
    saga_input = {
        "saga": {"id": saga_id, "name": saga.name, "version": saga.version},
        "input": detail,
        "results": {},
        "compensations": {},
        "error": error or {"Error": "BillingDeclined", "Cause": "declined"},
    }
    parameters = deployed_definition(local, saga)["States"][state]["Parameters"]
    payload: dict[str, Any] = {}
    for key, value in parameters.items():
        if key.endswith(".$"):
            found: Any = saga_input
            for part in value.removeprefix("$.").split("."):
                found = found[part]
            payload[key.removesuffix(".$")] = found
        else:
            payload[key] = value
    return payload
